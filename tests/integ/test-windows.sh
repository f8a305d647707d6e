#!/bin/bash
# Windows guests (tests/fixtures/make-windows.sh): NTFS through ntfs-3g and
# the EFI system partition through fusefat, each in a private mount
# namespace; /.inspect fields from the registry hives; drive letters by MBR
# signature + offset and by GPT partition GUID; inspect.xml validates;
# the view is read-only; nothing is left after unmounting, nor after
# kill -9 of the daemon.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires sfdisk fusermount3 xmllint python3 mkntfs ntfs-3g hivexregedit \
  mkfs.vfat mcopy fusefat qemu-img

rng=$top_srcdir/tests/virt-inspector.rng
mp=$tmp/mp

# The FUSE drivers nguestmount starts run outside "$tmp": count them.
drivers ()
{
  pgrep -x 'ntfs-3g|fusefat' | wc -l
}
drivers_before=$(drivers)

assert_drivers_gone ()
{
  local i
  for i in $(seq 1 50); do
    [ "$(drivers)" -le "$drivers_before" ] && break
    sleep 0.1
  done
  assert_eq "FUSE drivers left" "$drivers_before" "$(drivers)"
  # A driver stuck in D state would show here too.
  if ps -eo stat,comm | awk '$1 ~ /^D/ && $2 ~ /ntfs-3g|fusefat/' | grep -q .; then
    fail "a FUSE driver is stuck in D state"
  fi
}

check_windows ()
{
  local img=$1 r=$mp/.inspect/root
  # shellcheck disable=SC1090
  . "$img.env"
  assert_file_eq "$r/type" windows
  assert_file_eq "$r/distro" windows
  assert_file_eq "$r/product_name" "Windows 10 Pro"
  assert_file_eq "$r/product_variant" Client
  assert_file_eq "$r/major_version" 10
  assert_file_eq "$r/minor_version" 0
  assert_file_eq "$r/build_id" "$WIN_BUILD"
  assert_file_eq "$r/hostname" "$WIN_HOSTNAME"
  assert_file_eq "$r/windows_systemroot" /Windows
  assert_file_eq "$r/windows_current_control_set" ControlSet001
  assert_file_eq "$r/drive_mappings" "$WIN_DRIVES"
  assert_file_eq "$r/osinfo" "$WIN_OSINFO"
  assert_file_eq "$r/arch" "$WIN_ARCH"
  assert_file_eq "$r/package_format" unknown
  assert_file_eq "$r/mountpoints" "/	$WIN_ROOT"
  [ "$(readlink "$mp/.inspect/root")" = "roots/${WIN_ROOT#/dev/}" ] \
    || fail "root symlink: $(readlink "$mp/.inspect/root")"
  grep -q "^$WIN_ROOT	ntfs	$WIN_NTFS_UUID	Windows	" "$mp/.inspect/filesystems" \
    || fail "filesystems: $(cat "$mp/.inspect/filesystems")"

  # Files through the view (a space and non-ASCII in names).
  assert_sha256s "$mp" "$img.sha256"
  [ -f "$mp/Windows/System32/config/SOFTWARE" ] || fail "no SOFTWARE hive in the view"

  local xml=$mp/.inspect/inspect.xml
  xmllint --noout --relaxng "$rng" "$xml" 2> "$tmp/xmllint.err" \
    || fail "inspect.xml does not validate: $(cat "$tmp/xmllint.err")"
  local os=/operatingsystems/operatingsystem
  assert_eq "xml name" windows "$(xmllint --xpath "string($os/name)" "$xml")"
  assert_eq "xml osinfo" "$WIN_OSINFO" "$(xmllint --xpath "string($os/osinfo)" "$xml")"
  assert_eq "xml C:" "$WIN_ROOT" \
    "$(xmllint --xpath "string($os/drive_mappings/drive_mapping[@name='C'])" "$xml")"

  check_applications "$r" "$xml"

  # Read-only.
  assert_erofs touch "$mp/new-file"
  assert_erofs mkdir "$mp/Windows/new-dir"
  assert_erofs sh -c "echo x >> '$mp/boot.ini'"
  # The driver's mount is nowhere in the host's mount table.
  if grep -qE ' - fuse(blk)? ' /proc/self/mountinfo \
       && grep -E ' - fuse(blk)? ' /proc/self/mountinfo | grep -q '/dev/loop'; then
    fail "a guest FUSE mount is visible on the host"
  fi
}

