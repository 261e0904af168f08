#!/bin/sh
# Installs the Debian 12 packages buttervolume needs: build (always) and test (with "test").
# Safe to re-run: it installs only what is missing.
set -eu
build="meson ninja-build g++ pkg-config libbtrfsutil-dev libcpp-httplib-dev rapidjson-dev libfmt-dev btrfs-progs curl"
testpkgs="catch2 e2fsprogs util-linux docker.io busybox-static openssh-server openssh-client rsync clang python3 iproute2"
# Native send/receive: decompression of compressed extents; its tests: xattr/ACL/capability
# tools and libFuzzer.
build="$build zlib1g-dev libzstd-dev liblzo2-dev"
testpkgs="$testpkgs attr acl libcap2-bin libclang-rt-14-dev"
# buttervolume(1) is generated from --help by help2man; the Debian package test needs debhelper
# and lintian; Podman is the second client of the plugin in the end-to-end suite.
build="$build help2man"
testpkgs="$testpkgs debhelper lintian podman"
want=$build
[ "${1:-}" = test ] && want="$build $testpkgs"
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
