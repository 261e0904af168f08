#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs a command in a private mount and PID namespace with empty Docker plugin directories.
#
# Usage: private_ns.sh COMMAND [ARGS...]   (as root; exits 77 otherwise)
#
# Docker finds legacy plugins in /run/docker/plugins and /etc/docker/plugins, keeps managed
# plugins' sockets in /run/docker/plugins/<id>, and uses a system containerd when
# /run/containerd/containerd.sock exists: all global paths. A tmpfs over each, visible only
# in this mount namespace, keeps the engine and plugin that COMMAND starts from ever meeting
# another engine or another test run. COMMAND runs under PID 1 of a new PID namespace: when
# it ends, however it ends, the kernel kills every process left inside (dockerd, containerd,
# shims, containers, plugins), the namespace's mounts go with it (loop devices are freed on
# their last unmount) and the scratch directory is removed.
#
# COMMAND gets BV_E2E_DIR (its scratch directory), DOCKER_HOST, DOCKER_CONFIG and
# BV_E2E_DOCKER (the docker CLI to use: Debian's, matching its dockerd).
set -eu

if [ "${1:-}" = --inside ]; then
    shift
    for d in /run/docker /run/containerd /etc/docker; do
        mkdir -p "$d"
        mount -t tmpfs -o mode=0755 bv-e2e "$d"
    done
    mkdir -p /run/docker/plugins /etc/docker/plugins
    # This shell is PID 1: it stays, so that it reaps orphans (dockerd started in the
    # background by engine.sh) while COMMAND runs; its exit takes the namespace down.
    status=0
    "$@" || status=$?
    exit "$status"
fi

if [ "$(id -u)" != 0 ]; then
    echo "e2e: needs root (dockerd, loop devices, mounts): skipped"
    exit 77
fi
# dockerd, mkfs.btrfs and losetup live in sbin, which a bare environment may leave out.
export PATH="$PATH:/usr/sbin:/sbin"
for p in dockerd unshare mkfs.btrfs busybox curl; do
    if ! command -v "$p" >/dev/null; then
        echo "e2e: '$p' not found: run sh packaging/setup/deps.sh test" >&2
        exit 1
    fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/bv-e2e.XXXXXX")
# Outside the namespace nothing is mounted under $dir: removing it is safe even when
# COMMAND died half-way.
trap 'rm -rf "$dir"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
export BV_E2E_DIR="$dir"
export DOCKER_HOST="unix://$dir/docker.sock"
export DOCKER_CONFIG="$dir/cli"
# The docker CLI from Debian's docker.io matches its dockerd; another one earlier on PATH
# (a newer client in /usr/local/bin) would test something else.
if [ -x /usr/bin/docker ]; then BV_E2E_DOCKER=/usr/bin/docker; else BV_E2E_DOCKER=docker; fi
export BV_E2E_DOCKER
status=0
# --kill-child: should unshare itself be killed, the namespace's PID 1 goes with it.
unshare --mount --pid --fork --kill-child --mount-proc --propagation private sh "$0" --inside "$@" || status=$?
exit "$status"
