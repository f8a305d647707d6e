#!/bin/bash
# Build a small sample guest disk image (no root needed).
#
#   contrib/make-sample-image.sh OUT.qcow2
#
# The format follows the extension: .qcow2, .vmdk, .vhdx, .vhd (vpc), .vdi,
# anything else (.img, .raw) is raw.  The image is 80 MiB, sparse, GPT:
#
#   sda1  ext4  LABEL=boot  /boot   a fake kernel and a grub.cfg
#   sda2  ext4  LABEL=root  /       a minimal Debian 12 tree made from files:
#         os-release, debian_version 12.4, hostname "sample-vm", fstab
#         (UUID= for /, LABEL=boot for /boot), hosts, merged /usr with
#         bin -> usr/bin, usr/bin/bash copied from the host (a real ELF, so
#         the guest's arch is the host's), a dpkg status file, /home/user.
#
# UUIDs, labels, file contents, mtimes and the ext4 hash seed are fixed, so
# two runs on the same host give the same files and identifiers (only a few
# bytes of ext4 inode metadata, such as generation numbers, differ).  File
# owners are the invoking user's (root when run as root).  Takes < 1 s.

set -euo pipefail
export LC_ALL=C

die () { printf 'make-sample-image: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUT.qcow2" >&2; exit 2; }
out=$1

case $out in
  *.qcow2) fmt=qcow2 ;;
  *.vmdk)  fmt=vmdk ;;
  *.vhdx)  fmt=vhdx ;;
  *.vhd)   fmt=vpc ;;
  *.vdi)   fmt=vdi ;;
  *)       fmt=raw ;;
esac

PATH=$PATH:/usr/sbin:/sbin
for tool in sfdisk mkfs.ext4 qemu-img dd truncate; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (apt-get install fdisk e2fsprogs qemu-utils coreutils)"
done
bash_bin=$(readlink -f /bin/bash)
[ -r "$bash_bin" ] || die "cannot read the host's /bin/bash"

# Fixed identities: /etc/fstab and grub.cfg refer to them.
disk_guid=5A3E1C70-2B9D-4F61-8E0A-6B1F7C2D9E40
boot_partuuid=1B7D4E2A-6C35-4A8F-9D10-3E5F7A9B2C61
root_partuuid=7C2E9A14-3B6D-4F58-A1E0-8D4C6B2F1A93
boot_uuid=0f4c8a6e-5b21-4d7e-9a3c-2e6b1d8f7a05
root_uuid=3d9b7e12-8c4a-4f6d-b5e1-9a2c7f0e4b68
fake_time=1700000000             # 2023-11-14 22:13:20 UTC
export E2FSPROGS_FAKE_TIME=$fake_time

# Layout in 512-byte sectors: 80 MiB disk, boot 16 MiB at 1 MiB, root 62 MiB.
disk_mib=80
boot_start=2048   boot_size=32768
root_start=34816  root_size=126976

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sample-image.XXXXXX")
trap 'rm -rf "$tmp" "$out.tmp.$$"' EXIT

boot=$tmp/boot root=$tmp/root
mkdir -p "$boot/grub" "$root"

# ---- /boot ----------------------------------------------------------------
kver=6.1.0-17-amd64
printf 'sample kernel image for nguestmount (not bootable)\n' > "$boot/vmlinuz-$kver"
printf 'sample initramfs for nguestmount (not bootable)\n' > "$boot/initrd.img-$kver"
printf 'CONFIG_EXT4_FS=y\nCONFIG_FUSE_FS=m\n' > "$boot/config-$kver"
cat > "$boot/grub/grub.cfg" <<EOF
# Generated for the nguestmount sample image.
set default=0
set timeout=5
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root $boot_uuid
menuentry 'Debian GNU/Linux' {
	linux	/vmlinuz-$kver root=UUID=$root_uuid ro quiet
	initrd	/initrd.img-$kver
}
EOF

# ---- / ----------------------------------------------------------------------
cd "$root"
mkdir -p etc usr/bin usr/sbin usr/lib usr/lib64 usr/share/doc usr/share/zoneinfo/Etc \
  var/lib/dpkg var/log var/tmp home/user root boot dev proc sys run tmp mnt opt srv media
chmod 1777 tmp var/tmp
chmod 700 root
ln -s usr/bin bin
ln -s usr/sbin sbin
ln -s usr/lib lib
ln -s usr/lib64 lib64