# The Uninstall entries make-windows.sh writes, both views: sorted by key
# name; no KB5034441 (no DisplayName), UnreadableName and DwordName
# skipped with a warning; control characters shown as '?', the long key
# name cut at 32 KiB.
check_applications ()
{
  local r=$1 xml=$2 k32 gen='{5B8A3C1E-0A2F-4E6B-9C1D-7F3E2A1B4C5D}'
  k32=$(printf 'K%.0s' $(seq 1 32768))
  assert_file_eq "$r/applications" "$(printf '%s\n' \
    $'name\tepoch\tversion\trelease\tarch\turl\tsource_package\tsummary\tdescription' \
    $'7-Zip\t0\t23.01\t\t\thttps://www.7-zip.org/\t\t\t' \
    $'7-Zip\t0\t9.20\t\t\t\t\t\t' \
    $'BrokenPublisher\t0\t\t\t\t\t\t\tOd' \
    $'EmptyDisplay\t0\t2\t\t\t\t\t\t' \
    $'Evil?Key?Name\t0\t1.0\t\t\t\t\t\t' \
    "$k32"$'\t0\t\t\t\t\t\t\t' \
    $'Notepad++\t0\t8.6.2\t\t\thttps://notepad-plus-plus.org/\t\t\t' \
    "$gen"$'\t0\t14.38.33130\t\t\t\t\t\tFirst line\\nsecond?line?[31m')"
  grep -q "^/dev/sda[12]: 2 application entries skipped" "$mp/.inspect/warnings" \
    || fail "no warning for the unreadable entries: $(cat "$mp/.inspect/warnings")"

  # applications.json: every field of libguestfs's application2.
  python3 - "$r/applications.json" "$gen" <<'PY' || fail "applications.json"
import json, sys
apps = json.load(open(sys.argv[1]))
fields = {'name', 'display_name', 'epoch', 'version', 'release', 'arch',
          'install_path', 'publisher', 'url', 'source_package', 'summary',
          'description'}
assert all(set(a) == fields for a in apps), apps[0].keys()
by = {}
for a in apps:
    by.setdefault(a['name'], []).append(a)
assert [a['version'] for a in by['7-Zip']] == ['23.01', '9.20'], by['7-Zip']
z = by['7-Zip'][0]
assert z['display_name'] == '7-Zip 23.01 (x64)', z
assert z['publisher'] == 'Igor Pavlov', z
assert z['install_path'] == 'C:\\Program Files\\7-Zip\\', z
assert z['url'] == 'https://www.7-zip.org/', z
assert z['epoch'] == 0 and z['release'] == '' and z['arch'] == '', z
n = by['Notepad++'][0]
assert n['display_name'] == 'Notepad++ (32-bit x86)', n
assert n['install_path'] == 'C:\\Program Files (x86)\\Notepad++', n
assert n['publisher'] == 'Notepad++ Team', n
g = by[sys.argv[2]][0]
assert g['display_name'] == 'Microsoft Visual C++ 2022 X64 Runtime', g
assert g['publisher'] == 'Microsoft Corporation', g
assert g['description'] == 'First line\nsecond?line?[31m', g
e = by['Evil?Key?Name'][0]
assert e['display_name'] == 'Bell? and?newline' and e['version'] == '1.0', e
b = by['BrokenPublisher'][0]
assert b['publisher'] == '' and b['description'] == 'Od', b
assert by['EmptyDisplay'][0]['display_name'] == ''
k = by['K' * 32768][0]
assert k['publisher'] == 'Long Corp', k
assert len(k['display_name']) == 32768, len(k['display_name'])
assert set(k['display_name']) == {'D', '?'}, set(k['display_name'])
assert k['display_name'][1000] == '?'
for skipped in ('KB5034441', 'UnreadableName', 'DwordName'):
    assert skipped not in by, skipped
assert len(apps) == 8, len(apps)
PY

  # inspect.xml: the same list, empty fields left out.
  local apps=/operatingsystems/operatingsystem/applications
  assert_eq "xml applications" 8 \
    "$(xmllint --xpath "count($apps/application)" "$xml")"
  assert_eq "xml Notepad++ install_path" 'C:\Program Files (x86)\Notepad++' \
    "$(xmllint --xpath "string($apps/application[name='Notepad++']/install_path)" "$xml")"
  assert_eq "xml Notepad++ publisher" 'Notepad++ Team' \
    "$(xmllint --xpath "string($apps/application[name='Notepad++']/publisher)" "$xml")"
  assert_eq "xml 7-Zip versions" '23.01 9.20' \
    "$(xmllint --xpath "$apps/application[name='7-Zip']/version/text()" "$xml" | tr '\n' ' ' | sed 's/ $//')"
  assert_eq "xml display_name" 'Microsoft Visual C++ 2022 X64 Runtime' \
    "$(xmllint --xpath "string($apps/application[name='$gen']/display_name)" "$xml")"
  assert_eq "xml empty display_name left out" 0 \
    "$(xmllint --xpath "count($apps/application[name='EmptyDisplay']/display_name)" "$xml")"
}

