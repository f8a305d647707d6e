#!/bin/bash
# /.inspect/inspect.xml (validated against virt-inspector.rng with xmllint)
# and the applications lists (TSV and JSON) of guests with dpkg, rpm
# (sqlite rpmdb; needs rpmbuild), apk and pacman databases
# (tests/fixtures/make-apps.sh).
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires mkfs.ext4 sfdisk fusermount3 jq xmllint

rng=$top_srcdir/tests/virt-inspector.rng
[ -r "$rng" ] || hard_error "$rng is missing"
mp=$tmp/mp

distros="debian alpine arch"
if command -v rpmbuild >/dev/null && command -v rpm >/dev/null; then
  distros="$distros fedora"
else
  note "rpmbuild not installed (apt-get install rpm): the rpm guest is skipped"
fi

# x XPATH: the string value of XPATH in the mounted inspect.xml.
x ()
{
  xmllint --xpath "string($1)" "$mp/.inspect/inspect.xml"
}

xcount ()
{
  xmllint --xpath "count($1)" "$mp/.inspect/inspect.xml"
}

os=/operatingsystems/operatingsystem
for distro in $distros; do
  note "$distro"
  img=$(fixture make-apps.sh "apps-$distro.img" "$distro") || exit $?
  img=$(ngm_copy "$img" "apps-$distro.img")
  . "$img.env"
  ngm_mount --format=raw -a "$img" -i --ro "$mp"

  xml=$mp/.inspect/inspect.xml
  [ -s "$xml" ] || fail "$xml is missing or empty"
  xmllint --noout --relaxng "$rng" "$xml" 2> "$tmp/xmllint.err" \
    || fail "inspect.xml does not validate: $(cat "$tmp/xmllint.err")"

  # The OS fields as virt-inspector writes them.
  assert_eq "root" /dev/sda2 "$(x "$os/root")"
  assert_eq "name" linux "$(x "$os/name")"
  assert_eq "hostname" "$distro-apps" "$(x "$os/hostname")"
  assert_eq "arch" x86_64 "$(x "$os/arch")"
  assert_eq "distro" "$(cat "$mp/.inspect/root/distro")" "$(x "$os/distro")"
  assert_eq "major_version" "$(cat "$mp/.inspect/root/major_version")" \
    "$(x "$os/major_version")"
  assert_eq "build_id absent" 0 "$(xcount "$os/build_id")"
  assert_eq "mountpoints" "/ /dev/sda2|/boot /dev/sda1" \
    "$(x "concat($os/mountpoints/mountpoint[1], ' ', $os/mountpoints/mountpoint[1]/@dev,
               '|', $os/mountpoints/mountpoint[2], ' ', $os/mountpoints/mountpoint[2]/@dev)")"
  assert_eq "filesystems" 3 "$(xcount "$os/filesystems/filesystem")"
  assert_eq "boot fs" "/dev/sda1 ext4 boot $BOOT_UUID" \
    "$(x "concat($os/filesystems/filesystem[1]/@dev, ' ',
               $os/filesystems/filesystem[1]/type, ' ',
               $os/filesystems/filesystem[1]/label, ' ',
               $os/filesystems/filesystem[1]/uuid)")"
  assert_eq "root fs uuid" "$ROOT_UUID" "$(x "$os/filesystems/filesystem[2]/uuid")"
  assert_eq "swap fs" "/dev/sda3 swap $SWAP_UUID" \
    "$(x "concat($os/filesystems/filesystem[3]/@dev, ' ',
               $os/filesystems/filesystem[3]/type, ' ',
               $os/filesystems/filesystem[3]/uuid)")"

  # The applications: XML, TSV and JSON say the same.
  tsv=$mp/.inspect/root/applications
  json=$mp/.inspect/root/applications.json
  assert_eq "TSV header" \
    "$(printf 'name\tepoch\tversion\trelease\tarch\turl\tsource_package\tsummary\tdescription')" \
    "$(head -n1 "$tsv")"
  n=$(($(wc -l < "$tsv") - 1))
  assert_eq "JSON count" "$n" "$(jq length "$json")"
  assert_eq "XML count" "$n" "$(xcount "$os/applications/application")"
  awk -F'\t' 'NF != 9 { exit 1 }' "$tsv" || fail "a TSV line has not 9 columns"
  assert_eq "sorted" "$(tail -n +2 "$tsv" | cut -f1 | LC_ALL=C sort)" \
    "$(tail -n +2 "$tsv" | cut -f1)"
  assert_eq "XML names" "$(tail -n +2 "$tsv" | cut -f1 | tr '\n' ' ')" \
    "$(xmllint --xpath "$os/applications/application/name/text()" "$xml" \
         | tr '\n' ' ')"
  # name epoch version release arch, TSV lines 2..
  got=$(tail -n +2 "$tsv" | cut -f1-5 | tr '\t' ' ')
  case $distro in
    debian)
      want=$(printf '%s\n' "adduser 0 3.134  all" "dbus 1 1.14.10 1~deb12u1 amd64" \
               "evil?pkg 0 2.0 1 amd64" "libc6 0 2.36 9+deb12u4 amd64")
      assert_eq "libc6 source" glibc "$(jq -r '.[] | select(.name == "libc6") | .source_package' "$json")"
      assert_eq "libc6 url" https://www.gnu.org/software/libc/libc.html \
        "$(x "$os/applications/application[name='libc6']/url")"
      assert_eq "adduser description" \
        "$(printf "This package includes the 'adduser' and 'deluser' commands.\n.\nSecond paragraph.")" \
        "$(jq -r '.[] | select(.name == "adduser") | .description' "$json")"
      assert_eq "adduser description (TSV)" \
        "This package includes the 'adduser' and 'deluser' commands.\\n.\\nSecond paragraph." \
        "$(awk -F'\t' '$1 == "adduser" { print $9 }' "$tsv")"
      assert_eq "markup survives" "tab?here <b>&amp;</b>" \
        "$(x "$os/applications/application[version='2.0']/summary")"
      assert_eq "dbus epoch" 1 "$(x "$os/applications/application[name='dbus']/epoch")"
      assert_eq "no epoch 0" 0 "$(xcount "$os/applications/application[name='libc6']/epoch")"
      ;;
    fedora)
      want=$(printf '%s\n' "bash 0 5.2.26 3.fc40 noarch" "dbus 1 1.14.10 1.fc40 noarch" \
               "zlib-ng 0 2.1.6 2.fc40 noarch")
      assert_eq "rpm summary" "The dbus test package" \
        "$(x "$os/applications/application[name='dbus']/summary")"
      assert_eq "rpm description" "$(printf 'The bash package.\nSecond line.')" \
        "$(jq -r '.[0].description' "$json")"
      assert_eq "rpm url" https://example.org/zlib-ng "$(jq -r '.[2].url' "$json")"
      ;;
    alpine)
      want=$(printf '%s\n' "busybox 0 1.36.1 15 x86_64" "musl 0 1.2.4_git20230717 4 x86_64")
      assert_eq "apk origin" musl "$(jq -r '.[1].source_package' "$json")"
      assert_eq "apk T:" "Size optimized toolbox of many common UNIX utilities" \
        "$(x "$os/applications/application[1]/description")"
      ;;
    arch)
      want=$(printf '%s\n' "bash 0 5.2.026 2 x86_64" "linux 0 6.8.1.arch1 1 x86_64")
      assert_eq "pacman url" https://github.com/archlinux/linux "$(jq -r '.[1].url' "$json")"
      ;;
  esac
  assert_eq "$distro applications" "$want" "$got"

  # inspect.xml is stable: reading it twice gives the same bytes.
  cmp -s "$xml" <(cat "$xml") || fail "inspect.xml changes between reads"
  ngm_umount "$mp"
  assert_no_leaks
done
