#!/bin/bash
# --inspect-only: the inspection on stdout (JSON by default, virt-inspector
# XML with --xml), no FUSE mount, and nothing left behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap jq xmllint

img=$(guest_image gpt qcow2) || exit $?

ngm --inspect-only -a "$img" > "$tmp/out.json" 2> "$tmp/err" \
  || fail "--inspect-only failed: $(cat "$tmp/err")"
jq -e '.operatingsystems[0].root == "/dev/sda2"
       and .operatingsystems[0].distro == "fedora"
       and .operatingsystems[0].major_version == 39
       and ([.operatingsystems[0].mountpoints[].mountpoint] == ["/", "/boot", "/home"])
       and ([.filesystems[].device] | index("/dev/sda1") != null)' \
  "$tmp/out.json" >/dev/null || fail "unexpected JSON: $(cat "$tmp/out.json")"
[ -s "$tmp/err" ] && fail "--inspect-only wrote to stderr: $(cat "$tmp/err")"

ngm --inspect-only --xml "$img" > "$tmp/out.xml" 2> "$tmp/err" \
  || fail "--inspect-only --xml failed: $(cat "$tmp/err")"
xmllint --noout --relaxng "$top_srcdir/tests/virt-inspector.rng" "$tmp/out.xml" \
  2> "$tmp/xmllint.err" || fail "XML does not validate: $(cat "$tmp/xmllint.err")"
[ "$(xmllint --xpath 'string(//operatingsystem/distro)' "$tmp/out.xml")" = fedora ] \
  || fail "XML distro is not fedora"

# Nothing is mounted at all: no FUSE mount appeared anywhere.
grep -q 'fuse.nguestmount' /proc/self/mountinfo \
  && grep 'fuse.nguestmount' /proc/self/mountinfo | grep -q "$tmp" \
  && fail "--inspect-only left a FUSE mount"

expect_fail "--inspect-only mounts nothing" ngm --inspect-only --all -a "$img"
expect_fail "cannot attach $tmp/none.qcow2: No such file or directory" \
  ngm --inspect-only -a "$tmp/none.qcow2"
assert_no_leaks
