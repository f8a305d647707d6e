#!/bin/bash
# The MBR guest: /boot primary, / and /home on logical partitions 5 and 6
# inside an extended partition, swap on 7.  Short command form
# "nguestmount IMAGE MP", which picks -i (an OS is found) with a note.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap fusermount3 jq

mp=$tmp/mp
img=$(guest_image mbr raw) || exit $?
ngm_mount "$img" "$mp"
grep -q '^nguestmount: ' "$tmp/ngm.err" || fail "no note about choosing -i"
grep -q '^nguestmount: error' "$tmp/ngm.err" && fail "error printed on success"
assert_eq "ROOT_DEV of the fixture" /dev/sda5 "$(. "$img.env"; echo "$ROOT_DEV")"
check_guest_view "$mp" "$img"
# The extended container is not a filesystem.
grep -q '^/dev/sda2	' "$mp/.inspect/filesystems" \
  && fail "the extended partition is listed as a filesystem"
ngm_umount "$mp"
assert_no_leaks

# The same in qcow2 (partitions over the nbd path).
img=$(guest_image mbr qcow2) || exit $?
ngm_mount -a "$img" -i "$mp"
assert_sha256 "$mp" "$img.sha256"
assert_roots "$mp" sda5
ngm_umount "$mp"
assert_no_leaks
