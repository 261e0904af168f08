#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages from packaging/debian, installs them into this machine, uses them, removes them.
#
# Usage: debian_check.sh SOURCE_DIR   (as root; exits 77 otherwise)
#
# Steps, each one a failure when it goes wrong: copy the source tree (the files git knows,
# committed or not) to a scratch folder with packaging/debian as its debian/; build with
# `dpkg-buildpackage -us -uc -b` (nocheck: the package is built with -Dtests=disabled; noopt:
# -O0, for CI's time: nothing checked here depends on optimisation, and a release build is
# made without it);
# lintian --fail-on error; `apt-get install ./*.deb` into this machine (not a chroot: the build
# dependencies are already here, and nothing is fetched); check `buttervolume --version`, the
# man page, the systemd units and the library; build and run a consumer with nothing but
# `pkg-config --cflags --libs libbuttervolume`; then purge the three packages again (also on
# failure). A machine where any of them is already installed is left alone (exit 77); a meson
# install in /usr/local is hidden from the checks (see without_usr_local).
set -eu
src=$(cd "${1:?usage: debian_check.sh SOURCE_DIR}" && pwd)
packages="buttervolume libbuttervolume1 libbuttervolume-dev"

if [ "$(id -u)" != 0 ]; then
    echo "debian: needs root (apt-get install): skipped"
    exit 77
fi
export PATH="$PATH:/usr/sbin:/sbin"
for p in dpkg-buildpackage dh lintian help2man meson pkg-config; do
    command -v "$p" >/dev/null || { echo "debian: '$p' not found: run sh packaging/setup/deps.sh test" >&2; exit 1; }
done
for p in $packages; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$'; then
        echo "debian: $p is already installed on this machine; not replacing it: skipped"
        exit 77
    fi
done

