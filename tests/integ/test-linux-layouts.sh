#!/bin/bash
# Linux guests in installer layouts (fixtures built at test time by
# make-layouts.sh): Ubuntu's btrfs root in subvolume @ with @home; a btrfs
# whose default subvolume is the root; a CoreOS-style merged /usr with
# os-release only in /usr/lib; separate /usr and /var partitions.
# Checks /.inspect (libguestfs's values and names: btrfs subvolumes are
# "btrfsvol:DEV/PATH", root id DEV-PATH) and files through the view.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires mkfs.btrfs btrfs mkfs.ext4 mkfs.xfs sfdisk unshare fusermount3 jq

mp=$tmp/mp

layout_image ()
{
  local img
  img=$(fixture make-layouts.sh "$1.img" "$1") || exit $?
  ngm_copy "$img" "$1.img"
}

# --- Ubuntu: / in subvol=@, /home in subvol=@home, top level not a root --
note "ubuntu-btrfs"
img=$(layout_image ubuntu-btrfs)
. "$img.env"
ngm_mount -a "$img" -i --ro "$mp"
assert_roots "$mp" "sda-@"
assert_eq "readlink /.inspect/root" "roots/sda-@" "$(readlink "$mp/.inspect/root")"
expect_os "sda-@" distro ubuntu
expect_os "sda-@" major_version 22
expect_os "sda-@" minor_version 4
expect_os "sda-@" product_name "Ubuntu 22.04.3 LTS"
expect_os "sda-@" hostname ubuntu-btrfs-guest
expect_os "sda-@" arch x86_64
expect_os "sda-@" osinfo ubuntu22.04
assert_file_eq "$mp/.inspect/roots/sda-@/mountpoints" \
  "$(printf '/\tbtrfsvol:/dev/sda/@\n/home\tbtrfsvol:/dev/sda/@home')"
assert_eq "json root" "btrfsvol:/dev/sda/@" \
  "$(jq -r '.operatingsystems[0].root' "$mp/.inspect/inspect.json")"
for dev in /dev/sda btrfsvol:/dev/sda/@ btrfsvol:/dev/sda/@home; do
  grep -qP "^\Q$dev\E\tbtrfs\t\Q$UUID\E\tubuntu\t" "$mp/.inspect/filesystems" \
    || fail "$dev not in /.inspect/filesystems: $(cat "$mp/.inspect/filesystems")"
done
assert_file_eq "$mp/marker-root" "$MARKER"
assert_file_eq "$mp/home/alice/marker-home" "$MARKER"
[ ! -e "$mp/top-level-only" ] || fail "/ is the btrfs top level, not subvol=@"
[ ! -e "$mp/home/top-level-only" ] || fail "/home is the btrfs top level"
[ ! -e "$mp/@" ] || fail "/ shows the subvolume directories"
grep -q '^ID=ubuntu$' "$mp/etc/os-release" || fail "/etc/os-release is not Ubuntu's"
ngm_umount "$mp"
assert_no_leaks

# -m with subvolume names (the "btrfsvol:" prefix has a colon of its own).
ngm_mount -a "$img" -m btrfsvol:/dev/sda/@:/ -m btrfsvol:/dev/sda/@home:/home "$mp"
assert_file_eq "$mp/marker-root" "$MARKER"
assert_file_eq "$mp/home/alice/marker-home" "$MARKER"
ngm_umount "$mp"
assert_no_leaks

# --- default subvolume "root": the device itself is the root --------------
note "default-subvol"
img=$(layout_image default-subvol)
. "$img.env"
ngm_mount -a "$img" -i --ro "$mp"
assert_roots "$mp" sda
expect_os sda distro debian
expect_os sda major_version 12
expect_os sda minor_version 4
# libguestfs: debian_version was read for the minor version, so its first
# line is the product name.
expect_os sda product_name 12.4
expect_os sda osinfo debian12
expect_os sda hostname default-subvol-guest
assert_file_eq "$mp/.inspect/roots/sda/mountpoints" \
  "$(printf '/\t/dev/sda\n/home\tbtrfsvol:/dev/sda/home')"
