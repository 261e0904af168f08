#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A throw-away Podman, configured to use buttervolume's socket as the volume plugin "btrfs".
#
# Usage (inside tests/e2e/private_ns.sh, which sets BV_E2E_DIR):
#   podman.sh setup            configuration and storage under $BV_E2E_DIR/podman
#   podman.sh import-busybox   image "busybox" from busybox-static (no registry needed)
#   podman.sh [ARGS...]        anything else: runs podman ARGS with that configuration
#
# Nothing of another Podman is read or touched: CONTAINERS_CONF and CONTAINERS_STORAGE_CONF
# name this run's own files (each replaces every system-wide one), --root/--runroot, the
# volume, tmp, static and network folders and the events log all live in $BV_E2E_DIR/podman,
# and /run/docker/plugins is the private tmpfs of private_ns.sh. Storage is vfs (plain copies:
# works on any filesystem); containers get no network (netns none) and cgroupfs (no systemd).
set -eu
D=${BV_E2E_DIR:?run inside tests/e2e/private_ns.sh}
P=$D/podman
export CONTAINERS_CONF="$P/containers.conf" CONTAINERS_STORAGE_CONF="$P/storage.conf"
# Docker's client settings of private_ns.sh are not Podman's: it would look for credentials there.
unset DOCKER_CONFIG DOCKER_HOST
export REGISTRY_AUTH_FILE="$P/auth.json"

podman_cli() { podman --root "$P/root" --runroot "$P/run" "$@"; }

setup() {
    mkdir -p "$P/root" "$P/run" "$P/tmp" "$P/volumes" "$P/net"
    echo '{"auths": {}}' >"$P/auth.json"
    # default_ulimits: this machine's hard nofile/nproc limits are lower than Podman's
    # defaults (1048576), which runc then refuses to set.
    cat >"$P/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[network]
network_config_dir = "$P/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
tmp_dir = "$P/tmp"
volume_path = "$P/volumes"
static_dir = "$P/root/libpod"

[engine.volume_plugins]
btrfs = "/run/docker/plugins/btrfs.sock"
CONF
    cat >"$P/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$P/root"
runroot = "$P/run"
CONF
}

import_busybox() {
    sh "$(dirname "$0")/engine.sh" busybox-tar | podman_cli import --quiet --change 'CMD ["sh"]' - busybox:latest >/dev/null
}

case "${1:-}" in
setup) setup ;;
import-busybox) import_busybox ;;
*) podman_cli "$@" ;;
esac
