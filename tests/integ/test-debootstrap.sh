#!/bin/bash
# A real Debian bookworm tree (debootstrap minbase) on ext4 in a GPT qcow2.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires debootstrap wget qemu-img sfdisk mkfs.ext4 fusermount3 jq

mp=$tmp/mp
rc=0
tarball=$("$fixtures/debootstrap.sh") || rc=$?
[ $rc -eq 3 ] && skip "the Debian mirror is unreachable"
[ $rc -eq 0 ] || hard_error "debootstrap.sh failed ($rc)"
img=$(fixture make-tarball-disk.sh bookworm.qcow2 "$tarball") || exit $?
img=$(ngm_copy "$img" bookworm.qcow2) || exit $?

ngm_mount -a "$img" -i --ro "$mp"
assert_roots "$mp" sda1
expect_os sda1 type linux
expect_os sda1 distro debian
expect_os sda1 major_version 12
ver=$(cat "$mp/etc/debian_version") || fail "cannot read /etc/debian_version"
[[ $ver =~ ^12\.([0-9]+)$ ]] || fail "unexpected /etc/debian_version '$ver'"
expect_os sda1 minor_version "${BASH_REMATCH[1]}"
assert_eq "debian_version sha256" "$(cat "$img.debian_version.sha256")" \
  "$(sha256sum < "$mp/etc/debian_version" | cut -d' ' -f1)"
# libguestfs: os-release has only "12", so /etc/debian_version is read and
# its first line becomes the product name.
expect_os sda1 product_name "$ver"
expect_os sda1 arch x86_64
expect_os sda1 package_format deb
expect_os sda1 package_management apt
expect_os sda1 osinfo debian12
expect_os sda1 hostname bookworm-guest
assert_eq "inspect.json distro" debian \
  "$(jq -r '.operatingsystems[0].distro' "$mp/.inspect/inspect.json")"
# A real tree: programs and the package database are there.
cmp -s "$mp/usr/bin/dpkg" <(tar -xzOf "$tarball" ./usr/bin/dpkg) \
  || fail "/usr/bin/dpkg differs from the tarball's"
grep -q '^Package: base-files$' "$mp/var/lib/dpkg/status" || fail "no dpkg status"
ngm_umount "$mp"
assert_no_leaks
