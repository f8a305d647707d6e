#!/bin/bash
# Inspection of eight distributions (minimal roots with their real
# os-release and release files, one of them aarch64).
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires mkfs.ext4 fusermount3 jq

mp=$tmp/mp
# distro arch | distro major minor package_format package_management osinfo
# ("-": no agreed value) | product_name
while IFS='|' read -r name arch fields product; do
  [ -n "$name" ] || continue
  read -r distro major minor pkgfmt pkgmgmt osinfo <<< "$fields"
  note "$name ($arch)"
  img=$(distro_image "$name" "$arch") || exit $?
  ngm_mount -a "$img" -i --ro "$mp"
  assert_roots "$mp" sda
  expect_os sda type linux
  expect_os sda distro "$distro"
  expect_os sda major_version "$major"
  expect_os sda minor_version "$minor"
  expect_os sda package_format "$pkgfmt"
  expect_os sda package_management "$pkgmgmt"
  [ "$osinfo" = - ] || expect_os sda osinfo "$osinfo"
  expect_os sda product_name "$product"
  expect_os sda hostname "$name-guest"
  expect_os sda arch "$arch"
  assert_file_eq "$mp/.inspect/roots/sda/mountpoints" "$(printf '/\t/dev/sda')"
  assert_eq "inspect.json" "1|$distro|$major|$minor|$arch|$product|$name-guest" \
    "$(jq -r '[.version, (.operatingsystems[0] | .distro, .major_version,
               .minor_version, .arch, .product_name, .hostname)]
              | map(tostring) | join("|")' "$mp/.inspect/inspect.json")"
  ngm_umount "$mp"
  assert_no_leaks
  rm -f "$img"
done <<'EOT'
fedora|x86_64|fedora 39 0 rpm dnf fedora39|Fedora Linux 39 (Thirty Nine)
rhel|x86_64|rhel 9 3 rpm dnf rhel9.3|Red Hat Enterprise Linux 9.3 (Plow)
ubuntu|x86_64|ubuntu 22 4 deb apt ubuntu22.04|Ubuntu 22.04.3 LTS
debian|x86_64|debian 12 4 deb apt debian12|12.4
alpine|aarch64|alpinelinux 3 19 apk apk -|Alpine Linux v3.19
arch|x86_64|archlinux 0 0 pacman pacman archlinux|Arch Linux
opensuse|x86_64|opensuse 15 5 rpm zypper -|openSUSE Leap 15.5
rocky|x86_64|rocky 9 3 rpm dnf -|Rocky Linux 9.3 (Blue Onyx)
EOT
