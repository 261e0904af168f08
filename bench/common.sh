# Sourced by the benchmark scripts: what each of them sets up the same way.

# `bench_build DIR`: $build, the build folder DIR as an absolute path, and $bin, its buttervolume.
bench_build() {
    build=$(realpath "$1")
    bin="$build/daemon/buttervolume"
}

# `scratch_btrfs SIZE`: $work, a fresh folder holding a loop-mounted btrfs of SIZE (sparse) at
# $work/mnt, unmounted and removed when the script exits.
scratch_btrfs() {
    work=$(mktemp -d /tmp/bv-bench.XXXXXX)
    trap scratch_btrfs_cleanup EXIT INT TERM
    truncate -s "$1" "$work/img"
    mkfs.btrfs -q "$work/img" >/dev/null
    mkdir "$work/mnt"
    mount -o loop "$work/img" "$work/mnt"
}
scratch_btrfs_cleanup() { umount -l "$work/mnt" 2>/dev/null || true; rm -rf "$work"; }

# `settle PAUSE FILESYSTEM...`: waits until btrfs and the disk are idle, so that the timed run
# after it pays for no writeback of the one before: on each FILESYSTEM, the cleaner done with
# deleted subvolumes (`btrfs subvolume sync`) and the transaction committed (`btrfs filesystem
# sync`); then `sync` and a pause of PAUSE seconds. The cleaner starts only at a commit: without
# the first filesystem sync, a subvolume deleted without -c waits for the 30 s commit interval.
settle() {
    settle_pause=$1; shift
    for settle_fs in "$@"; do
        btrfs filesystem sync "$settle_fs" >/dev/null
        btrfs subvolume sync "$settle_fs" >/dev/null
        btrfs filesystem sync "$settle_fs" >/dev/null
    done
    sync
    sleep "$settle_pause"
}

# `bench_start`: notes the load average now, which bench_header reports as the one at start.
bench_start() { load_start=$(cut -d' ' -f1-3 /proc/loadavg); }
# `bench_header COMMAND`: the two lines every result starts with: the command that produced it,
# then the date and the load average at start (bench_start) and now.
bench_header() {
    echo "command: $1"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average (1, 5, 15 min) at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
}

# `median`: the median of the numbers on stdin, one a line (the lower one of an even count).
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
