#!/bin/bash
# Every user-facing error: exact message, exit 1, one line, nothing left.
# automake runs tests with $(SHELL); these need bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/functions.sh"
requires_root
requires_nguestmount
requires qemu-img mkfs.ext4 fusermount3 setpriv unshare

mp=$tmp/mp
cd "$tmp" || hard_error "cd $tmp"

mkdir -p src
echo "hello" > src/hello
truncate -s 16M data.img
mkfs.ext4 -q -F -d src data.img

# Images that cannot be attached.  IMAGE is named as given.
expect_fail "cannot attach missing.img: No such file or directory" \
  ngm -a missing.img "$mp"
expect_fail "cannot attach $tmp/missing.qcow2: No such file or directory" \
  ngm -a "$tmp/missing.qcow2" "$mp"
mkdir adir
expect_fail "cannot attach adir: is a directory" ngm -a adir "$mp"
: > empty.img
expect_fail "cannot attach empty.img: the image is empty" ngm -a empty.img "$mp"
expect_fail "unsupported format 'qed' for data.img (supported: raw, qcow2, vmdk, vhdx, vpc, vdi)" \
  ngm --format=qed -a data.img "$mp"

# Corrupt qcow2: good magic, nonsense header; qemu-img's reason follows.
{ printf 'QFI\373\000\000\000\003'; head -c 65528 /dev/zero | tr '\0' '\377'; } > corrupt.qcow2
reason=$(qemu-img info -f qcow2 corrupt.qcow2 2>&1 >/dev/null \
           | sed "s/^qemu-img: Could not open '[^']*': //" | tail -n1)
[ -n "$reason" ] || hard_error "qemu-img accepted the corrupt image"
expect_fail "cannot attach corrupt.qcow2: " ngm -a corrupt.qcow2 "$mp"
grep -qF -- "$reason" "$tmp/fail.err" || fail "qemu-img's reason '$reason' not given"

# Backing files outside the image's directory are refused, also when the
# image is named .img and the format is probed.
qemu-img create -q -f qcow2 -b /etc/passwd -F raw x.img
expect_fail "cannot attach x.img: backing file /etc/passwd is outside the image's directory (use --allow-backing to allow it)" \
  ngm -a x.img "$mp"
# Forced to raw it is just bytes: nothing mountable, the backing file is
# never read.  Make the outside file a real filesystem, so reading it would
# show.
mkdir img outside
cp data.img outside/secret.img
qemu-img create -q -f qcow2 -b "$tmp/outside/secret.img" -F raw img/y.img
expect_fail "cannot attach img/y.img: backing file $tmp/outside/secret.img is outside the image's directory (use --allow-backing to allow it)" \
  ngm -a img/y.img "$mp"
expect_fail "no filesystems found on the attached disks" \
  ngm --format=raw -a img/y.img "$mp"
expect_fail "no filesystems found on the attached disks" \
  ngm --format=raw -a x.img "$mp"
# Allowed on request, and inside the image's own directory.
ngm_mount --allow-backing -a img/y.img --all "$mp"
assert_file_eq "$mp/sda/hello" hello
ngm_umount "$mp"
assert_no_leaks
cp data.img img/base.img
qemu-img create -q -f qcow2 -b base.img -F raw img/z.qcow2
ngm_mount -a img/z.qcow2 --all "$mp"
assert_file_eq "$mp/sda/hello" hello
ngm_umount "$mp"
assert_no_leaks

# qemu-nbd missing from PATH (a non-raw image needs it).
mkdir nobin
find /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin -maxdepth 1 -mindepth 1 \
  ! -name qemu-nbd -exec ln -s -t nobin {} + 2>/dev/null
[ -e nobin/qemu-nbd ] && hard_error "nobin/qemu-nbd exists"
qemu-img convert -q -f raw -O qcow2 data.img data.qcow2
expect_fail "cannot attach data.qcow2: qemu-nbd not found (install qemu-utils)" \
  timeout -k 10 "$NGM_TIMEOUT" env PATH="$tmp/nobin" TMPDIR="$tmp/tmpdir" \
    "$NGUESTMOUNT" -a data.qcow2 "$mp"

# Nothing mountable.
truncate -s 8M zeros.img
expect_fail "no filesystems found on the attached disks" ngm -a zeros.img "$mp"
# -i without an operating system.
expect_fail "no operating system found in the guest (use -m or --all)" \
  ngm -a data.img -i "$mp"

# Mountpoints.
expect_fail "mountpoint nomp: No such file or directory" ngm -a data.img nomp
: > afile
expect_fail "mountpoint afile: Not a directory" ngm -a data.img afile
mkdir busy
mount -t tmpfs ngm-test busy || hard_error "cannot mount a tmpfs"
own_mount "$tmp/busy"
expect_fail "mountpoint busy is already a mount point" ngm -a data.img busy
own_umount "$tmp/busy"
# Bind mounts are mount points too.
mount --bind "$tmp/adir" busy || hard_error "cannot bind-mount"
own_mount "$tmp/busy"
expect_fail "mountpoint $tmp/busy is already a mount point" ngm -a data.img "$tmp/busy"
own_umount "$tmp/busy"

# Command line.
expect_fail "no disk image given (use -a IMAGE)" ngm "$mp"
expect_fail "no mountpoint given" ngm -a data.img
expect_fail "read-write mode is not supported yet (use --ro)" ngm -a data.img --rw "$mp"
expect_fail "read-write mode is not supported yet (use --ro)" ngm -w -a data.img "$mp"

# Not root.
chmod 0755 "$tmp"
chmod 0644 data.img
if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NGUESTMOUNT"; then
  expect_fail "must be run as root" \
    timeout -k 10 "$NGM_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
      "$NGUESTMOUNT" -a data.img "$mp"
else
  note "skipping the not-root case: $NGUESTMOUNT is not executable by nobody"
fi

# No /dev/fuse, no loop device: a private /dev holding only what the
# program may need apart from the missing node.
private_dev ()
{
  local skip=$1
  shift
  timeout -k 10 "$NGM_TIMEOUT" unshare -m --propagation private bash -c '
    skip=$1; shift
    nodes=$(mktemp -d)
    for n in null zero full random urandom tty fuse loop-control; do
      case $n in "$skip"|"$skip"-*) continue ;; esac
      [ -e "/dev/$n" ] && cp -a "/dev/$n" "$nodes/"
    done
    if [ "$skip" != loop ]; then cp -a /dev/loop[0-9]* "$nodes/" 2>/dev/null; fi
    mount -t tmpfs -o mode=0755 ngm-test-dev /dev || exit 99
    cp -a "$nodes"/. /dev/
    rm -rf "$nodes"
    ln -s /proc/self/fd /dev/fd
    exec "$@"' sh "$skip" "$@"
}
expect_fail "/dev/fuse not found" private_dev fuse "$NGUESTMOUNT" -a data.img "$mp"
expect_fail "no loop device available" \
  private_dev loop "$NGUESTMOUNT" -a data.img "$mp"
