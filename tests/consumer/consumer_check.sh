#!/bin/sh
# Installs the build into a staging prefix and builds a consumer with pkg-config alone.
set -eu
build=$1
source=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >/dev/null
pcdir=$(dirname "$(find "$stage" -name libbuttervolume.pc | head -n 1)")
[ -f "$pcdir/libbuttervolume.pc" ] || { echo "libbuttervolume.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage"
flags=$(pkg-config --cflags --libs libbuttervolume)
echo "pkg-config: $flags"
c++ -std=c++20 -o "$stage/consumer" "$source" $flags
libdir=$(dirname "$(find "$stage" -name 'libbuttervolume.so' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$stage/consumer"
