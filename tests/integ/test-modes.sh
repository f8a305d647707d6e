#!/bin/bash
# View modes: -m placements, --all, the default choice, --root.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap fusermount3

mp=$tmp/mp
img=$(guest_image gpt raw) || exit $?
. "$img.env"
sha () { sha256sum < "$1" | cut -d' ' -f1; }
want () { awk -v p="$1" '$1 == p { print $2 }' "$img.sha256"; }

# -m: only what is asked for, where it is asked.
ngm_mount -a "$img" -m /dev/sda2:/ -m /dev/sda1:/boot "$mp"
assert_eq /marker-root "$(want /marker-root)" "$(sha "$mp/marker-root")"
assert_eq /boot/marker-boot "$(want /boot/marker-boot)" "$(sha "$mp/boot/marker-boot")"
[ -d "$mp/home" ] || fail "/home (an empty directory of /) is missing"
[ -z "$(ls -A "$mp/home")" ] || fail "/home is not empty although not mounted"
ngm_umount "$mp"
assert_no_leaks

# -m with options and type: the @home subvolume, at a new path.
ngm_mount -a "$img" -m /dev/sda3:/:subvol=@home:btrfs "$mp"
assert_eq "subvol=@home" "$(want /home/marker-home)" "$(sha "$mp/marker-home")"
[ ! -e "$mp/top-level-only" ] || fail "subvol=@home ignored"
ngm_umount "$mp"
assert_no_leaks

# --all: every mountable filesystem under /<root-id>/, swap not mounted.
ngm_mount -a "$img" --all "$mp"
assert_eq "--all entries" "sda1 sda2 sda3 sda3-@home" \
  "$(ls "$mp" | grep -v '^\.inspect$' | tr '\n' ' ' | sed 's/ $//')"
assert_eq /sda1/marker-boot "$(want /boot/marker-boot)" "$(sha "$mp/sda1/marker-boot")"
assert_eq /sda2/marker-root "$(want /marker-root)" "$(sha "$mp/sda2/marker-root")"
assert_eq /sda3/@home/marker-home "$(want /home/marker-home)" "$(sha "$mp/sda3/@home/marker-home")"
[ -f "$mp/sda3/top-level-only" ] || fail "/sda3 is not the btrfs top level"
assert_roots "$mp" sda2
ngm_umount "$mp"
assert_no_leaks

# Default (none of -i/-m/--all) with an OS: -i and a one-line note.
ngm_mount -a "$img" "$mp"
assert_eq "notes" 1 "$(grep -c '^nguestmount: ' "$tmp/ngm.err")"
grep -q '^nguestmount: error' "$tmp/ngm.err" && fail "error printed on success"
assert_eq /boot/marker-boot "$(want /boot/marker-boot)" "$(sha "$mp/boot/marker-boot")"
assert_eq /home/marker-home "$(want /home/marker-home)" "$(sha "$mp/home/marker-home")"
ngm_umount "$mp"
assert_no_leaks

# --root with a known id, then an unknown one.
ngm_mount -a "$img" -i --root sda2 "$mp"
assert_eq "readlink /.inspect/root" roots/sda2 "$(readlink "$mp/.inspect/root")"
ngm_umount "$mp"
assert_no_leaks
expect_fail "no operating system with root id 'sda9' (found: sda2)" \
  ngm --pid-file "$tmp/pid" -a "$img" -i --root sda9 "$mp"

# Default without an OS: --all with a note.  A whole-disk filesystem is
# /sda/.
mkdir -p "$tmp/data"
echo "just data" > "$tmp/data/readme"
truncate -s 16M "$tmp/data.img"
mkfs.ext4 -q -F -d "$tmp/data" "$tmp/data.img"
ngm_mount -a "$tmp/data.img" "$mp"
assert_eq "notes" 1 "$(grep -c '^nguestmount: ' "$tmp/ngm.err")"
assert_eq /sda/readme "just data" "$(cat "$mp/sda/readme")"
ngm_umount "$mp"
assert_no_leaks

# A multi-boot guest: two whole-disk roots.  The first by default (with a
# note), the other with --root.
fedora=$(distro_image fedora) || exit $?
debian=$(distro_image debian) || exit $?
ngm_mount -a "$fedora" -a "$debian" -i "$mp"
grep -q '^nguestmount: ' "$tmp/ngm.err" || fail "no note about the chosen root"
assert_roots "$mp" "$(printf 'sda\nsdb')"
assert_eq "readlink /.inspect/root" roots/sda "$(readlink "$mp/.inspect/root")"
grep -q '^ID=fedora$' "$mp/etc/os-release" || fail "default root is not sda"
assert_file_eq "$mp/.inspect/roots/sdb/distro" debian
ngm_umount "$mp"
assert_no_leaks
ngm_mount -a "$fedora" -a "$debian" --root sdb "$mp"
assert_eq "readlink /.inspect/root" roots/sdb "$(readlink "$mp/.inspect/root")"
grep -q '^ID=debian$' "$mp/etc/os-release" || fail "--root sdb not shown"
ngm_umount "$mp"
assert_no_leaks
expect_fail "no operating system with root id 'sdc' (found: sda sdb)" \
  ngm -a "$fedora" -a "$debian" --root sdc "$mp"
