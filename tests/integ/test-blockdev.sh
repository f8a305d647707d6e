#!/bin/bash
# A host block device as the disk (-a /dev/loopN): read with pread and
# given to the kernel as loop devices over the block device itself.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap fusermount3 jq losetup

mp=$tmp/mp
img=$(guest_image gpt raw) || exit $?
cp --sparse=always "$img" "$tmp/disk.raw"
dev=$(losetup --find --show --read-only "$tmp/disk.raw") || fail "losetup failed"
cleanup_loop () { losetup -d "$dev" 2>/dev/null || true; }
trap 'cleanup_loop; _ngm_cleanup' EXIT

ngm_mount -a "$dev" -i "$mp"
assert_sha256 "$mp" "$img.sha256"
assert_roots "$mp" sda2
jq -e --arg d "$dev" '.devices[0].source == $d and .devices[0].format == "raw"' \
  "$mp/.inspect/inspect.json" >/dev/null \
  || fail "devices[0] does not name $dev as a raw source"
ngm_umount "$mp"
cleanup_loop
assert_no_leaks
