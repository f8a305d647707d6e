#!/bin/bash
# Two disks: / on sda1 (qcow2, GPT), /home on sdb1 (raw, MBR) found through
# the fstab's UUID=.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 fusermount3

mp=$tmp/mp
a=$(fixture make-multidisk.sh multi.qcow2) || exit $?
a=$(ngm_copy "$a" multi.qcow2) || exit $?
b=$a.disk2
. "$a.env"

ngm_mount -a "$a" -a "$b" -i --ro "$mp"
assert_sha256 "$mp" "$a.sha256"
assert_roots "$mp" sda1
assert_file_eq "$mp/.inspect/roots/sda1/mountpoints" \
  "$(printf '/\t/dev/sda1\n/home\t/dev/sdb1')"
grep -qP "^/dev/sdb1\text4\t\Q$HOME_UUID\E\thome\t" "$mp/.inspect/filesystems" \
  || fail "/dev/sdb1 not listed: $(cat "$mp/.inspect/filesystems")"
grep -qP "^/dev/sda1\text4\t\Q$ROOT_UUID\E\troot\t" "$mp/.inspect/filesystems" \
  || fail "/dev/sda1 not listed: $(cat "$mp/.inspect/filesystems")"
assert_file_eq "$mp/.inspect/roots/sda1/distro" debian
ngm_umount "$mp"
assert_no_leaks

# --all names both disks' partitions.
ngm_mount -a "$a" -a "$b" --all "$mp"
assert_eq "--all entries" "sda1 sdb1" \
  "$(ls "$mp" | grep -v '^\.inspect$' | tr '\n' ' ' | sed 's/ $//')"
[ -f "$mp/sdb1/alice/marker-home" ] || fail "/sdb1/alice/marker-home missing"
ngm_umount "$mp"
assert_no_leaks

# Without the second disk /home cannot be found: a warning, not a failure.
ngm_mount -a "$a" -i "$mp"
[ -f "$mp/marker-root" ] || fail "/marker-root missing"
[ -n "$(cat "$mp/.inspect/warnings")" ] || fail "no warning about the missing /home"
[ ! -e "$mp/home/alice" ] || fail "/home/alice appeared from nowhere"
ngm_umount "$mp"
assert_no_leaks