# The default subvolume is not listed twice.
grep -q '^btrfsvol:/dev/sda/root	' "$mp/.inspect/filesystems" \
  && fail "the default subvolume is listed as a subvolume too"
assert_file_eq "$mp/marker-root" "$MARKER"
assert_file_eq "$mp/home/bob/marker-home" "$MARKER"
[ ! -e "$mp/top-level-only" ] || fail "/ is the top level, not the default subvolume"
[ ! -e "$mp/home/top-level-only" ] || fail "/home is the top level"
ngm_umount "$mp"
assert_no_leaks

# --all shows the device (its default subvolume) and each other subvolume.
ngm_mount -a "$img" --all --ro "$mp"
assert_file_eq "$mp/sda/marker-root" "$MARKER"
assert_file_eq "$mp/sda-home/bob/marker-home" "$MARKER"
ngm_umount "$mp"
assert_no_leaks

# --- CoreOS-style merged /usr, os-release only in /usr/lib ----------------
note "usrmerge"
img=$(layout_image usrmerge)
. "$img.env"
ngm_mount -a "$img" -i --ro "$mp"
assert_roots "$mp" sda
expect_os sda distro fedora
expect_os sda major_version 39
expect_os sda minor_version 0
expect_os sda product_name "Fedora CoreOS 39.20231101.3.0"
expect_os sda osinfo fedora39
expect_os sda package_format rpm
expect_os sda arch x86_64
expect_os sda hostname coreos-guest
[ ! -e "$mp/etc/os-release" ] || fail "the fixture has an /etc/os-release"
assert_eq "readlink /lib" usr/lib "$(readlink "$mp/lib")"
assert_file_eq "$mp/lib/marker-usr" "$MARKER"
ngm_umount "$mp"
assert_no_leaks

# --- separate /usr and /var partitions -------------------------------------
note "split"
img=$(layout_image split)
. "$img.env"
ngm_mount -a "$img" -i --ro "$mp"
assert_roots "$mp" sda1
expect_os sda1 distro debian
expect_os sda1 major_version 12
expect_os sda1 minor_version 5
expect_os sda1 product_name 12.5
# Only /usr has a binary: arch comes from the /usr filesystem.
expect_os sda1 arch x86_64
expect_os sda1 osinfo debian12
expect_os sda1 hostname split-guest
assert_file_eq "$mp/.inspect/roots/sda1/mountpoints" \
  "$(printf '/\t/dev/sda1\n/usr\t/dev/sda2\n/var\t/dev/sda3')"
# The package database is read from the separate /var.
grep -qP '^layouts-marker\t1\t2\.3\t4\tall\t' "$mp/.inspect/roots/sda1/applications" \
  || fail "applications lacks layouts-marker: $(cat "$mp/.inspect/roots/sda1/applications")"
assert_file_eq "$mp/var/marker-var" "$MARKER"
grep -q '^ID=debian$' "$mp/etc/os-release" \
  || fail "/etc/os-release -> ../usr/lib/os-release does not reach /usr"
cmp -s "$mp/bin/bash" "$mp/usr/bin/bash" || fail "/bin/bash through /bin -> usr/bin differs"
ngm_umount "$mp"
assert_no_leaks

# --inspect-only agrees.
"$NGUESTMOUNT" --inspect-only -a "$img" > "$tmp/split.json" 2> "$tmp/split.err" \
  || fail "--inspect-only failed: $(cat "$tmp/split.err")"
assert_eq "--inspect-only" "debian|12|5|12.5|x86_64" \
  "$(jq -r '.operatingsystems[0] | [.distro, .major_version, .minor_version,
            .product_name, .arch] | map(tostring) | join("|")' "$tmp/split.json")"
assert_no_leaks
