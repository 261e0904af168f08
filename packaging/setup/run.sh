#!/bin/sh
# The README's run command: install what is needed, build, install, prepare the pool root
# (on a loop-mounted btrfs image when the host has no btrfs there), then start the plugin
# daemon so the local Docker can use the volume driver "btrfs". Safe to re-run: a running
# daemon is replaced by the new build. Environment: BUTTERVOLUME_ROOT (default
# /var/lib/buttervolume), BUTTERVOLUME_IMAGE_SIZE (default 10G, sparse), BUTTERVOLUME_SOCKET
# (default /run/docker/plugins/btrfs.sock).
set -eu
cd "$(dirname "$0")/../.."
sh packaging/setup/deps.sh
build=${BUILD_DIR:-build-release}
[ -f "$build/build.ninja" ] || meson setup "$build" --wrap-mode=nodownload --buildtype=release -Dtests=disabled >/dev/null
meson compile -C "$build"
meson install -C "$build" --quiet
ldconfig
root=${BUTTERVOLUME_ROOT:-/var/lib/buttervolume}
buttervolume --root "$root" init --size "${BUTTERVOLUME_IMAGE_SIZE:-10G}"
buttervolume --root "$root" volumes

# Start the plugin daemon: with systemd when it runs this machine, else in the background.
sock=${BUTTERVOLUME_SOCKET:-/run/docker/plugins/btrfs.sock}
bin=$(command -v buttervolume)
if [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
    for unit in buttervolume.service buttervolume.socket; do
        sed -e "s|/usr/local/bin/buttervolume|$bin|" -e "s|/var/lib/buttervolume|$root|g" \
            -e "s|/run/docker/plugins/btrfs.sock|$sock|" "packaging/systemd/$unit" >"/etc/systemd/system/$unit"
    done
    systemctl daemon-reload
    systemctl enable --now buttervolume.socket buttervolume.service
    systemctl restart buttervolume.service # pick up a new build on a re-run
    how="systemd (systemctl status buttervolume; journalctl -u buttervolume)"
else
    pidfile=/run/buttervolume.pid
    log=/var/log/buttervolume.log
    if [ -f "$pidfile" ] && old=$(cat "$pidfile") && kill -0 "$old" 2>/dev/null; then
        # SIGTERM: the old daemon finishes its requests and removes its socket.
        kill "$old"
        i=0
        # Gone, or a zombie its new parent has not reaped yet (it has exited all the same).
        while ps -o stat= -p "$old" 2>/dev/null | grep -qv Z && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    fi
    # setsid: the daemon outlives this shell and its terminal.
    setsid "$bin" --root "$root" run --socket "$sock" >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    how="a background process (pid $(cat "$pidfile"), log $log, pidfile $pidfile)"
fi
i=0
until curl -sf --unix-socket "$sock" -X POST http://plugin/Plugin.Activate >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge 100 ]; then
        echo "buttervolume did not answer on $sock within 10 s; see $how" >&2
        exit 1
    fi
    sleep 0.1
done
cat <<MSG

buttervolume is serving Docker on $sock as $how.
Use it with the volume driver "btrfs":
  docker volume create -d btrfs -o size=1G -o copyonwrite=false db
  docker run --rm -v db:/data busybox sh -c 'echo hello > /data/greeting'
  docker volume inspect db
MSG
