#!/bin/bash
# Daemon lifetime: readiness (--fd, --pid-file), every way to unmount or
# stop it, --no-fork, and kill -9 (the watchdog releases the mountpoint).
# A qcow2 image, so that a qemu-nbd child is involved.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap fusermount3

mp=$tmp/mp
img=$(guest_image gpt qcow2) || exit $?
marker=$(awk '$1 == "/boot/marker-boot" { print $2 }' "$img.sha256")
served ()
{
  assert_eq "marker through the view" "$marker" \
    "$(sha256sum < "$mp/boot/marker-boot" | cut -d' ' -f1)"
}

# --fd=N: exactly one byte once ready; the command returns only then.
ngm_mount --fd=7 -a "$img" -i "$mp" 7> "$tmp/ready"
assert_eq "bytes written to --fd" 1 "$(stat -c %s "$tmp/ready")"
served
ngm_umount "$mp"
assert_no_leaks

# Signals to the daemon tear everything down.
for sig in TERM INT HUP; do
  note "SIG$sig"
  ngm_mount -a "$img" -i "$mp"
  served
  kill -"$sig" "$(cat "$tmp/pid")"
  ngm_wait_gone 20
  ngm_is_mounted "$mp" && fail "still mounted after SIG$sig"
  assert_no_leaks
done

# umount(8) and nguestunmount.
ngm_mount -a "$img" -i "$mp"
umount "$mp" || fail "umount $mp failed"
ngm_wait_gone 20
assert_no_leaks
if [ -x "$top_srcdir/contrib/nguestunmount" ]; then
  ngm_mount -a "$img" -i "$mp"
  "$top_srcdir/contrib/nguestunmount" "$mp" || fail "nguestunmount failed"
  ngm_wait_gone 20
  ngm_is_mounted "$mp" && fail "still mounted after nguestunmount"
  assert_no_leaks
fi

# --no-fork: the program itself serves; started in the background, it
# exits 0 after fusermount3 -u.
# (run directly, not through ngm, so that $! is nguestmount itself)
TMPDIR=$tmp/tmpdir "$NGUESTMOUNT" --no-fork --pid-file "$tmp/pid" -a "$img" -i "$mp" \
  2> "$tmp/nofork.err" &
bg=$!
for i in $(seq 1 200); do
  ngm_is_mounted "$mp" && [ -e "$mp/boot/marker-boot" ] && break
  kill -0 $bg 2>/dev/null || fail "--no-fork exited early: $(cat "$tmp/nofork.err")"
  sleep 0.1
done
ngm_is_mounted "$mp" || fail "--no-fork did not mount within 20 s"
served
assert_eq "--no-fork pid file" "$bg" "$(cat "$tmp/pid")"
fusermount3 -u "$mp" || fail "fusermount3 -u failed"
rc=0
wait $bg || rc=$?
assert_eq "--no-fork exit status" 0 "$rc"
ngm_wait_gone 5
assert_no_leaks

# kill -9: no stale "Transport endpoint is not connected" mount, no loop
# device, no qemu-nbd.
ngm_mount -a "$img" -i "$mp"
served
pid=$(cat "$tmp/pid")
kill -KILL "$pid"
for i in $(seq 1 50); do
  ngm_is_mounted "$mp" || break
  sleep 0.1
done
ngm_is_mounted "$mp" && fail "mountpoint still mounted 5 s after kill -9"
stat "$mp" > /dev/null || fail "stat $mp fails after kill -9"
ls "$mp" > /dev/null || fail "ls $mp fails after kill -9"
rm -f "$tmp/pid"
assert_no_leaks
