#!/bin/bash
# LVM read in userspace: VG vg0 over PVs sda1 and sdb1 (two disks); the
# root LV linear on sda1, /home a striped LV over both; the guest's fstab
# names them /dev/mapper/vg0-root and /dev/vg0/home.  Without the second
# disk the VG has a PV missing: a warning, root still fine.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires cryptsetup pvcreate vgcfgrestore qemu-img sfdisk mkfs.ext4 python3 fusermount3 jq

mp=$tmp/mp
img=$(fixture make-stack-guest.sh lvm.raw lvm raw) || exit $?
img=$(ngm_copy "$img" lvm.raw) || exit $?
. "$img.env"
id=vg0-root

# check_lv NAME SIZE: /.inspect/devices lists /dev/vg0/NAME, an LV of vg0.
check_lv ()
{
  grep -qP "^/dev/vg0/$1\tlv\t$2\tvg0\t[A-Za-z0-9-]{38}\$" "$mp/.inspect/devices" \
    || fail "/.inspect/devices lacks /dev/vg0/$1 (size $2): $(cat "$mp/.inspect/devices")"
}

check_root ()
{
  assert_roots "$mp" "$id"
  assert_eq "readlink /.inspect/root" "roots/$id" "$(readlink "$mp/.inspect/root")"
  assert_file_eq "$mp/.inspect/root/distro" debian
  assert_file_eq "$mp/.inspect/root/hostname" "$HOSTNAME"
  assert_sha256 "$mp" <(grep -v '^/home/' "$img.sha256")
  grep -qP "^/dev/vg0/root\text4\t\Q$ROOT_UUID\E\troot\t" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks /dev/vg0/root: $(cat "$mp/.inspect/filesystems")"
  check_lv root $((16 * 1048576))
  jq -e '.operatingsystems[0].root == "/dev/vg0/root"' "$mp/.inspect/inspect.json" \
    > /dev/null || fail "inspect.json root is not /dev/vg0/root"
}

# --- both disks ---------------------------------------------------------------
ngm_mount -a "$img" -a "$img.disk2" -i "$mp"
check_root
assert_sha256 "$mp" "$img.sha256"
assert_file_eq "$mp/.inspect/roots/$id/mountpoints" \
  "$(printf '/\t/dev/vg0/root\n/home\t/dev/vg0/home')"
check_lv home $((16 * 1048576))
grep -qP "^/dev/vg0/home\text4\t\Q$HOME_UUID\E\thome\t" "$mp/.inspect/filesystems" \
  || fail "/.inspect/filesystems lacks /dev/vg0/home: $(cat "$mp/.inspect/filesystems")"
assert_eq "lv devices in inspect.json" "/dev/vg0/home /dev/vg0/root" \
  "$(jq -r '[.devices[] | select(.type == "lv" and .parent == "vg0" and .opened) | .name] | sort | join(" ")' \
       "$mp/.inspect/inspect.json")"
[ -z "$(cat "$mp/.inspect/warnings")" ] \
  || fail "unexpected warnings: $(cat "$mp/.inspect/warnings")"
assert_erofs touch "$mp/home/newfile"
ngm_umount "$mp"
assert_no_leaks

# --all shows each LV.
ngm_mount -a "$img" -a "$img.disk2" --all "$mp"
ls "$mp" > "$tmp/all.ls"
[ -f "$mp/vg0-home/marker-home" ] && [ -f "$mp/vg0-root/marker-root" ] \
  || fail "--all does not show vg0-root and vg0-home: $(cat "$tmp/all.ls")"
assert_eq "sha256 of /vg0-home/big" "$(sed -n 's|^/home/big ||p' "$img.sha256")" \
  "$(sha256sum < "$mp/vg0-home/big" | cut -d' ' -f1)"
ngm_umount "$mp"
assert_no_leaks

# --- a PV missing: warning, the linear LV still mounts ----------------------
ngm_mount -a "$img" -i "$mp"
check_root
assert_file_eq "$mp/.inspect/roots/$id/mountpoints" "$(printf '/\t/dev/vg0/root')"
grep -q "vg0.*PV .*missing" "$mp/.inspect/warnings" \
  || fail "no warning about the missing PV: $(cat "$mp/.inspect/warnings")"
grep -q "/home" "$mp/.inspect/warnings" \
  || fail "no warning about /home: $(cat "$mp/.inspect/warnings")"
jq -e 'any(.devices[]; .name == "/dev/vg0/home" and .opened == false)' \
  "$mp/.inspect/inspect.json" > /dev/null \
  || fail "inspect.json does not list /dev/vg0/home as not opened: $(jq -c .devices "$mp/.inspect/inspect.json")"
[ ! -e "$mp/home/marker-home" ] || fail "/home/marker-home appeared without its PV"
ngm_umount "$mp"
assert_no_leaks
