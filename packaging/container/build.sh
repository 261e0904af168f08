#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the image "buttervolume" (the seed's privileged-container way) from the built binary, with no registry.
#
# Usage: build.sh [--binary PATH] [--tag TAG]
#   --binary  the buttervolume binary (default: build/daemon/buttervolume, else the one on PATH)
#   --tag     the image name (default: buttervolume:latest)
# Environment: DOCKER, the docker CLI to use (default: docker on PATH).
#
# The root filesystem is the managed plugin's (packaging/plugin/build.sh --no-create: the
# binary, the shared libraries ldd finds, an ld.so.cache), imported with `docker import`; the
# entrypoint is `buttervolume run`, so arguments after the image name are run's options
# (--root DIR, --socket PATH, --log-level LEVEL). Run it with the pool root and the plugin
# directory bound at the same paths as on the host (Docker mounts the Mountpoint the plugin
# returns, a host path):
#   docker run -d --name buttervolume --privileged --restart unless-stopped \
#       -v /var/lib/buttervolume:/var/lib/buttervolume -v /run/docker/plugins:/run/docker/plugins \
#       buttervolume
#   docker exec buttervolume buttervolume volumes      # the CLI, inside the container
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary="" tag=buttervolume:latest
while [ $# -gt 0 ]; do
    case "$1" in
    --binary) binary=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    -h | --help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/buttervolume-image.XXXXXX")
trap 'rm -rf "$dir"' EXIT
set -- --dir "$dir" --no-create
[ -z "$binary" ] || set -- "$@" --binary "$binary"
sh "$here/../plugin/build.sh" "$@" >/dev/null
docker=${DOCKER:-docker}
# The daemon logs to stderr: `docker logs buttervolume` shows one line per request.
tar -C "$dir/rootfs" -c . | "$docker" import \
    --change 'ENTRYPOINT ["/usr/bin/buttervolume", "run"]' \
    --change 'ENV PATH=/usr/bin' \
    --change 'LABEL org.opencontainers.image.title=buttervolume' \
    - "$tag" >/dev/null
echo "built image $tag ($(du -sh "$dir/rootfs" | cut -f1))"
