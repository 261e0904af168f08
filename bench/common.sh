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
