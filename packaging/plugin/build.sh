#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Assembles the managed Docker plugin from the built binary and creates it in the local engine.
#
# Usage: build.sh [--binary PATH] [--name NAME] [--dir DIR] [--replace] [--no-create]
#   --binary  the buttervolume binary (default: build/daemon/buttervolume, else the one on PATH)
#   --name    the plugin name (default: buttervolume); Docker's driver name is NAME:latest
#             unless NAME has a tag
#   --dir     where to assemble config.json and rootfs/ (default: a temporary directory,
#             removed afterwards)
#   --replace remove an existing plugin of that name first (docker plugin rm -f)
#   --no-create  only assemble DIR, do not call docker
# Environment: DOCKER, the docker CLI to use (default: docker on PATH).
#
# The rootfs holds only the binary, its shared libraries as ldd resolves them (with an
# ld.so.cache made by ldconfig -r) and the directories the runtime mounts over. Then
# `docker plugin create NAME DIR` reads the local folder: no image build, no registry.
# Afterwards:
#   docker plugin set NAME root.source=/var/lib/buttervolume   # the pool root on the host
#   docker plugin enable NAME
#   docker volume create -d NAME:latest -o size=1G db
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary="" name=buttervolume dir="" replace=false create=true
while [ $# -gt 0 ]; do
    case "$1" in
    --binary) binary=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --replace) replace=true; shift ;;
    --no-create) create=false; shift ;;
    -h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$binary" ]; then
    if [ -x "$here/../../build/daemon/buttervolume" ]; then
        binary=$here/../../build/daemon/buttervolume
    else
        binary=$(command -v buttervolume) || { echo "build.sh: no buttervolume binary: pass --binary" >&2; exit 1; }
    fi
fi
[ -x "$binary" ] || { echo "build.sh: '$binary' is not an executable" >&2; exit 1; }

if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/buttervolume-plugin.XXXXXX")
    trap 'rm -rf "$dir"' EXIT
fi
rootfs=$dir/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/bin" "$rootfs/usr/lib" "$rootfs/etc" "$rootfs/run/docker/plugins" \
    "$rootfs/var/lib/buttervolume" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
cp "$binary" "$rootfs/usr/bin/buttervolume"

# "libfoo.so.1 => /path/libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
# System libraries keep their path; others (libbuttervolume from a build tree) go to /usr/lib.
ldd "$binary" | awk '/=>/ { if ($3 ~ /^\//) print $1, $3; next } $1 ~ /^\// { print "", $1 }' |
while read -r soname path; do
    [ -n "$path" ] || { path=$soname; soname=""; }
    case "$path" in
    /lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) dest=$rootfs$path ;;
    *) dest=$rootfs/usr/lib/${soname:-$(basename "$path")} ;;
    esac
    mkdir -p "$(dirname "$dest")"
    cp -L "$path" "$dest"
done
printf '/usr/lib\n' >"$rootfs/etc/ld.so.conf"
ldconfig -r "$rootfs"
cp "$here/config.json" "$dir/config.json"

# The binary must start in its own rootfs, with nothing from the host.
if ! chroot "$rootfs" /usr/bin/buttervolume --help >/dev/null 2>&1; then
    echo "build.sh: the binary does not run inside $rootfs:" >&2
    chroot "$rootfs" /usr/bin/buttervolume --help >&2 || true
    exit 1
fi
echo "assembled $dir (rootfs $(du -sh "$rootfs" | cut -f1))"

$create || exit 0
docker=${DOCKER:-docker}
if "$docker" plugin inspect "$name" >/dev/null 2>&1; then
    if $replace; then
        "$docker" plugin rm -f "$name" >/dev/null
    else
        echo "build.sh: plugin '$name' exists: pass --replace to remove it first" >&2
        exit 1
    fi
fi
"$docker" plugin create "$name" "$dir"
