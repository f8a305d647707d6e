#!/bin/bash
# Layers nested in each other, all in userspace:
#   nested       two disks (the first qcow2): /boot ext4 on sda1; md raid1
#                over sda2 + sdb2; LVM PV on the array; vg0/root a LUKS2
#                container holding the root ext4; vg0/home plain ext4
#   lvm-on-luks  sda1 /boot; sda2 LUKS2 whose payload is a PV of vg1:
#                vg1/root (/) and vg1/srv (/srv)
# Markers in every filesystem are compared byte for byte.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires cryptsetup pvcreate vgcfgrestore qemu-img sfdisk mkfs.ext4 python3 fusermount3 jq setsid

mp=$tmp/mp

stack_image ()
{
  local img
  img=$(fixture make-stack-guest.sh "$1.${2:-raw}" "$1" "${2:-raw}") || exit $?
  ngm_copy "$img" "$1.${2:-raw}"
}

# has_device NAME TYPE PARENT [UUID]: a line of /.inspect/devices.
has_device ()
{
  grep -qP "^\Q$1\E\t$2\t[0-9]+\t\Q$3\E\t${4:+\Q$4\E}" "$mp/.inspect/devices" \
    || fail "/.inspect/devices lacks $1 ($2 on $3): $(cat "$mp/.inspect/devices")"
}

common_os ()
{
  local id=$1
  assert_roots "$mp" "$id"
  assert_file_eq "$mp/.inspect/root/distro" debian
  assert_file_eq "$mp/.inspect/root/major_version" 12
  assert_file_eq "$mp/.inspect/root/hostname" "$HOSTNAME"
  assert_sha256 "$mp" "$img.sha256"
  assert_erofs touch "$mp/boot/newfile"
  printf '%s\n' "$PASSPHRASE" > "$tmp/secret"
  grep -rqF -f "$tmp/secret" "$mp/.inspect" && fail "the passphrase is in /.inspect"
  return 0
}

# --- md -> LVM -> LUKS -> ext4 ---------------------------------------------
img=$(stack_image nested qcow2) || exit $?
. "$img.env"
luks=/dev/mapper/luks-$LUKS_UUID
id=mapper-luks--${LUKS_UUID//-/--}

check_nested ()
{
  local members=$1
  common_os "$id"
  assert_file_eq "$mp/.inspect/roots/$id/mountpoints" \
    "$(printf '/\t%s\n/boot\t/dev/sda1\n/home\t/dev/vg0/home' "$luks")"
  has_device /dev/md127 md "$members" "$MD_UUID"
  has_device /dev/vg0/root lv vg0
  has_device /dev/vg0/home lv vg0
  has_device "$luks" luks /dev/vg0/root "$LUKS_UUID"
  grep -qP "^/dev/md127\tLVM2_member\t" "$mp/.inspect/filesystems" \
    || fail "the PV on /dev/md127 is not listed: $(cat "$mp/.inspect/filesystems")"
  grep -qP "^/dev/vg0/root\tcrypto_LUKS\t\Q$LUKS_UUID\E\t" "$mp/.inspect/filesystems" \
    || fail "the LUKS container on /dev/vg0/root is not listed: $(cat "$mp/.inspect/filesystems")"
  grep -qP "^\Q$luks\E\text4\t\Q$ROOT_UUID\E\troot\t" "$mp/.inspect/filesystems" \
    || fail "the root ext4 is not listed: $(cat "$mp/.inspect/filesystems")"
  jq -e --arg l "$luks" '.operatingsystems[0].root == $l' "$mp/.inspect/inspect.json" \
    > /dev/null || fail "inspect.json root is not $luks"
}

ngm_mount -a "$img" -a "$img.disk2" -i --key "/dev/vg0/root:key:$PASSPHRASE" "$mp"
check_nested "/dev/sda2 /dev/sdb2"
[ -z "$(cat "$mp/.inspect/warnings")" ] \
  || fail "unexpected warnings: $(cat "$mp/.inspect/warnings")"
ngm_umount "$mp"
assert_no_leaks

# Keys by UUID and from stdin; the first disk alone (the array degraded).
ngm_mount -a "$img" -i --key "$LUKS_UUID:key:$PASSPHRASE" "$mp"
check_nested /dev/sda2
grep -qx "/dev/md127: raid1 running degraded (missing role 1)" "$mp/.inspect/warnings" \
  || fail "no degraded warning: $(cat "$mp/.inspect/warnings")"
ngm_umount "$mp"
printf '%s\n' "$PASSPHRASE" > "$tmp/keys"
ngm_mount -a "$img" -a "$img.disk2" -i --keys-from-stdin "$mp" < "$tmp/keys"
check_nested "/dev/sda2 /dev/sdb2"
ngm_umount "$mp"
assert_no_leaks

# --all without a key: /boot, /home and the spare fs are there, the
# encrypted root is not, and the warnings say why.
setsid -w env TMPDIR="$tmp/tmpdir" timeout -k 10 "$NGM_TIMEOUT" "$NGUESTMOUNT" \
  --pid-file "$tmp/pid" -a "$img" -a "$img.disk2" --all "$mp" < /dev/null \
  || fail "--all without a key failed"
ngm_is_mounted "$mp" || fail "--all without a key mounted nothing"
[ -f "$mp/sda1/marker-boot" ] && [ -f "$mp/vg0-home/marker-home" ] \
  || fail "--all lacks sda1 or vg0-home: $(ls "$mp")"
grep -q "/dev/vg0/root" "$mp/.inspect/warnings" \
  || fail "no warning about the locked /dev/vg0/root: $(cat "$mp/.inspect/warnings")"
ngm_umount "$mp"
assert_no_leaks
expect_fail "wrong passphrase for /dev/vg0/root" \
  ngm -a "$img" -a "$img.disk2" -i --key all:key:nope "$mp"

# --- LUKS -> LVM -> ext4 ----------------------------------------------------
img=$(stack_image lvm-on-luks) || exit $?
. "$img.env"
luks=/dev/mapper/luks-$LUKS_UUID
ngm_mount -a "$img" -i --key "/dev/sda2:key:$PASSPHRASE" "$mp"
common_os vg1-root
assert_file_eq "$mp/.inspect/roots/vg1-root/mountpoints" \
  "$(printf '/\t/dev/vg1/root\n/boot\t/dev/sda1\n/srv\t/dev/vg1/srv')"
has_device "$luks" luks /dev/sda2 "$LUKS_UUID"
has_device /dev/vg1/root lv vg1
has_device /dev/vg1/srv lv vg1
grep -qP "^\Q$luks\E\tLVM2_member\t" "$mp/.inspect/filesystems" \
  || fail "the PV in the LUKS payload is not listed: $(cat "$mp/.inspect/filesystems")"
[ -z "$(cat "$mp/.inspect/warnings")" ] \
  || fail "unexpected warnings: $(cat "$mp/.inspect/warnings")"
ngm_umount "$mp"
assert_no_leaks

# The same image as qcow2 (LUKS over the block export).
img=$(stack_image lvm-on-luks qcow2) || exit $?
. "$img.env"
ngm_mount -a "$img" -i --key "all:key:$PASSPHRASE" "$mp"
common_os vg1-root
ngm_umount "$mp"
assert_no_leaks

expect_fail "/dev/sda2" setsid -w env TMPDIR="$tmp/tmpdir" \
  timeout -k 10 "$NGM_TIMEOUT" "$NGUESTMOUNT" -a "$img" -i "$mp" < /dev/null
