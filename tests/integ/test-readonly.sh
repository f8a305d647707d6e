#!/bin/bash
# Read-only means the image is never written: filesystems with a dirty
# journal/log (which a plain mount would replay) mount, read, and the
# image's bytes are unchanged afterwards.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img mkfs.ext4 mkfs.xfs dumpe2fs xfs_io unshare fusermount3

mp=$tmp/mp
mkdir "$tmp/src" "$tmp/m"
head -c 100000 /dev/urandom > "$tmp/src/before"
want=$(sha256sum < "$tmp/src/before" | cut -d' ' -f1)

# Write after mounting, then shut the filesystem down so the journal holds
# committed transactions that were never checkpointed.
dirty ()
{
  unshare -m --propagation private sh -ec '
    mount -o loop "$1" "$2"
    echo "written after mkfs" > "$2/after"
    sync
    xfs_io -x -c "shutdown -f" "$2"
    umount "$2"' sh "$1" "$tmp/m" || hard_error "cannot dirty $1"
}

# ext4
truncate -s 32M "$tmp/ext4.img"
mkfs.ext4 -q -F -d "$tmp/src" "$tmp/ext4.img"
dirty "$tmp/ext4.img"
dumpe2fs -h "$tmp/ext4.img" 2>/dev/null | grep -q needs_recovery \
  || hard_error "the ext4 journal is not dirty"
# xfs (from a protofile, no mount needed to fill it)
. "$fixtures/lib.sh"
fixture_mkfs xfs "$tmp/xfs.img" 300M dirty "$(fixture_uuid)" "$tmp/src"
dirty "$tmp/xfs.img"
qemu-img convert -q -f raw -O qcow2 "$tmp/ext4.img" "$tmp/ext4.qcow2"

for img in ext4.img xfs.img ext4.qcow2; do
  note "$img"
  before=$(sha256sum < "$tmp/$img")
  ngm_mount -a "$tmp/$img" --all --ro "$mp"
  assert_eq "$img: /sda/before" "$want" "$(sha256sum < "$mp/sda/before" | cut -d' ' -f1)"
  ls -la "$mp/sda" > /dev/null || fail "ls failed"
  assert_erofs touch "$mp/sda/x"
  # The dirty journal or log was not replayed: the ladder's later rung
  # did the mount, and inspect.json says which.
  case $img in ext4*) rung=ro,noload ;; xfs*) rung=ro,norecovery ;; esac
  assert_eq "$img: mount_options" "$rung" \
    "$(jq -r '.filesystems[0].mount_options' "$mp/.inspect/inspect.json")"
  ngm_umount "$mp"
  assert_no_leaks
  assert_eq "$img: image sha256 after a read-only mount" "$before" "$(sha256sum < "$tmp/$img")"
done
dumpe2fs -h "$tmp/ext4.img" 2>/dev/null | grep -q needs_recovery \
  || fail "the journal was replayed into the image"
