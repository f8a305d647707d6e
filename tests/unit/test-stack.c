/* Unit tests for partition and filesystem discovery (src/stack/).
 *
 * Disk images are built at test time in a private temporary directory with
 * sfdisk, mkfs.* and dd; no root is needed.  Tests skip when a tool is
 * missing.
 */
#include <config.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/stack.h"

#define MiB (1024ull * 1024)

static char tmpdir[] = "/tmp/ngm-test-stack-XXXXXX";
static bool have_tmpdir;

static const char *const tools[] = {
  "sfdisk", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkswap", "dd", "truncate",
};

static bool
have_tools (void)
{
  for (size_t i = 0; i < ARRAY_SIZE (tools); i++)
    if (!find_program (tools[i], NULL))
      return false;
  return true;
}

#define REQUIRE_TOOLS()                                          \
  do {                                                           \
    if (!have_tools ()) {                                        \
      fprintf (stderr, "sfdisk/mkfs/dd missing: skipped\n");     \
      skip ();                                                   \
    }                                                            \
  } while (0)

/* Run a shell command in the temporary directory; fail the test if it
 * fails. */
static void __attribute__ ((format (printf, 1, 2)))
run (const char *fmt, ...)
{
  va_list ap;
  char *cmd = NULL, *full;

  va_start (ap, fmt);
  assert_true (vasprintf (&cmd, fmt, ap) >= 0);
  va_end (ap);
  full = xasprintf ("cd '%s' && { %s ; } >/dev/null 2>&1", tmpdir, cmd);
  int status = system (full);
  if (status != 0)
    fail_msg ("command failed (%d): %s", status, cmd);
  free (cmd);
  free (full);
}

static char *
tpath (const char *name)
{
  return xasprintf ("%s/%s", tmpdir, name);
}

/* Write file src (in tmpdir) into disk at byte offset start, keeping
 * holes. */
static void
put (const char *disk, const char *src, uint64_t start)
{
  assert_int_equal (start % 512, 0);
  run ("dd if=%s of=%s bs=512 seek=%llu conv=notrunc,sparse status=none",
       src, disk, (unsigned long long) (start / 512));
}

static int
direct_fd (void *opaque, struct bdev *b, int *ret_fd, uint64_t *ret_offset)
{
  int *calls = opaque;
  if (calls)
    (*calls)++;
  if (b->direct_fd < 0)
    return -ENOTSUP;
  *ret_fd = b->direct_fd;
  *ret_offset = b->direct_offset;
  return 0;
}

static struct bdev *
open_disk (const char *name, unsigned index)
{
  _cleanup_free_ char *path = tpath (name);
  _cleanup_free_ char *devname = bdev_disk_name (index);
  _cleanup_free_ char *msg = NULL;
  struct bdev *b = NULL;
  int r = bdev_file_open (path, true, devname, &b, &msg);
  if (r < 0)
    fail_msg ("bdev_file_open %s: %s", path, msg ?: strerror (-r));
  return b;
}

static int
discover (const char *const *names, size_t n, struct stack *st)
{
  struct bdev *disks[4];
  assert_true (n <= 4);
  for (size_t i = 0; i < n; i++)
    disks[i] = open_disk (names[i], i);
  int r = stack_discover (disks, n, direct_fd, NULL, st);
  /* stack_discover took its own references. */
  for (size_t i = 0; i < n; i++)
    bdev_unref (disks[i]);
  return r;
}

static const struct fsinfo *
find_fs (const struct stack *st, const char *device)
{
  for (size_t i = 0; i < st->n_fs; i++)
    if (strcmp (st->fs[i].device, device) == 0)
      return &st->fs[i];
  return NULL;
}

static bool
has_warning (const struct stack *st, const char *needle)
{
  for (size_t i = 0; i < st->warnings.n; i++)
    if (strstr (st->warnings.v[i], needle))
      return true;
  return false;
}

static void
dump (const struct stack *st)
{
  for (size_t i = 0; i < st->n_fs; i++) {
    const struct fsinfo *f = &st->fs[i];
    fprintf (stderr, "# %s part=%u type=%s uuid=%s label=%s partuuid=%s "
             "partlabel=%s parttype=%s size=%llu\n", f->device, f->partnum,
             f->type ?: "-", f->uuid ?: "-", f->label ?: "-",
             f->partuuid ?: "-", f->partlabel ?: "-", f->parttype ?: "-",
             (unsigned long long) f->size);
  }
  for (size_t i = 0; i < st->warnings.n; i++)
    fprintf (stderr, "# warning: %s\n", st->warnings.v[i]);
}

