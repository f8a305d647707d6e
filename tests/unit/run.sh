#!/bin/sh
# Run one unit test with a TMPDIR of its own, removed afterwards, so the
# private directories it makes (rpmdb copies, qemu-nbd sockets) are never
# seen by the leak checks of integration tests running beside it.
d=$(mktemp -d "${TMPDIR:-/tmp}/ngm-unit.XXXXXX") || exit 99
TMPDIR=$d "$@"
rc=$?
rm -rf "$d"
exit $rc
