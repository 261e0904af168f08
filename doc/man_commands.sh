#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints a help2man include file whose COMMANDS section is each command's own --help text.
#
# Usage: man_commands.sh BINARY > commands.h2m
# The command names are read from `BINARY --help` (its "commands:" list), so a new command
# appears in buttervolume(1) without editing anything here: the man page and --help are one text.
set -eu
bin=$1
# roff: a backslash is \e, a line starting with . or ' needs \& before it, '-' is a minus.
escape() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
commands=$("$bin" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[ -n "$commands" ] || { echo "man_commands.sh: '$bin --help' lists no commands" >&2; exit 1; }
echo '[COMMANDS]'
for c in $commands; do
    printf '.SS "%s"\n.nf\n' "$c"
    "$bin" "$c" --help | escape
    printf '.fi\n'
done
cat <<'H2M'
[ENVIRONMENT]
.TP
.B BUTTERVOLUME_ROOT
the pool root when \-\-root is not given (default /var/lib/buttervolume)
.TP
.BR BUTTERVOLUME_VOLUMES_PATH ", " BUTTERVOLUME_SNAPSHOTS_PATH
move the volumes/ and snapshots/ folders, as in the Python buttervolume
[FILES]
.TP
.I /var/lib/buttervolume
the default pool root: volumes/, snapshots/, config/, state/
.TP
.I /run/docker/plugins/btrfs.sock
the plugin socket Docker and Podman use for the driver "btrfs"
H2M
