#!/bin/bash
# LUKS: a GPT guest whose root ext4 is inside a LUKS container on sda2
# (/boot plain ext4 on sda1), opened in userspace with every key source;
# wrong and missing keys; the passphrase never shows in any process's
# command line nor in /.inspect; LUKS1, 4096-byte sectors, qcow2.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires cryptsetup pvcreate qemu-img sfdisk mkfs.ext4 python3 fusermount3 jq setsid

mp=$tmp/mp

# stack_image KIND [FORMAT]: a private copy of a make-stack-guest.sh guest.
stack_image ()
{
  local img
  img=$(fixture make-stack-guest.sh "$1.${2:-raw}" "$1" "${2:-raw}") || exit $?
  ngm_copy "$img" "$1.${2:-raw}"
}

# The passphrase must not appear in the command line of any process (the
# pattern comes from a file: a grep given it as an argument would match
# itself) nor in any file of /.inspect.
check_no_secret ()
{
  local pid=$1 f
  printf '%s\n' "$PASSPHRASE" > "$tmp/secret"
  ps -o args= -p "$pid" > "$tmp/ps.out" || fail "ps -p $pid failed"
  grep -qF -f "$tmp/secret" "$tmp/ps.out" \
    && fail "the passphrase is in ps -o args of the daemon: $(cat "$tmp/ps.out")"
  for f in /proc/[0-9]*/cmdline; do
    cat "$f" 2>/dev/null | tr '\0' ' ' | grep -qF -f "$tmp/secret" \
      && fail "the passphrase is in $f: $(tr '\0' ' ' < "$f")"
  done
  grep -rqF -f "$tmp/secret" "$mp/.inspect" \
    && fail "the passphrase is somewhere under /.inspect: $(grep -rlF -f "$tmp/secret" "$mp/.inspect")"
  return 0
}

# check_view IMG: the -i view of a LUKS guest.
check_view ()
{
  local img=$1 id plain
  . "$img.env"
  plain=/dev/mapper/luks-$LUKS_UUID
  id=mapper-luks--${LUKS_UUID//-/--}
  assert_sha256 "$mp" "$img.sha256"
  assert_roots "$mp" "$id"
  assert_file_eq "$mp/.inspect/root/distro" debian
  assert_file_eq "$mp/.inspect/root/major_version" 12
  assert_file_eq "$mp/.inspect/root/hostname" "$HOSTNAME"
  assert_file_eq "$mp/.inspect/roots/$id/mountpoints" \
    "$(printf '/\t%s\n/boot\t/dev/sda1' "$plain")"
  grep -qP "^\Q$plain\E\tluks\t[0-9]+\t/dev/sda2\t\Q$LUKS_UUID\E\$" \
    "$mp/.inspect/devices" \
    || fail "/.inspect/devices lacks the LUKS layer: $(cat "$mp/.inspect/devices")"
  jq -e --arg n "$plain" --arg u "$LUKS_UUID" \
    'any(.devices[]; .name == $n and .type == "luks" and .parent == "/dev/sda2"
                     and .uuid == $u and .opened == true)' \
    "$mp/.inspect/inspect.json" > /dev/null \
    || fail "inspect.json devices lacks $plain: $(jq -c .devices "$mp/.inspect/inspect.json")"
  grep -qP "^\Q$plain\E\text4\t\Q$ROOT_UUID\E\troot\t" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks the decrypted root: $(cat "$mp/.inspect/filesystems")"
  grep -qP "^/dev/sda2\tcrypto_LUKS\t\Q$LUKS_UUID\E\t" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks the container: $(cat "$mp/.inspect/filesystems")"
  assert_erofs touch "$mp/newfile"
  check_no_secret "$(cat "$tmp/pid")"
}

# --- LUKS2, every way of giving the key ------------------------------------
img=$(stack_image luks2) || exit $?
. "$img.env"

ngm_mount -a "$img" -i --key "/dev/sda2:key:$PASSPHRASE" "$mp"
check_view "$img"
ngm_umount "$mp"
assert_no_leaks

ngm_mount -a "$img" -i --key "all:key:$PASSPHRASE" "$mp"
check_view "$img"
ngm_umount "$mp"

ngm_mount -a "$img" -i --key "$LUKS_UUID:key:$PASSPHRASE" "$mp"
check_view "$img"
ngm_umount "$mp"

# A binary key file (second keyslot); a wrong --key before it is tried and
# skipped.
ngm_mount -a "$img" -i --key "/dev/sda2:file:$img.keyfile" "$mp"
check_view "$img"
ngm_umount "$mp"

printf 'not it\n%s\n' "$PASSPHRASE" > "$tmp/keys"
ngm_mount -a "$img" -i --keys-from-stdin "$mp" < "$tmp/keys"
check_view "$img"
ngm_umount "$mp"
assert_no_leaks

# --- wrong and missing keys ------------------------------------------------
expect_fail "wrong passphrase for /dev/sda2" \
  ngm -a "$img" -i --key /dev/sda2:key:wrong "$mp"
grep -qx 'nguestmount: error: wrong passphrase for /dev/sda2' "$tmp/fail.err" \
  || fail "not the exact error: $(cat "$tmp/fail.err")"
expect_fail "wrong passphrase for /dev/sda2" \
  ngm -a "$img" -i --key "/dev/sda2:file:$img.env" "$mp"
# No key and no terminal to ask on: the error names the device.
expect_fail "/dev/sda2" setsid -w env TMPDIR="$tmp/tmpdir" \
  timeout -k 10 "$NGM_TIMEOUT" "$NGUESTMOUNT" -a "$img" -i "$mp" < /dev/null
grep -q 'key' "$tmp/fail.err" || fail "the error does not say a key is missing: $(cat "$tmp/fail.err")"

# --- LUKS1, 4096-byte sectors, qcow2 (the block export path) ---------------
for v in "luks1 raw" "luks2-4k raw" "luks2 qcow2"; do
  set -- $v
  img=$(stack_image "$1" "$2") || exit $?
  . "$img.env"
  ngm_mount -a "$img" -i --key "/dev/sda2:key:$PASSPHRASE" "$mp"
  check_view "$img"
  ngm_umount "$mp"
  assert_no_leaks
  [ "$1" = luks1 ] || continue
  # LUKS1's key file keyslot too.
  ngm_mount -a "$img" -i --key "/dev/sda2:file:$img.keyfile" "$mp"
  check_view "$img"
  ngm_umount "$mp"
  assert_no_leaks
done