cat > usr/lib/os-release <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
EOF
cp usr/lib/os-release etc/os-release
echo 12.4 > etc/debian_version
echo sample-vm > etc/hostname
cat > etc/hosts <<'EOF'
127.0.0.1	localhost
127.0.1.1	sample-vm

::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
cat > etc/fstab <<EOF
# /etc/fstab: static file system information.
#
# <file system>  <mount point>  <type>  <options>  <dump>  <pass>
UUID=$root_uuid  /      ext4  errors=remount-ro  0  1
LABEL=boot  /boot  ext4  defaults  0  2
/dev/sr0  /media/cdrom0  udf,iso9660  user,noauto  0  0
EOF
cat > etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
user:x:1000:1000:Sample User,,,:/home/user:/bin/bash
EOF
cat > etc/group <<'EOF'
root:x:0:
daemon:x:1:
user:x:1000:
EOF
printf 'Debian GNU/Linux 12 \\n \\l\n\n' > etc/issue
echo 'UTC0' > usr/share/zoneinfo/Etc/UTC
ln -s /usr/share/zoneinfo/Etc/UTC etc/localtime

cp "$bash_bin" usr/bin/bash
chmod 755 usr/bin/bash
ln -s bash usr/bin/sh
ln -s bash usr/bin/rbash

cat > var/lib/dpkg/status <<'EOF'
Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 340
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u4
Description: Debian base system miscellaneous files

Package: bash
Essential: yes
Status: install ok installed
Priority: required
Section: shells
Installed-Size: 7163
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 5.2.15-2+b2
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
Description: GNU Bourne Again SHell
Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12987
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u3
Description: GNU C Library: Shared libraries
Homepage: https://www.gnu.org/software/libc/libc.html

Package: coreutils
Essential: yes
Status: install ok installed
Priority: required
Section: utils
Installed-Size: 18062
Maintainer: Michael Stone <mstone@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 9.1-1
Description: GNU core utilities
Homepage: http://gnu.org/software/coreutils

Package: openssh-server
Status: deinstall ok config-files
Priority: optional
Section: net
Installed-Size: 1921
Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>
Architecture: amd64
Source: openssh
Version: 1:9.2p1-2+deb12u1
Description: secure shell (SSH) server, for secure access from remote machines
EOF
: > var/log/dpkg.log

cat > home/user/README.txt <<'EOF'
This is the home directory of "user" in the nguestmount sample guest.
If you can read this through the FUSE mount, the image was attached,
its GPT partitions were found and both ext4 filesystems were mounted.
EOF
ln -s README.txt home/user/notes.txt
ln -s ../../etc/hostname home/user/hostname-link
printf 'echo "welcome to sample-vm"\n' > home/user/.profile
cd "$tmp"

# Fixed timestamps everywhere (symlinks included).
find "$boot" "$root" -exec touch -h -d "@$fake_time" {} +

mkfs_ext4 ()  # LABEL UUID DIR SECTORS OUT
{
  mkfs.ext4 -q -F -L "$1" -U "$2" -d "$3" -b 4096 -I 256 -m 0 \
    -E "hash_seed=$2,root_owner=0:0,nodiscard" \
    "$5" "$(( $4 / 8 ))" 2>&1 ||
    die "mkfs.ext4 failed for $1"
}
mkfs_ext4 boot "$boot_uuid" "$boot" "$boot_size" boot.ext4 >/dev/null
mkfs_ext4 root "$root_uuid" "$root" "$root_size" root.ext4 >/dev/null

truncate -s "${disk_mib}M" disk.raw
sfdisk -q --no-reread --no-tell-kernel disk.raw >/dev/null <<EOF ||
label: gpt
label-id: $disk_guid
unit: sectors
first-lba: 2048

start=$boot_start, size=$boot_size, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$boot_partuuid, name="boot"
start=$root_start, size=$root_size, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$root_partuuid, name="root"
EOF
  die "sfdisk failed"
dd if=boot.ext4 of=disk.raw bs=512 seek="$boot_start" conv=notrunc,sparse status=none
dd if=root.ext4 of=disk.raw bs=512 seek="$root_start" conv=notrunc,sparse status=none

outdir=$(dirname -- "$out")
mkdir -p -- "$outdir"
if [ "$fmt" = raw ]; then
  mv -f disk.raw "$tmp/out.part"
else
  qemu-img convert -q -f raw -O "$fmt" disk.raw "$tmp/out.part"
fi
# Publish atomically, so an interrupted run never leaves a half image.
cp --sparse=always "$tmp/out.part" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
echo "$out"
