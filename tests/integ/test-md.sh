#!/bin/bash
# md RAID assembled in userspace: raid1 (v1.2, v1.0, v0.90), raid5 over
# three disks, raid0, a degraded raid1, a raid5 missing too many members,
# and a partition table inside an array (/dev/md127p1).  The root ext4 of
# each guest holds random markers (one of 3 MiB, crossing every chunk and
# member), compared byte for byte.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires cryptsetup pvcreate qemu-img sfdisk mkfs.ext4 python3 fusermount3 jq

mp=$tmp/mp

stack_image ()
{
  local img
  img=$(fixture make-stack-guest.sh "$1.${2:-raw}" "$1" "${2:-raw}") || exit $?
  ngm_copy "$img" "$1.${2:-raw}"
}

# disks IMG [N]: "-a IMG -a IMG.disk2 ..." for the first N disks (all).
disks ()
{
  local img=$1 n=${2:-} i
  . "$img.env"
  n=${n:-$DISKS}
  echo "-a" "$img"
  for ((i = 2; i <= n; i++)); do echo "-a" "$img.disk$i"; done
}

# check_md IMG MDDEV MEMBERS ROOTDEV: the -i view with / on ROOTDEV, and
# MDDEV listed as an md device over MEMBERS.
check_md ()
{
  local img=$1 md=$2 members=$3 rootdev=$4 id
  . "$img.env"
  id=${rootdev#/dev/}
  assert_sha256 "$mp" "$img.sha256"
  assert_roots "$mp" "$id"
  assert_file_eq "$mp/.inspect/root/distro" debian
  assert_file_eq "$mp/.inspect/root/hostname" "$HOSTNAME"
  assert_file_eq "$mp/.inspect/roots/$id/mountpoints" "$(printf '/\t%s' "$rootdev")"
  grep -qP "^\Q$md\E\tmd\t[0-9]+\t\Q$members\E\t\Q$MD_UUID\E\$" "$mp/.inspect/devices" \
    || fail "/.inspect/devices lacks $md over $members ($MD_UUID): $(cat "$mp/.inspect/devices")"
  jq -e --arg n "$md" --arg u "$MD_UUID" \
    'any(.devices[]; .name == $n and .type == "md" and .uuid == $u and .opened)' \
    "$mp/.inspect/inspect.json" > /dev/null \
    || fail "inspect.json devices lacks $md: $(jq -c .devices "$mp/.inspect/inspect.json")"
  grep -qP "^\Q$rootdev\E\text4\t\Q$ROOT_UUID\E\troot\t" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks $rootdev: $(cat "$mp/.inspect/filesystems")"
  assert_erofs touch "$mp/newfile"
}

# kind METADATA-NAME MEMBERS MDDEV ROOTDEV
for v in "md1 /dev/md127" "md1-10 /dev/md127" "md1-090 /dev/md3" \
         "md0 /dev/md127" "md5 /dev/md127"; do
  set -- $v
  img=$(stack_image "$1") || exit $?
  members="/dev/sda1 /dev/sdb1"
  [ "$1" = md5 ] && members="/dev/sda1 /dev/sdb1 /dev/sdc1"
  # shellcheck disable=SC2046
  ngm_mount $(disks "$img") -i "$mp"
  check_md "$img" "$2" "$members" "$2"
  [ -z "$(cat "$mp/.inspect/warnings")" ] \
    || fail "$1: unexpected warnings: $(cat "$mp/.inspect/warnings")"
  ngm_umount "$mp"
  assert_no_leaks
done

# raid5 with one member missing still has all the data (parity); with two
# missing nothing can be read: a clear error, nothing mounted.
img=$tmp/md5.raw
# shellcheck disable=SC2046
ngm_mount $(disks "$img" 2) -i "$mp"
check_md "$img" /dev/md127 "/dev/sda1 /dev/sdb1" /dev/md127
grep -q "^/dev/md127: raid5 running degraded" "$mp/.inspect/warnings" \
  || fail "no degraded warning: $(cat "$mp/.inspect/warnings")"
ngm_umount "$mp"
assert_no_leaks
# shellcheck disable=SC2046
expect_fail "cannot assemble raid5 with 1 of 3 members" ngm $(disks "$img" 1) -i "$mp"
grep -q "no filesystems found" "$tmp/fail.err" || fail "unclear error: $(cat "$tmp/fail.err")"
# shellcheck disable=SC2046
expect_fail "cannot assemble raid5 with 1 of 3 members" ngm $(disks "$img" 1) --all "$mp"

# raid1 from one disk only: degraded, with a warning, every byte there.
img=$tmp/md1.raw
ngm_mount -a "$img" -i "$mp"
check_md "$img" /dev/md127 /dev/sda1 /dev/md127
grep -qx "/dev/md127: raid1 running degraded (missing role 1)" "$mp/.inspect/warnings" \
  || fail "no degraded warning: $(cat "$mp/.inspect/warnings")"
jq -e 'any(.warnings[]; test("degraded"))' "$mp/.inspect/inspect.json" > /dev/null \
  || fail "inspect.json warnings lack the degraded array"
ngm_umount "$mp"
# The same from the second disk alone.
ngm_mount -a "$img.disk2" -i "$mp"
check_md "$img" /dev/md127 /dev/sda1 /dev/md127
grep -qx "/dev/md127: raid1 running degraded (missing role 0)" "$mp/.inspect/warnings" \
  || fail "no degraded warning: $(cat "$mp/.inspect/warnings")"
ngm_umount "$mp"
assert_no_leaks

# A GPT inside the array: /dev/md127p1 (qcow2 first disk: the export path).
img=$(stack_image mdpart qcow2) || exit $?
# shellcheck disable=SC2046
ngm_mount $(disks "$img") -i "$mp"
check_md "$img" /dev/md127 "/dev/sda1 /dev/sdb1" /dev/md127p1
grep -qP "^/dev/md127p1\tpartition\t[0-9]+\t/dev/md127\t" "$mp/.inspect/devices" \
  || fail "/.inspect/devices lacks /dev/md127p1: $(cat "$mp/.inspect/devices")"
ngm_umount "$mp"
# --all names the partition of the array.
# shellcheck disable=SC2046
ngm_mount $(disks "$img") --all "$mp"
[ -f "$mp/md127p1/marker-root" ] || fail "--all: /md127p1/marker-root missing: $(ls "$mp")"
ngm_umount "$mp"
assert_no_leaks

# fstab names the array /dev/md0, as the guest's mdadm.conf does; we call it
# /dev/md127 (from its superblock) and match the two by UUID.
img=$(stack_image mdconf) || exit $?
# shellcheck disable=SC2046
ngm_mount $(disks "$img") -i "$mp"
assert_sha256 "$mp" "$img.sha256"
grep -qP "^/srv\t/dev/md127$" "$mp/.inspect/root/mountpoints" \
  || fail "/srv is not placed from /dev/md127: $(cat "$mp/.inspect/root/mountpoints")"
[ -f "$mp/srv/marker-srv" ] || fail "/srv/marker-srv not visible through the view"
ngm_umount "$mp"
assert_no_leaks
