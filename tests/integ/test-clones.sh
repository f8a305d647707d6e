#!/bin/bash
# Two clones of one guest mounted at the same time: XFS refuses a second
# filesystem with the same UUID unless told otherwise, and clones of a VM
# (or a guest made from the host's own image) share it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img sfdisk mkfs.ext4 mkfs.xfs mkfs.btrfs mkswap fusermount3 jq

img=$(guest_image gpt raw) || exit $?
cp --sparse=always "$img" "$tmp/clone.raw"
mkdir -p "$tmp/mp2"

ngm_mount -a "$img" -i "$tmp/mp"
# The second daemon needs its own pid file; ngm_mount uses $tmp/pid.
ngm --pid-file "$tmp/pid2" -a "$tmp/clone.raw" -i "$tmp/mp2" 2> "$tmp/err2" \
  || fail "the clone did not mount while the original was mounted: $(cat "$tmp/err2")"
assert_sha256 "$tmp/mp" "$img.sha256"
assert_sha256 "$tmp/mp2" "$img.sha256"
for mp in "$tmp/mp" "$tmp/mp2"; do
  [ "$(jq -r '.filesystems[] | select(.type == "xfs") | .mount_options' \
        "$mp/.inspect/inspect.json")" = ro ] || fail "$mp: the xfs root is not mounted"
done
pid2=$(cat "$tmp/pid2")
fusermount3 -u "$tmp/mp2"
for _ in $(seq 200); do
  [ ! -e "$tmp/pid2" ] && ! kill -0 "$pid2" 2>/dev/null && break
  sleep 0.1
done
[ ! -e "$tmp/pid2" ] && ! kill -0 "$pid2" 2>/dev/null || fail "the second daemon did not go"
ngm_umount "$tmp/mp"
assert_no_leaks