/* Each partition's bytes must lie inside its disk's host file. */
static void
assert_inside_files (const struct stack *st, const char *const *names)
{
  for (size_t i = 0; i < st->n_fs; i++) {
    const struct fsinfo *f = &st->fs[i];
    _cleanup_free_ char *path = tpath (names[f->disk_index]);
    struct stat sb;
    assert_int_equal (stat (path, &sb), 0);
    assert_non_null (f->bdev);
    assert_int_equal (f->bdev->size, f->size);
    assert_true (f->bdev->direct_fd >= 0);
    assert_true (f->bdev->direct_offset + f->bdev->size
                 <= (uint64_t) sb.st_size);
  }
}

/* A populated ext4 image of size_mib MiB. */
static void
make_ext4 (const char *file, unsigned size_mib, const char *uuid,
           const char *label)
{
  run ("mkdir -p tree/etc && echo hello > tree/etc/hello && "
       "rm -f %s && truncate -s %uM %s && "
       "mkfs.ext4 -q -F -U %s -L %s -d tree %s",
       file, size_mib, file, uuid, label, file);
}

/* ---------------------------------------------------------------------- */

#define GPT_EXT4_UUID "3b0c0d6e-7a41-4b43-9d6e-0f6b1c1a0001"
#define GPT_XFS_UUID "3b0c0d6e-7a41-4b43-9d6e-0f6b1c1a0002"
#define GPT_BTRFS_UUID "3b0c0d6e-7a41-4b43-9d6e-0f6b1c1a0003"
#define GPT_P1_PARTUUID "a1a1a1a1-0000-4000-8000-000000000001"
#define GPT_P2_PARTUUID "a1a1a1a1-0000-4000-8000-000000000002"
#define GPT_P3_PARTUUID "a1a1a1a1-0000-4000-8000-000000000003"
#define LINUX_FS_GUID "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define MSR_GUID "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"

/* p1 ext4 16M at 1M, p2 xfs 300M at 17M, p3 btrfs 128M at 317M,
 * p4 Microsoft reserved 1M at 445M; disk 450M (sparse). */
static void
make_gpt_disk (const char *disk)
{
  run ("rm -f %s && truncate -s 450M %s", disk, disk);
  run ("printf '%%s\\n' 'label: gpt' "
       "'start=2048, size=32768, type=" LINUX_FS_GUID ", uuid=" GPT_P1_PARTUUID ", name=\"root part\"' "
       "'start=34816, size=614400, type=" LINUX_FS_GUID ", uuid=" GPT_P2_PARTUUID ", name=data' "
       "'start=649216, size=262144, type=" LINUX_FS_GUID ", uuid=" GPT_P3_PARTUUID ", name=home' "
       "'start=911360, size=2048, type=" MSR_GUID "' "
       "| sfdisk -q %s", disk);
  make_ext4 ("p1.img", 16, GPT_EXT4_UUID, "gptroot");
  put (disk, "p1.img", 2048 * 512ull);
  run ("rm -f p2.img && truncate -s 300M p2.img && "
       "mkfs.xfs -q -f -m uuid=" GPT_XFS_UUID " -L xdata p2.img");
  put (disk, "p2.img", 34816 * 512ull);
  run ("rm -f p3.img && truncate -s 128M p3.img && "
       "mkfs.btrfs -q -f -U " GPT_BTRFS_UUID " -L bhome p3.img");
  put (disk, "p3.img", 649216 * 512ull);
  run ("rm -f p1.img p2.img p3.img");
}