# A libbuttervolume from `meson install` (packaging/setup/run.sh puts it in /usr/local) comes
# first for the compiler, pkg-config and ld.so: the checks of the installed package run in a
# mount namespace of their own where /usr/local is an empty tmpfs, so they see the package's
# files only and the machine's /usr/local is neither used nor touched.
without_usr_local() {
    unshare --mount --propagation private sh -c 'mount -t tmpfs -o ro,mode=0755 bv-empty /usr/local && exec "$@"' sh "$@"
}
without_usr_local true || { echo "debian: cannot hide /usr/local in a mount namespace (unshare)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bv-deb.XXXXXX")
installed=false
cleanup() {
    if $installed; then
        apt-get -o DPkg::Lock::Timeout=300 purge -y -q $packages >"$tmp/purge.log" 2>&1 ||
            { echo "debian: purging $packages failed:" >&2; cat "$tmp/purge.log" >&2; }
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

echo "== copying $src"
mkdir "$tmp/src"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked and untracked-but-not-ignored files: what a commit of this tree would hold.
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        tar -C "$src" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$tmp/src" -xf -
else
    tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$tmp/src" -xf -
fi
# Debian's cpp-httplib source, which packaging/setup/deps.sh fetches (git ignores it): the
# daemon is built with it header-only (subprojects/cpp-httplib.wrap), and nothing is downloaded.
httplib_src=subprojects/packagefiles/debian-src
[ -d "$src/$httplib_src" ] || { echo "debian: no $src/$httplib_src: run sh packaging/setup/deps.sh" >&2; exit 1; }
mkdir -p "$tmp/src/$httplib_src"
cp -r "$src/$httplib_src/." "$tmp/src/$httplib_src/"
rm -rf "$tmp/src/debian"
cp -r "$src/packaging/debian" "$tmp/src/debian"
version=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" "$src/meson.build")

echo "== dpkg-buildpackage -us -uc -b (log: build.log)"
jobs=$(nproc 2>/dev/null || echo 2)
if ! (cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck noopt noautodbgsym parallel=$jobs" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    echo "debian: dpkg-buildpackage failed; its log ends with:" >&2
    tail -n 60 "$tmp/build.log" >&2
    exit 1
fi
ls "$tmp"/*.deb
for p in $packages; do
    [ -f "$(ls "$tmp/${p}_"*.deb 2>/dev/null | head -n 1)" ] || { echo "debian: no package $p was built" >&2; exit 1; }
done

echo "== lintian --fail-on error"
lintian --fail-on error --tag-display-limit 0 "$tmp"/*.changes || { echo "debian: lintian reports errors" >&2; exit 1; }

echo "== apt-get install ./*.deb"
installed=true
(cd "$tmp" && apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends ./*.deb) >"$tmp/install.log" 2>&1 ||
    { echo "debian: apt-get install failed:" >&2; cat "$tmp/install.log" >&2; exit 1; }

fail() { echo "debian: $*" >&2; exit 1; }
got=$(without_usr_local /usr/bin/buttervolume --version)
[ "$got" = "buttervolume $version" ] || fail "buttervolume --version printed '$got', not 'buttervolume $version'"
echo "buttervolume --version: $got"

# A shipped build has no test seam: nothing in it reads BUTTERVOLUME_TEST_KILL_AT and the like.
lib=""
for f in $(dpkg -L libbuttervolume1 | grep '/libbuttervolume\.so\.'); do
    if [ -f "$f" ] && [ ! -L "$f" ]; then lib=$f; fi
done
[ -n "$lib" ] || fail "libbuttervolume1 holds no libbuttervolume.so file"
for f in /usr/bin/buttervolume "$lib"; do
    if grep -q BUTTERVOLUME_TEST_ "$f"; then fail "$f holds a test seam (a BUTTERVOLUME_TEST_ string)"; fi
done
echo "no test seam in /usr/bin/buttervolume and $lib"

# The man page holds the --help texts: the main one and every command's.
man=/usr/share/man/man1/buttervolume.1.gz
[ -f "$man" ] || fail "no man page $man"
page=$(zcat "$man")
for c in $(without_usr_local /usr/bin/buttervolume --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
    printf '%s' "$page" | grep -q "^\\.SS \"$c\"" || fail "man page has no section for command '$c'"
done
# Its roff text, escaped as doc/man_commands.sh does: the first line of a command's --help.
first=$(without_usr_local /usr/bin/buttervolume snapshot --help | sed -n 1p | sed -e 's/\\/\\e/g' -e 's/-/\\-/g')
printf '%s' "$page" | grep -qF -- "$first" || fail "man page lacks the text of 'buttervolume snapshot --help' ($first)"
echo "man page: $(printf '%s\n' "$page" | grep -c '^\.SS') command sections"

unitdir=""
for d in /lib/systemd/system /usr/lib/systemd/system; do
    if [ -f "$d/buttervolume.service" ]; then unitdir=$d; fi
done
[ -n "$unitdir" ] && [ -f "$unitdir/buttervolume.socket" ] || fail "systemd units buttervolume.service/.socket not installed"
grep -q '^ExecStart=/usr/bin/buttervolume ' "$unitdir/buttervolume.service" ||
    fail "buttervolume.service does not start /usr/bin/buttervolume"

echo "== consumer built with pkg-config libbuttervolume"
flags=$(without_usr_local pkg-config --cflags --libs libbuttervolume) || fail "pkg-config does not know libbuttervolume"
echo "pkg-config: $flags"
# shellcheck disable=SC2086 # the flags are words
without_usr_local c++ -std=c++20 -o "$tmp/consumer" "$src/tests/consumer/consumer.cpp" $flags ||
    fail "the consumer does not build"
out=$(without_usr_local env -u LD_LIBRARY_PATH "$tmp/consumer") || fail "the consumer failed: $out"
echo "consumer: $out"
without_usr_local env -u LD_LIBRARY_PATH ldd "$tmp/consumer" | grep -Eq "libbuttervolume.so.1 => /(usr/)?lib/" ||
    fail "the consumer does not use the installed libbuttervolume.so.1"

echo "== apt-get purge"
apt-get -o DPkg::Lock::Timeout=300 purge -y -q $packages >"$tmp/purge.log" 2>&1 ||
    { cat "$tmp/purge.log" >&2; fail "apt-get purge failed"; }
installed=false
[ ! -e /usr/bin/buttervolume ] || fail "/usr/bin/buttervolume is still there after the purge"
! without_usr_local pkg-config --exists libbuttervolume || fail "libbuttervolume.pc is still there after the purge"
echo "debian: built, linted, installed, used and removed $packages $version"
