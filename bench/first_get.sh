#!/bin/sh
# The plugin's first Get of each volume against a repeated one, on a pool whose volumes have
# no snapshot-count records (as the Python project leaves them), side by side for two builds:
# N volumes, every fifth with S_PER snapshots; each daemon gets every volume once in random
# order (first Gets), then again (repeated). Figures: mean microseconds per Get, seen by one
# Python client on the unix socket (its own overhead is in both columns alike).
# Two rounds, the builds alternating (old then new, new then old). Each batch of Gets starts
# isolated: the records the previous daemon wrote deleted, btrfs synced, `sync` and a pause.
# Usage (root): bench/first_get.sh OLD_BIN NEW_BIN [N] [S_PER]
set -eu
. "$(dirname "$0")/common.sh"
old=$1; new=$2; n=${3:-10000}; per=${4:-1}
scratch_btrfs 8G
root="$work/mnt/pool"
"$new" --root "$root" init >/dev/null
i=0
while [ "$i" -lt "$n" ]; do
    v=$(printf 'v%05d' "$i")
    btrfs -q subvolume create "$root/volumes/$v" >/dev/null
    if [ $((i % 5)) = 0 ]; then
        j=0
        while [ "$j" -lt "$per" ]; do
            btrfs -q subvolume snapshot -r "$root/volumes/$v" "$root/snapshots/$v@2026-01-01T00:00:0$j.000000" >/dev/null
            j=$((j + 1))
        done
    fi
    i=$((i + 1))
done
bench_start
pause=2
for bin in "$old" "$new" "$new" "$old"; do
    rm -rf "$root/state/snapshots"
    mkdir -p "$root/state/snapshots"
    # The pause also takes the pool past the folder caches' one-second racy window.
    settle "$pause" "$work/mnt"
    sock="$work/bv.sock"
    "$bin" --root "$root" run --socket "$sock" --log-level error 2>/dev/null &
    pid=$!
    python3 - "$sock" "$n" "$bin" "$pause" <<'PY'
import http.client, json, os, random, socket, sys, time
sock, n, name, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sock)
for _ in range(200):
    try:
        c = Conn("localhost"); c.request("POST", "/Plugin.Activate", "{}"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.02)
names = [f"v{i:05d}" for i in range(n)]
random.Random(1).shuffle(names)
def get_all():
    t = time.perf_counter()
    for v in names:
        c.request("POST", "/VolumeDriver.Get", json.dumps({"Name": v}))
        r = json.loads(c.getresponse().read())
        assert not r.get("Err"), r
    return (time.perf_counter() - t) / n * 1e6
first = get_all()
# The first Gets wrote a record per volume: the repeated ones must not pay for its writeback.
os.sync(); time.sleep(pause)
# The daemon drops a connection idle for 2 s: reconnect before the clock starts.
c.close(); c.request("POST", "/Plugin.Activate", "{}"); c.getresponse().read()
again = get_all()
print(f"{name}: first Get {first:.0f} us, repeated {again:.0f} us, ratio {first / again:.2f}")
PY
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "  state/snapshots files written by the Gets: $(ls "$root/state/snapshots" | wc -l)"
done > "$work/out"
bench_header "sh bench/first_get.sh $old $new $n $per"
echo "two rounds, the builds alternating; each batch isolated (records deleted, subvolume and filesystem sync, sync, ${pause} s pause)"
cat "$work/out"
