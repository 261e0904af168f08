#!/bin/sh
# The README's run command: install what is needed, build, install, prepare the pool root
# (on a loop-mounted btrfs image when the host has no btrfs there) and show the volumes.
# Safe to re-run. Environment: BUTTERVOLUME_ROOT (default /var/lib/buttervolume),
# BUTTERVOLUME_IMAGE_SIZE (default 10G, sparse).
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