# sha256 lines are "path<TAB>sum".
assert_sha256s ()
{
  local path sum got
  while IFS=$'\t' read -r path sum; do
    got=$(sha256sum < "$1$path" | cut -d' ' -f1) || fail "cannot read $1$path"
    assert_eq "sha256 of $path" "$sum" "$got"
  done < "$2"
}

# 1. MBR, raw: C: by disk signature and offset.
img=$(fixture make-windows.sh win-mbr.img --table mbr) || exit $?
img=$(ngm_copy "$img" win-mbr.img)
ngm_mount --format=raw -a "$img" -i --ro "$mp"
check_windows "$img"
ngm_umount "$mp"
assert_no_leaks
assert_drivers_gone

# 2. GPT, qcow2 (through qemu-nbd and the block export): C: by partition
# GUID, the ESP (FAT, fusefat) as S:.
img=$(fixture make-windows.sh win-gpt.qcow2 --table gpt --format qcow2) || exit $?
img=$(ngm_copy "$img" win-gpt.qcow2)
ngm_mount -a "$img" -i --ro "$mp"
check_windows "$img"
ngm_umount "$mp"
assert_no_leaks
assert_drivers_gone

ngm_mount -a "$img" --all --ro "$mp"
grep -q "WIN-" "$mp/sda1/EFI/Microsoft/Boot/BCD" || fail "ESP file not readable"
assert_file_eq "$mp/sda2/boot.ini" "[boot loader]"

# 3. kill -9 of the daemon with files open on both drivers' mounts:
# nothing may be left (no driver in D state, no loop device, no mount).
exec 8< "$mp/sda2/Program Files/App/data.bin"
exec 7< "$mp/sda1/EFI/Microsoft/Boot/BCD"
kill -KILL "$(cat "$tmp/pid")"
exec 8<&- 7<&-
for i in $(seq 1 100); do
  ngm_is_mounted "$mp" || break
  sleep 0.1
done
ngm_is_mounted "$mp" && fail "$mp still mounted after kill -9"
rm -f "$tmp/pid"
assert_no_leaks
assert_drivers_gone
exit 0
