#!/bin/bash
# Mount the sample guest with nguestmount, show what it serves, unmount.
#
#   contrib/demo.sh [IMAGE]
#
# IMAGE defaults to _build/sample.qcow2, made by contrib/make-sample-image.sh
# when missing.  NGUESTMOUNT names the binary (default _build/nguestmount).
# Needs root.  Exits non-zero if any step fails; leaves nothing mounted.

set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NGUESTMOUNT=${NGUESTMOUNT:-$srcdir/_build/nguestmount}
image=${1:-$srcdir/_build/sample.qcow2}

die () { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
heading () { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] || heading () { printf '\n== %s\n' "$*"; }

[ "$(id -u)" = 0 ] || die "run as root (nguestmount uses loop devices and private mounts)"
[ -x "$NGUESTMOUNT" ] || die "$NGUESTMOUNT not found: build first (./contrib/setup.sh build)"
command -v fusermount3 >/dev/null || die "fusermount3 not found (apt-get install fuse3)"

if [ ! -e "$image" ]; then
  heading "Creating the sample guest image"
  bash "$srcdir/contrib/make-sample-image.sh" "$image"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nguestmount-demo.XXXXXX")
mp=$work/mnt
pidfile=$work/nguestmount.pid
mkdir "$mp"

cleanup ()
{
  if mountpoint -q "$mp" 2>/dev/null; then
    fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
  fi
  for _ in $(seq 50); do
    [ -e "$pidfile" ] || break
    sleep 0.1
  done
  rmdir "$mp" 2>/dev/null || true
  rm -f "$pidfile" "$work/err"
  rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT

heading "Mounting $image read-only on $mp"
echo "\$ nguestmount --ro -i -a $image --pid-file $pidfile $mp"
t0=$(date +%s.%N)
"$NGUESTMOUNT" --ro -i -a "$image" --pid-file "$pidfile" "$mp"
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v pid="$(cat "$pidfile")" \
  'BEGIN { printf "ready in %.3f s, daemon pid %s\n", b - a, pid }'

heading "ls -l /"
ls -l "$mp"

heading "/etc/os-release"
cat "$mp/etc/os-release"

heading "/etc/fstab"
cat "$mp/etc/fstab"

heading "ls -l /boot   (another filesystem, placed by the guest's fstab)"
ls -l "$mp/boot"

heading "/home/user/README.txt"
cat "$mp/home/user/README.txt"

heading "/.inspect"
ls -l "$mp/.inspect"
echo
echo "roots: $(tr '\n' ' ' < "$mp/.inspect/roots")"
echo "root -> $(readlink "$mp/.inspect/root")"
for f in type distro product_name major_version minor_version arch hostname \
         package_format package_management osinfo; do
  printf '  %-19s %s\n' "$f" "$(cat "$mp/.inspect/root/$f")"
done

heading "/.inspect/root/mountpoints"
cat "$mp/.inspect/root/mountpoints"

heading "/.inspect/filesystems"
cat "$mp/.inspect/filesystems"

heading "/.inspect/inspect.json"
if command -v jq >/dev/null; then
  jq . "$mp/.inspect/inspect.json"
else
  python3 -m json.tool "$mp/.inspect/inspect.json"
fi

heading "A write is refused"
if touch "$mp/home/user/new-file" 2>"$work/err"; then
  die "a write succeeded on a read-only mount"
fi
cat "$work/err"

heading "Unmounting: fusermount3 -u $mp"
pid=$(cat "$pidfile")
fusermount3 -u "$mp"
for _ in $(seq 100); do
  [ -e "$pidfile" ] || break
  sleep 0.1
done
[ ! -e "$pidfile" ] || die "the pid file is still there 10 s after the unmount"
# The pid file goes once everything is released; the process exits right
# after it.
for _ in $(seq 50); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
! kill -0 "$pid" 2>/dev/null || die "daemon $pid is still running 5 s after its pid file was removed"
! mountpoint -q "$mp" || die "$mp is still a mount point"
echo "unmounted; daemon $pid has exited and removed its pid file"
