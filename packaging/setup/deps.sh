#!/bin/sh
# Installs the Debian 12 packages buttervolume needs: build (always) and test (with "test").
# Safe to re-run: it installs only what is missing.
set -eu
build="meson ninja-build g++ pkg-config libbtrfsutil-dev rapidjson-dev libfmt-dev btrfs-progs curl"
testpkgs="catch2 e2fsprogs util-linux docker.io busybox-static openssh-server openssh-client rsync clang python3 iproute2"
# Native send/receive: decompression of compressed extents; its tests: xattr/ACL/capability
# tools and libFuzzer.
build="$build zlib1g-dev libzstd-dev liblzo2-dev"
testpkgs="$testpkgs attr acl libcap2-bin libclang-rt-14-dev"
# The fault-injection suite (tests/fault): strace -e inject.
testpkgs="$testpkgs strace"
# buttervolume(1) is generated from --help by help2man; the Debian package test needs debhelper
# and lintian; Podman is the second client of the plugin in the end-to-end suite.
build="$build help2man"
testpkgs="$testpkgs debhelper lintian podman"
# The metrics suite: promtool checks the exposition and the alert rules, a real Prometheus scrapes.
testpkgs="$testpkgs prometheus"
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

# cpp-httplib, header-only and without TLS or compression. Debian 12's libcpp-httplib-dev is a
# split header of declarations plus a compiled library built with OpenSSL, brotli and zlib,
# which every process linking it maps (libcrypto alone is 3 MiB of RSS) although the plugin
# speaks plain HTTP on a unix socket. The whole header is in Debian's source package of the
# same version: fetch it, with Debian's patches, for subprojects/cpp-httplib.wrap. apt reads a
# private list of deb-src entries made from the system's own Debian entries; the system's apt
# configuration and lists are left as they are.
httplib_dir="$(cd "$(dirname "$0")/../.." && pwd)/subprojects/packagefiles/debian-src"
if [ ! -f "$httplib_dir/cpp-httplib_0.11.4+ds.orig.tar.xz" ]; then
    echo "fetching Debian's cpp-httplib source package"
    tmp=$(mktemp -d)
    mkdir -p "$tmp/sources.list.d" "$tmp/lists/partial" "$tmp/get"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822 stanzas signed with Debian's archive key, turned into deb-src entries.
        awk -v RS= -v ORS='\n\n' '/debian-archive-keyring/ { sub(/Types: deb/, "Types: deb-src"); print }' "$f"
    done > "$tmp/sources.list.d/debian-src.sources"
    grep -hs '^deb .*debian' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$tmp/sources.list" || true
    aptopt="-o Dir::Etc::SourceList=$tmp/sources.list -o Dir::Etc::SourceParts=$tmp/sources.list.d
        -o Dir::State::Lists=$tmp/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
        -o APT::Sandbox::User=root -q"
    apt-get $aptopt update >/dev/null
    (cd "$tmp/get" && apt-get $aptopt source --download-only cpp-httplib=0.11.4+ds-1+deb12u1 >/dev/null 2>&1 ||
        apt-get $aptopt source --download-only cpp-httplib >/dev/null)
    mkdir -p "$httplib_dir"
    tar -xJf "$tmp"/get/cpp-httplib_*.debian.tar.xz -C "$tmp" debian/patches
    # Debian's patches (security fixes), in their order, as one diff for the wrap.
    (cd "$tmp/debian/patches" && grep -v '^#' series | while read -r p _; do [ -n "$p" ] && cat "$p"; done) \
        > "$httplib_dir/cpp-httplib-debian.patch"
    mv "$tmp"/get/cpp-httplib_0.11.4+ds.orig.tar.xz "$httplib_dir/"
    rm -rf "$tmp"
fi
