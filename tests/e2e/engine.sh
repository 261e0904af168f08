#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A throw-away Docker engine and buttervolume plugin, for the end-to-end suite and bench/.
#
# Usage (inside tests/e2e/private_ns.sh, which sets BV_E2E_DIR and DOCKER_HOST):
#   engine.sh up                  setup + start-dockerd + import-busybox + start-plugin
#   engine.sh setup               loop-mounted btrfs for dockerd's data root and for the pool
#   engine.sh start-dockerd | stop-dockerd
#   engine.sh import-busybox      image "busybox" from busybox-static (no registry needed)
#   engine.sh busybox-tar         that image's root filesystem as a tar on stdout
#   engine.sh start-plugin | stop-plugin | kill-plugin
#   engine.sh logs                the last lines of the dockerd and plugin logs
# Environment: BUTTERVOLUME_BIN (the binary to serve the plugin), BV_E2E_DOCKER (docker CLI).
#
# Layout of $BV_E2E_DIR: docker.img mounted on data/ (dockerd --data-root), pool.img mounted
# on pool/ (buttervolume --root), exec/ (--exec-root), docker.sock, docker.pid, dockerd.log,
# plugin.pid, plugin.log. The plugin listens on /run/docker/plugins/btrfs.sock, the legacy
# location where dockerd looks for the driver "btrfs" (a private tmpfs: see private_ns.sh).
set -eu
D=${BV_E2E_DIR:?run inside tests/e2e/private_ns.sh}
DOCKER=${BV_E2E_DOCKER:-docker}
SOCKET=/run/docker/plugins/btrfs.sock

# A zombie still answers kill -0: look at its state instead.
alive() {
    [ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}

# stop_pid PIDFILE NAME SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while alive "$pid" && [ $i -lt $(($3 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
        if alive "$pid"; then
            echo "engine: $2 still running ${3}s after SIGTERM: killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            while alive "$pid"; do sleep 0.1; done
        fi
    fi
    rm -f "$1"
}

mount_btrfs() { # IMAGE SIZE MOUNTPOINT
    truncate -s "$2" "$1"
    # Quiet even with -q (it prints a NOTE about changed defaults); its errors still show.
    out=$(mkfs.btrfs -q -f "$1" 2>&1) || { echo "$out" >&2; exit 1; }
    mkdir -p "$3"
    mount -o loop "$1" "$3"
    # The loop device keeps the file open: unlinked now, its space is freed when the device
    # goes with the namespace, and a scratch directory left by a killed run holds no image.
    rm -f "$1"
}

setup() {
    mount_btrfs "$D/docker.img" 6G "$D/data"
    mount_btrfs "$D/pool.img" 3G "$D/pool"
    mkdir -p "$D/exec" "$D/cli"
    # An empty configuration file: the host's /etc/docker/daemon.json must not apply.
    echo '{}' >"$D/daemon.json"
    "${BUTTERVOLUME_BIN:?}" --root "$D/pool" init >/dev/null
}

start_dockerd() {
    dockerd --config-file "$D/daemon.json" --host "unix://$D/docker.sock" --pidfile "$D/docker.pid" \
        --data-root "$D/data" --exec-root "$D/exec" --iptables=false --ip-masq=false --bridge=none \
        >>"$D/dockerd.log" 2>&1 &
    pid=$!
    i=0
    until "$DOCKER" version >/dev/null 2>&1; do
        if ! alive $pid || [ $i -ge 600 ]; then
            echo "engine: dockerd did not come up; its log ends with:" >&2
            tail -n 30 "$D/dockerd.log" >&2
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
}

# busybox_tar: a root filesystem with busybox-static and its applets, as a tar on stdout
# (no registry needed: Docker and Podman import it).
busybox_tar() {
    img=$(mktemp -d "$D/busybox-rootfs.XXXXXX")
    mkdir -p "$img/bin" "$img/tmp" "$img/etc"
    # mktemp's 0700 would be the image's /: a container user other than root could run nothing.
    chmod 0755 "$img" && chmod 1777 "$img/tmp"
    cp "$(command -v busybox)" "$img/bin/busybox"
    for applet in $("$img/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$img/bin/$applet"
    done
    tar -C "$img" -c .
    rm -rf "$img"
}

import_busybox() {
    busybox_tar | "$DOCKER" import --change 'CMD ["sh"]' - busybox:latest >/dev/null
}

start_plugin() {
    rm -f "$D/plugin.ready"
    "${BUTTERVOLUME_BIN:?}" run --root "$D/pool" --socket "$SOCKET" >>"$D/plugin.log" 2>&1 &
    echo $! >"$D/plugin.pid"
    i=0
    until curl -sf --unix-socket "$SOCKET" -X POST http://plugin/Plugin.Activate >/dev/null 2>&1; do
        if ! alive "$(cat "$D/plugin.pid")" || [ $i -ge 100 ]; then
            echo "engine: buttervolume run did not answer on $SOCKET; its log ends with:" >&2
            tail -n 30 "$D/plugin.log" >&2
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
}

case "${1:-}" in
up)
    setup
    start_dockerd
    import_busybox
    start_plugin
    ;;
setup) setup ;;
start-dockerd) start_dockerd ;;
stop-dockerd) stop_pid "$D/docker.pid" dockerd 60 ;;
import-busybox) import_busybox ;;
busybox-tar) busybox_tar ;;
start-plugin) start_plugin ;;
stop-plugin) stop_pid "$D/plugin.pid" "buttervolume run" 20 ;;
kill-plugin)
    pid=$(cat "$D/plugin.pid")
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.1; done
    rm -f "$D/plugin.pid"
    ;;
logs)
    for f in dockerd.log plugin.log; do
        [ -f "$D/$f" ] || continue
        echo "--- last lines of $f"
        tail -n "${2:-40}" "$D/$f"
    done
    ;;
*)
    echo "usage: engine.sh up|setup|start-dockerd|stop-dockerd|import-busybox|busybox-tar|start-plugin|stop-plugin|kill-plugin|logs" >&2
    exit 2
    ;;
esac