static void
test_gpt (void **state)
{
  REQUIRE_TOOLS ();
  make_gpt_disk ("gpt.img");

  const char *names[] = { "gpt.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 1, &st), 0);
  dump (&st);

  /* Three data partitions; the Microsoft reserved one is skipped. */
  assert_int_equal (st.n_fs, 3);
  assert_null (find_fs (&st, "/dev/sda4"));
  assert_int_equal (st.warnings.n, 0);

  const struct fsinfo *p1 = find_fs (&st, "/dev/sda1");
  assert_non_null (p1);
  assert_int_equal (p1->partnum, 1);
  assert_int_equal (p1->disk_index, 0);
  assert_string_equal (p1->type, "ext4");
  assert_string_equal (p1->usage, "filesystem");
  assert_string_equal (p1->uuid, GPT_EXT4_UUID);
  assert_string_equal (p1->label, "gptroot");
  assert_string_equal (p1->partuuid, GPT_P1_PARTUUID);
  assert_string_equal (p1->partlabel, "root part");
  assert_string_equal (p1->parttype, LINUX_FS_GUID);
  assert_int_equal (p1->size, 16 * MiB);
  assert_int_equal (p1->bdev->direct_offset, 1 * MiB);
  assert_string_equal (p1->bdev->name, "/dev/sda1");

  /* The slice reads the partition's bytes: the ext4 magic at 1080. */
  unsigned char magic[2];
  assert_int_equal (bdev_pread (p1->bdev, magic, 2, 1080), 0);
  assert_int_equal (magic[0], 0x53);
  assert_int_equal (magic[1], 0xef);

  const struct fsinfo *p2 = find_fs (&st, "/dev/sda2");
  assert_non_null (p2);
  assert_string_equal (p2->type, "xfs");
  assert_string_equal (p2->uuid, GPT_XFS_UUID);
  assert_string_equal (p2->label, "xdata");
  assert_string_equal (p2->partuuid, GPT_P2_PARTUUID);
  assert_string_equal (p2->partlabel, "data");
  assert_int_equal (p2->size, 300 * MiB);

  const struct fsinfo *p3 = find_fs (&st, "/dev/sda3");
  assert_non_null (p3);
  assert_string_equal (p3->type, "btrfs");
  assert_string_equal (p3->uuid, GPT_BTRFS_UUID);
  assert_string_equal (p3->label, "bhome");
  assert_string_equal (p3->partlabel, "home");
  assert_int_equal (p3->size, 128 * MiB);

  /* Disk order, then partition order. */
  assert_ptr_equal (&st.fs[0], p1);
  assert_ptr_equal (&st.fs[1], p2);
  assert_ptr_equal (&st.fs[2], p3);

  assert_inside_files (&st, names);
  stack_clear (&st);
  assert_int_equal (st.n_fs, 0);
  assert_null (st.fs);
  stack_clear (&st);            /* idempotent */
}

#define MBR_EXT4_UUID "5d6e7f80-1111-4222-8333-944455556601"
#define MBR_LOG_UUID "5d6e7f80-1111-4222-8333-944455556605"
#define MBR_SWAP_UUID "5d6e7f80-1111-4222-8333-944455556602"

/* p1 ext4 8M at 1M, p2 swap 8M at 9M, p3 extended 30M at 17M holding
 * p5 ext4 8M at 18M and p6 (zeros) 8M at 27M; disk 48M. */
static void
make_mbr_disk (const char *disk)
{
  run ("rm -f %s && truncate -s 48M %s", disk, disk);
  run ("printf '%%s\\n' 'label: dos' 'label-id: 0x1234abcd' "
       "'start=2048, size=16384, type=83' "
       "'start=18432, size=16384, type=82' "
       "'start=34816, size=61440, type=5' "
       "'start=36864, size=16384, type=83' "
       "'start=55296, size=16384, type=83' "
       "| sfdisk -q %s", disk);
  make_ext4 ("p1.img", 8, MBR_EXT4_UUID, "mbrroot");
  put (disk, "p1.img", 2048 * 512ull);
  run ("rm -f p2.img && truncate -s 8M p2.img && "
       "mkswap -U " MBR_SWAP_UUID " -L myswap p2.img");
  put (disk, "p2.img", 18432 * 512ull);
  make_ext4 ("p5.img", 8, MBR_LOG_UUID, "logical");
  put (disk, "p5.img", 36864 * 512ull);
  run ("rm -f p1.img p2.img p5.img");
}

static void
test_mbr_logical (void **state)
{
  REQUIRE_TOOLS ();
  make_mbr_disk ("mbr.img");

  const char *names[] = { "mbr.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 1, &st), 0);
  dump (&st);

  assert_int_equal (st.n_fs, 4);
  assert_int_equal (st.warnings.n, 0);
  assert_null (find_fs (&st, "/dev/sda3"));      /* extended container */

  const struct fsinfo *p1 = find_fs (&st, "/dev/sda1");
  assert_non_null (p1);
  assert_string_equal (p1->type, "ext4");
  assert_string_equal (p1->uuid, MBR_EXT4_UUID);
  assert_string_equal (p1->label, "mbrroot");
  assert_string_equal (p1->parttype, "0x83");
  assert_string_equal (p1->partuuid, "1234abcd-01");
  assert_null (p1->partlabel);
  assert_int_equal (p1->size, 8 * MiB);

  const struct fsinfo *p2 = find_fs (&st, "/dev/sda2");
  assert_non_null (p2);
  assert_string_equal (p2->type, "swap");
  assert_string_equal (p2->usage, "other");
  assert_string_equal (p2->uuid, MBR_SWAP_UUID);
  assert_string_equal (p2->label, "myswap");
  assert_string_equal (p2->parttype, "0x82");

  const struct fsinfo *p5 = find_fs (&st, "/dev/sda5");
  assert_non_null (p5);
  assert_int_equal (p5->partnum, 5);
  assert_string_equal (p5->type, "ext4");
  assert_string_equal (p5->uuid, MBR_LOG_UUID);
  assert_string_equal (p5->label, "logical");
  assert_string_equal (p5->partuuid, "1234abcd-05");
  assert_int_equal (p5->bdev->direct_offset, 18 * MiB);
  assert_int_equal (p5->size, 8 * MiB);

  /* An empty partition is still listed, with nothing recognised. */
  const struct fsinfo *p6 = find_fs (&st, "/dev/sda6");
  assert_non_null (p6);
  assert_int_equal (p6->partnum, 6);
  assert_null (p6->type);
  assert_null (p6->usage);
  assert_null (p6->uuid);
  assert_null (p6->label);
  assert_string_equal (p6->parttype, "0x83");
  assert_int_equal (p6->size, 8 * MiB);

  assert_inside_files (&st, names);
  stack_clear (&st);
}

static void
test_whole_disk_and_two_disks (void **state)
{
  REQUIRE_TOOLS ();
  make_ext4 ("whole.img", 16, "77777777-1111-4222-8333-944455550000",
             "wholefs");
  make_mbr_disk ("second.img");

  const char *names[] = { "whole.img", "second.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 2, &st), 0);
  dump (&st);

  assert_int_equal (st.n_fs, 5);
  const struct fsinfo *w = &st.fs[0];
  assert_string_equal (w->device, "/dev/sda");
  assert_int_equal (w->partnum, 0);
  assert_int_equal (w->disk_index, 0);
  assert_string_equal (w->type, "ext4");
  assert_string_equal (w->label, "wholefs");
  assert_null (w->partuuid);
  assert_null (w->parttype);
  assert_int_equal (w->size, 16 * MiB);
  assert_string_equal (w->bdev->name, "/dev/sda");

  /* The second disk is lettered b. */
  const struct fsinfo *b5 = find_fs (&st, "/dev/sdb5");
  assert_non_null (b5);
  assert_int_equal (b5->disk_index, 1);
  assert_string_equal (b5->label, "logical");
  assert_non_null (find_fs (&st, "/dev/sdb1"));
  assert_null (find_fs (&st, "/dev/sda1"));
  assert_ptr_equal (&st.fs[1], find_fs (&st, "/dev/sdb1"));

  assert_inside_files (&st, names);
  stack_clear (&st);
}

static void
test_random_bytes (void **state)
{
  REQUIRE_TOOLS ();
  /* A fixed pseudo-random pattern, so the outcome is reproducible. */
  _cleanup_free_ char *path = tpath ("random.img");
  _cleanup_fclose_ FILE *f = fopen (path, "we");
  assert_non_null (f);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < 4 * MiB / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    assert_int_equal (fwrite (&x, 8, 1, f), 1);
  }
  assert_int_equal (fclose (TAKE_PTR (f)), 0);

  const char *names[] = { "random.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 1, &st), 0);
  dump (&st);
  assert_int_equal (st.n_fs, 0);
  stack_clear (&st);
}

static void
test_empty_disk (void **state)
{
  REQUIRE_TOOLS ();
  run ("rm -f zero.img && truncate -s 8M zero.img");
  const char *names[] = { "zero.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 1, &st), 0);
  assert_int_equal (st.n_fs, 0);
  stack_clear (&st);
}

/* A GPT disk image cut in half: both GPT headers now describe a disk
 * larger than the image, libblkid refuses them, only the protective MBR is
 * left.  Nothing is used, and the user is told why. */
static void
test_truncated_gpt (void **state)
{
  REQUIRE_TOOLS ();
  run ("rm -f tgpt.img && truncate -s 64M tgpt.img");
  run ("printf '%%s\\n' 'label: gpt' 'start=2048, size=16384' "
       "'start=18432, size=100000' | sfdisk -q tgpt.img");
  make_ext4 ("p1.img", 8, "88888888-1111-4222-8333-944455550000", "tg");
  put ("tgpt.img", "p1.img", 2048 * 512ull);
  run ("truncate -s 32M tgpt.img && rm -f p1.img");

  const char *names[] = { "tgpt.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 1, &st), 0);
  dump (&st);
  assert_int_equal (st.n_fs, 0);
  assert_true (has_warning (&st, "protective MBR"));
  assert_true (has_warning (&st, "/dev/sda"));
  stack_clear (&st);
}

/* An MBR disk image cut short: libblkid hands back the entries as they
 * are; a partition crossing the end is clipped to the disk, one starting
 * past it is dropped, each with a warning. */
static void
test_truncated_mbr (void **state)
{
  REQUIRE_TOOLS ();
  run ("rm -f tmbr.img && truncate -s 64M tmbr.img");
  run ("printf '%%s\\n' 'label: dos' 'start=2048, size=16384, type=83' "
       "'start=20480, size=40960, type=83' "
       "'start=81920, size=20480, type=83' | sfdisk -q tmbr.img");
  make_ext4 ("p1.img", 8, "99999999-1111-4222-8333-944455550001", "t1");
  put ("tmbr.img", "p1.img", 2048 * 512ull);
  make_ext4 ("p2.img", 8, "99999999-1111-4222-8333-944455550002", "t2");
  put ("tmbr.img", "p2.img", 20480 * 512ull);
  run ("truncate -s 24M tmbr.img && rm -f p1.img p2.img");

  const char *names[] = { "tmbr.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 1, &st), 0);
  dump (&st);

  assert_int_equal (st.n_fs, 2);
  const struct fsinfo *p1 = find_fs (&st, "/dev/sda1");
  assert_non_null (p1);
  assert_string_equal (p1->label, "t1");
  const struct fsinfo *p2 = find_fs (&st, "/dev/sda2");
  assert_non_null (p2);
  assert_int_equal (p2->size, 24 * MiB - 10 * MiB);      /* clipped */
  assert_string_equal (p2->label, "t2");
  assert_null (find_fs (&st, "/dev/sda3"));
  assert_true (has_warning (&st, "/dev/sda2: partition ends"));
  assert_true (has_warning (&st, "/dev/sda3: partition starts"));
  assert_int_equal (st.warnings.n, 2);

  assert_inside_files (&st, names);
  stack_clear (&st);
}

/* Two valid signatures in one place (an xfs superblock written over the
 * start of an ext4 filesystem): libblkid refuses to choose, and so do we. */
static void
test_ambivalent (void **state)
{
  REQUIRE_TOOLS ();
  run ("rm -f x.img amb.img && truncate -s 300M x.img && mkfs.xfs -q -f x.img");
  make_ext4 ("amb.img", 8, "bbbbbbbb-1111-4222-8333-944455550000", "amb");
  run ("dd if=x.img of=amb.img bs=512 count=1 conv=notrunc status=none");
  run ("rm -f ambdisk.img && truncate -s 16M ambdisk.img && "
       "printf '%%s\\n' 'label: dos' 'start=2048, size=16384, type=83' "
       "| sfdisk -q ambdisk.img");
  put ("ambdisk.img", "amb.img", 2048 * 512ull);

  const char *names[] = { "amb.img", "ambdisk.img" };
  struct stack st = { 0 };
  assert_int_equal (discover (names, 2, &st), 0);
  dump (&st);
  assert_int_equal (st.n_fs, 2);

  /* The whole disk is listed so that the user sees it, without a type. */
  const struct fsinfo *w = find_fs (&st, "/dev/sda");
  assert_non_null (w);
  assert_null (w->type);
  assert_null (w->uuid);
  assert_true (has_warning (&st, "/dev/sda: several conflicting"));

  const struct fsinfo *p = find_fs (&st, "/dev/sdb1");
  assert_non_null (p);
  assert_null (p->type);
  assert_string_equal (p->parttype, "0x83");
  assert_true (has_warning (&st, "/dev/sdb1: several conflicting"));
  assert_int_equal (st.warnings.n, 2);
  stack_clear (&st);
  run ("rm -f x.img");
}

/* Random MBRs with random extended chains (which may loop or point
 * anywhere): never a crash, never a partition outside the disk. */
static uint64_t
xorshift (uint64_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void
random_mbr_sector (unsigned char *sec, uint64_t *x, uint32_t max_lba)
{
  static const unsigned char types[] = { 0x83, 0x05, 0x0f, 0x85, 0x82, 0x07,
                                         0x00, 0xee, 0xa5, 0x42 };
  memset (sec, 0, 512);
  for (int i = 0; i < 4; i++) {
    unsigned char *e = sec + 446 + 16 * i;
    uint32_t start = xorshift (x) % max_lba;
    uint32_t size = xorshift (x) % max_lba;
    if (xorshift (x) % 8 == 0)
      size = 0xffffffff;
    e[0] = xorshift (x) % 4 == 0 ? 0x80 : 0;
    e[4] = types[xorshift (x) % ARRAY_SIZE (types)];
    memcpy (e + 8, &start, 4);      /* little-endian host */
    memcpy (e + 12, &size, 4);
  }
  sec[510] = 0x55;
  sec[511] = 0xaa;
}

static void
test_fuzzed_mbr (void **state)
{
  REQUIRE_TOOLS ();
  const uint32_t disk_sectors = 8192;       /* 4 MiB */
  _cleanup_free_ char *path = tpath ("fuzz.img");
  const char *names[] = { "fuzz.img" };
  uint64_t x = 0x1234567887654321ull;
  size_t total_parts = 0, total_warnings = 0;

  for (int iter = 0; iter < 300; iter++) {
    _cleanup_close_ int fd = open (path, O_RDWR | O_CREAT | O_TRUNC
                                   | O_CLOEXEC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (ftruncate (fd, disk_sectors * 512ull), 0);
    unsigned char sec[512];
    random_mbr_sector (sec, &x, disk_sectors * 2);
    assert_int_equal (pwrite_full (fd, sec, 512, 0), 0);
    /* Extended boot records at random places inside the disk. */
    for (int j = 0; j < 16; j++) {
      random_mbr_sector (sec, &x, disk_sectors * 2);
      uint64_t lba = xorshift (&x) % disk_sectors;
      assert_int_equal (pwrite_full (fd, sec, 512, lba * 512), 0);
    }

    struct stack st = { 0 };
    assert_int_equal (discover (names, 1, &st), 0);
    for (size_t i = 0; i < st.n_fs; i++) {
      const struct fsinfo *f = &st.fs[i];
      assert_true (f->size > 0);
      assert_true (f->bdev->direct_offset + f->size <= disk_sectors * 512ull);
      assert_true (f->partnum > 0);
      assert_non_null (f->parttype);
    }
    assert_inside_files (&st, names);
    total_parts += st.n_fs;
    total_warnings += st.warnings.n;
    stack_clear (&st);
  }
  fprintf (stderr, "# %zu partitions, %zu warnings in 300 random tables\n",
           total_parts, total_warnings);
  /* The generator does produce tables libblkid accepts, with entries that
   * cross the end of the disk. */
  assert_true (total_parts > 0);
  assert_true (total_warnings > 0);
}

/* Host errors from the fd callback are returned, not swallowed. */
static int
failing_fd (void *opaque, struct bdev *b, int *ret_fd, uint64_t *ret_offset)
{
  return -EMFILE;
}

static void
test_callback_error (void **state)
{
  REQUIRE_TOOLS ();
  make_ext4 ("cb.img", 8, "aaaaaaaa-1111-4222-8333-944455550000", "cb");
  struct bdev *disk = open_disk ("cb.img", 0);
  struct stack st = { 0 };
  assert_int_equal (stack_discover (&disk, 1, failing_fd, NULL, &st),
                    -EMFILE);
  assert_int_equal (st.n_fs, 0);
  /* Nothing leaked a reference to the disk: it is still ours alone. */
  assert_int_equal (disk->refcount, 1);
  bdev_unref (disk);

  assert_int_equal (stack_discover (NULL, 0, direct_fd, NULL, &st), 0);
  assert_int_equal (st.n_fs, 0);
  stack_clear (&st);
}

static int
setup (void **state)
{
  if (!mkdtemp (tmpdir))
    return -1;
  have_tmpdir = true;
  return 0;
}

static int
teardown (void **state)
{
  if (have_tmpdir) {
    _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      return -1;
  }
  return 0;
}

int
main (void)
{
  log_init (false);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_gpt),
    cmocka_unit_test (test_mbr_logical),
    cmocka_unit_test (test_whole_disk_and_two_disks),
    cmocka_unit_test (test_random_bytes),
    cmocka_unit_test (test_empty_disk),
    cmocka_unit_test (test_truncated_gpt),
    cmocka_unit_test (test_truncated_mbr),
    cmocka_unit_test (test_fuzzed_mbr),
    cmocka_unit_test (test_ambivalent),
    cmocka_unit_test (test_callback_error),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
