#!/bin/bash
# The GPT guest (ext4 /boot, xfs /, btrfs /home in subvolume @home, swap) in
# every supported image format, mounted with -i --ro: data byte-exact,
# metadata, symlinks verbatim, /.inspect, and EROFS on every write.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap fusermount3 jq

mp=$tmp/mp
for fmt in ${NGM_TEST_FORMATS:-raw qcow2 vmdk vhdx vpc vdi}; do
  note "format $fmt"
  img=$(guest_image gpt "$fmt") || exit $?
  ngm_mount -a "$img" -i --ro "$mp"
  check_guest_view "$mp" "$img"
  ngm_umount "$mp"
  assert_no_leaks
  rm -f "$img"
done
