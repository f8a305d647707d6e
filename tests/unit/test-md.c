/* Unit tests: md RAID in userspace (src/stack/md.c, src/block/raid.c).
 *
 * - GF(2^8) arithmetic and the stripe/parity mapping of every level and
 *   layout (hand-checked tables plus invariants over many stripes);
 * - superblock parsing: good superblocks of every version written by
 *   tests/fixtures/mdgen.py (cross-checked with `mdadm --examine` when
 *   mdadm is installed), corrupt checksums, truncated devices, hostile
 *   values and random bytes;
 * - real arrays generated from random data, read back byte-exact through
 *   md_assemble, whole and degraded, and refused when too many members are
 *   missing.
 * Tests that need python3 (for mdgen.py) skip without it.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/bdev.h"
#include "block/raid.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/md.h"

static char tmpdir[] = "/tmp/ngm-test-md.XXXXXX";
static char *mdgen;                   /* path of mdgen.py, NULL: skip */

#define KiB 1024u
#define MiB (1024u * 1024)

static void
fill_random (uint8_t *buf, size_t len, uint64_t seed)
{
  uint64_t x = seed ? seed : 88172645463325252ull;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (uint8_t) (x >> 24);
  }
}

static uint64_t rng_state = 12345;
static uint64_t
rnd (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static char *
tmp_path (const char *rel)
{
  return xasprintf ("%s/%s", tmpdir, rel);
}

static void
write_file (const char *rel, const void *content, size_t len)
{
  _cleanup_free_ char *path = tmp_path (rel);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (pwrite_full (fd, content, len, 0), 0);
  close (fd);
}

static uint8_t *
read_whole (const char *rel, size_t *len)
{
  _cleanup_free_ char *path = tmp_path (rel);
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  uint8_t *buf = malloc (st.st_size);
  int fd = open (path, O_RDONLY);
  assert_true (fd >= 0);
  assert_int_equal (pread_full (fd, buf, st.st_size, 0), 0);
  close (fd);
  *len = st.st_size;
  return buf;
}

/* Run a shell command in tmpdir; returns its exit status.  When out is
 * not NULL, stdout is captured there. */
static int
run (char **out, const char *fmt, ...)
{
  va_list ap;
  char *cmd = NULL;
  va_start (ap, fmt);
  assert_true (vasprintf (&cmd, fmt, ap) >= 0);
  va_end (ap);
  _cleanup_free_ char *full
    = xasprintf ("cd '%s' && { %s ; } 2>/dev/null", tmpdir, cmd);
  free (cmd);
  FILE *f = popen (full, "r");
  assert_non_null (f);
  char buf[4096];
  size_t len = 0, r;
  char *acc = xstrdup ("");
  while ((r = fread (buf, 1, sizeof buf, f)) > 0) {
    acc = realloc (acc, len + r + 1);
    memcpy (acc + len, buf, r);
    len += r;
    acc[len] = '\0';
  }
  int st = pclose (f);
  if (out)
    *out = acc;
  else
    free (acc);
  return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

static struct bdev *
open_member (const char *rel)
{
  _cleanup_free_ char *path = tmp_path (rel);
  _cleanup_free_ char *msg = NULL;
  struct bdev *b = NULL;
  int r = bdev_file_open (path, true, rel, &b, &msg);
  if (r < 0)
    fail_msg ("open %s: %s", rel, msg ? msg : strerror (-r));
  return b;
}

static int
setup (void **state)
{
  log_init (false);            /* NGUESTMOUNT_DEBUG=stack,block for detail */
  if (!mkdtemp (tmpdir))
    return -1;
  const char *top = getenv ("top_srcdir");
  char *path;
  if (top)
    path = xasprintf ("%s/tests/fixtures/mdgen.py", top);
  else {
    /* __FILE__ is .../tests/unit/test-md.c */
    char *f = xstrdup (__FILE__);
    char *s = strstr (f, "tests/unit/test-md.c");
    if (s)
      *s = '\0';
    path = xasprintf ("%s%stests/fixtures/mdgen.py", f, s && s != f ? "" : "./");
    free (f);
  }
  if (find_program ("python3", NULL) && access (path, R_OK) == 0)
    mdgen = path;
  else
    free (path);
  return 0;
}

static int
teardown (void **state)
{
  _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    return -1;
  free (mdgen);
  return 0;
}

/* ---- GF(2^8) ----------------------------------------------------------- */

static void
test_gf (void **state)
{
  assert_int_equal (raid_gf_exp (0), 1);
  assert_int_equal (raid_gf_exp (1), 2);
  assert_int_equal (raid_gf_exp (8), 0x1d);      /* x^8 = x^4+x^3+x^2+1 */
  assert_int_equal (raid_gf_exp (255), 1);
  assert_int_equal (raid_gf_mul (0x80, 2), 0x1d);
  assert_int_equal (raid_gf_mul (0, 0x57), 0);
  for (unsigned a = 1; a < 256; a++) {
    assert_int_equal (raid_gf_mul ((uint8_t) a, 1), a);
    assert_int_equal (raid_gf_mul ((uint8_t) a, raid_gf_inv ((uint8_t) a)),
                      1);
    /* Multiplication by 2 is shift-and-reduce. */
    unsigned twice = a << 1;
    if (twice & 0x100)
      twice ^= 0x11d;
    assert_int_equal (raid_gf_mul ((uint8_t) a, 2), twice);
    for (unsigned b = 1; b < 256; b += 37)
      assert_int_equal (raid_gf_mul ((uint8_t) a, (uint8_t) b),
                        raid_gf_mul ((uint8_t) b, (uint8_t) a));
  }
  /* Distributivity on a sample. */
  for (unsigned i = 0; i < 1000; i++) {
    uint8_t a = rnd (), b = rnd (), c = rnd ();
    assert_int_equal (raid_gf_mul (a, b ^ c),
                      raid_gf_mul (a, b) ^ raid_gf_mul (a, c));
  }
}

/* ---- mapping ----------------------------------------------------------- */

static void
test_map_raid0_raid10 (void **state)
{
  struct raid_geom g = { .level = 0, .ndisks = 3, .chunk = 4096,
                         .member_size = 1 * MiB };
  struct raid_loc loc;
  raid_map_raid0 (&g, 0, &loc);
  assert_int_equal (loc.disk, 0);
  assert_int_equal (loc.offset, 0);
  raid_map_raid0 (&g, 4096 * 4 + 17, &loc);      /* chunk 4: disk 1, row 1 */
  assert_int_equal (loc.disk, 1);
  assert_int_equal (loc.offset, 4096 + 17);
  uint64_t size;
  assert_int_equal (raid_geom_check (&g, &size), 0);
  assert_int_equal (size, 3 * MiB);

  /* raid10 n2 over 3 disks: chunk 0 on 0,1; chunk 1 on 2,0 (row 0 then
   * row 1); chunk 2 on 1,2 (row 1). */
  struct raid_geom t = { .level = 10, .layout = 0x102, .ndisks = 3,
                         .chunk = 4096, .member_size = 16 * 4096 };
  unsigned disks[2];
  uint64_t offs[2];
  assert_int_equal (raid_map_raid10 (&t, 5, disks, offs), 2);
  assert_int_equal (disks[0], 0);
  assert_int_equal (disks[1], 1);
  assert_int_equal (offs[0], 5);
  assert_int_equal (offs[1], 5);
  raid_map_raid10 (&t, 4096 + 9, disks, offs);
  assert_int_equal (disks[0], 2);
  assert_int_equal (disks[1], 0);
  assert_int_equal (offs[0], 9);                 /* slot 2: row 0 */
  assert_int_equal (offs[1], 4096 + 9);          /* slot 3: row 1 */
  raid_map_raid10 (&t, 2 * 4096, disks, offs);
  assert_int_equal (disks[0], 1);
  assert_int_equal (disks[1], 2);
  assert_int_equal (offs[0], 4096);
  assert_int_equal (offs[1], 4096);
  assert_int_equal (raid_geom_check (&t, &size), 0);
  assert_int_equal (size, 16 * 4096 * 3 / 2);

  bool present[4] = { true, false, true, true };
  assert_true (raid_geom_degraded_ok (&t, present));
  present[2] = false;                            /* 1 and 2 hold chunk 2 */
  assert_false (raid_geom_degraded_ok (&t, present));
  /* n2 over 4 disks: pairs (0,1) (2,3); losing 0 and 2 is fine. */
  t.ndisks = 4;
  bool p4[4] = { false, true, false, true };
  assert_true (raid_geom_degraded_ok (&t, p4));
  bool p4b[4] = { false, false, true, true };
  assert_false (raid_geom_degraded_ok (&t, p4b));
  /* far copies are not handled */
  t.layout = 0x201;
  assert_int_equal (raid_geom_check (&t, &size), -EOPNOTSUPP);
}

/* Hand-checked raid5 layouts, 3 disks: data disk of chunks 0..5 and the
 * parity disk of stripes 0..2. */
static void
test_map_raid5_tables (void **state)
{
  static const struct {
    int layout;
    unsigned data[6];
    int pd[3];
  } t[] = {
    { RAID_LEFT_ASYMMETRIC,  { 0, 1, 0, 2, 1, 2 }, { 2, 1, 0 } },
    { RAID_RIGHT_ASYMMETRIC, { 1, 2, 0, 2, 0, 1 }, { 0, 1, 2 } },
    { RAID_LEFT_SYMMETRIC,   { 0, 1, 2, 0, 1, 2 }, { 2, 1, 0 } },
    { RAID_RIGHT_SYMMETRIC,  { 1, 2, 2, 0, 0, 1 }, { 0, 1, 2 } },
    { RAID_PARITY_0,         { 1, 2, 1, 2, 1, 2 }, { 0, 0, 0 } },
    { RAID_PARITY_N,         { 0, 1, 0, 1, 0, 1 }, { 2, 2, 2 } },
  };
  for (size_t i = 0; i < ARRAY_SIZE (t); i++) {
    struct raid_geom g = { .level = 5, .layout = t[i].layout, .ndisks = 3,
                           .chunk = 512, .member_size = 64 * 512 };
    for (unsigned c = 0; c < 6; c++) {
      struct raid_loc loc;
      raid_map_parity (&g, c * 512 + 3, &loc);
      assert_int_equal (loc.disk, t[i].data[c]);
      assert_int_equal (loc.pd, t[i].pd[c / 2]);
      assert_int_equal (loc.qd, -1);
      assert_int_equal (loc.offset, (c / 2) * 512 + 3);
    }
  }
  /* raid4 ignores the layout: parity on the last disk. */
  struct raid_geom g4 = { .level = 4, .layout = 2, .ndisks = 4, .chunk = 512,
                          .member_size = 512 };
  struct raid_loc loc;
  raid_map_parity (&g4, 2 * 512, &loc);
  assert_int_equal (loc.disk, 2);
  assert_int_equal (loc.pd, 3);
}

static void
test_map_raid6_tables (void **state)
{
  struct raid_geom g = { .level = 6, .layout = RAID_LEFT_SYMMETRIC,
                         .ndisks = 4, .chunk = 512, .member_size = 64 * 512 };
  struct raid_loc loc;
  /* stripe 0: P=3 Q=0, data 1 2 (slots 0 1) */
  raid_map_parity (&g, 0, &loc);
  assert_int_equal (loc.pd, 3);
  assert_int_equal (loc.qd, 0);
  assert_int_equal (loc.disk, 1);
  assert_int_equal (loc.slot, 0);
  raid_map_parity (&g, 512, &loc);
  assert_int_equal (loc.disk, 2);
  assert_int_equal (loc.slot, 1);
  /* stripe 1: P=2 Q=3, data 0 1 */
  raid_map_parity (&g, 2 * 512, &loc);
  assert_int_equal (loc.pd, 2);
  assert_int_equal (loc.qd, 3);
  assert_int_equal (loc.disk, 0);
  assert_int_equal (loc.slot, 0);

  /* left-asymmetric, 5 disks, stripe 1: D D D P Q -> P=3? no: pd = n-1-1
   * = 3, Q = 4, data 0 1 2; stripe 2: pd = 2, Q = 3: D D P Q D, and the
   * syndrome starts after Q: slots disk4=0, disk0=1, disk1=2. */
  g.layout = RAID_LEFT_ASYMMETRIC;
  g.ndisks = 5;
  raid_map_parity (&g, (2 * 3 + 2) * 512, &loc);  /* stripe 2, third data */
  assert_int_equal (loc.pd, 2);
  assert_int_equal (loc.qd, 3);
  assert_int_equal (loc.disk, 4);
  assert_int_equal (loc.slot, 0);
  raid_map_parity (&g, (2 * 3 + 0) * 512, &loc);
  assert_int_equal (loc.disk, 0);
  assert_int_equal (loc.slot, 1);
  /* stripe 0: pd = 4, Q = 0: Q D D D P */
  raid_map_parity (&g, 0, &loc);
  assert_int_equal (loc.pd, 4);
  assert_int_equal (loc.qd, 0);
  assert_int_equal (loc.disk, 1);
  assert_int_equal (loc.slot, 0);
}

/* For every level/layout and several disk counts: within a stripe, data
 * disks, P and Q are all different, slots are 0..data_disks-1 once each,
 * and the member offset is stripe * chunk + offset in chunk. */
static void
test_map_parity_invariants (void **state)
{
  for (int level = 4; level <= 6; level++) {
    for (int layout = 0; layout <= 5; layout++) {
      for (unsigned n = (level == 6 ? 4 : 2); n <= 9; n++) {
        struct raid_geom g = { .level = level, .layout = layout,
                               .ndisks = n, .chunk = 1024,
                               .member_size = 64 * 1024 };
        uint64_t size;
        assert_int_equal (raid_geom_check (&g, &size), 0);
        unsigned dd = n - (level == 6 ? 2 : 1);
        assert_int_equal (size, (uint64_t) dd * 64 * 1024);
        for (uint64_t stripe = 0; stripe < 2 * n + 1; stripe++) {
          bool used[16] = { false };
          bool slot_used[16] = { false };
          struct raid_loc loc;
          for (unsigned k = 0; k < dd; k++) {
            raid_map_parity (&g, (stripe * dd + k) * 1024 + 5, &loc);
            assert_int_equal (loc.stripe, stripe);
            assert_int_equal (loc.offset, stripe * 1024 + 5);
            assert_true (loc.disk < n);
            assert_false (used[loc.disk]);
            used[loc.disk] = true;
            if (level == 6) {
              assert_true (loc.slot < dd);
              assert_false (slot_used[loc.slot]);
              slot_used[loc.slot] = true;
            }
          }
          assert_true (loc.pd >= 0 && (unsigned) loc.pd < n);
          assert_false (used[loc.pd]);
          used[loc.pd] = true;
          if (level == 6) {
            assert_true (loc.qd >= 0 && (unsigned) loc.qd < n);
            assert_false (used[loc.qd]);
            used[loc.qd] = true;
          }
          else
            assert_int_equal (loc.qd, -1);
          for (unsigned i = 0; i < n; i++)
            assert_true (used[i]);
        }
      }
    }
  }
}

static void
test_geom_hostile (void **state)
{
  uint64_t size;
  struct raid_geom g = { .level = 5, .layout = 2, .ndisks = 3, .chunk = 0,
                         .member_size = 4096 };
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);   /* chunk 0 */
  g.chunk = 4096;
  g.ndisks = 0;
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);
  g.ndisks = 100000;
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);
  g.ndisks = 3;
  g.layout = 99;
  assert_int_equal (raid_geom_check (&g, &size), -EOPNOTSUPP);
  g.layout = 2;
  g.member_size = 4097;                       /* not whole chunks */
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);
  g.member_size = UINT64_MAX - UINT64_MAX % 4096;
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);   /* overflow */
  g.level = 6;
  g.ndisks = 3;
  g.member_size = 4096;
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);   /* < 4 disks */
  g.level = 7;
  assert_int_equal (raid_geom_check (&g, &size), -EOPNOTSUPP);
  g.level = 10;
  g.layout = 0x105;                           /* 5 copies on 3 disks */
  assert_int_equal (raid_geom_check (&g, &size), -EINVAL);
}

/* ---- superblocks: hand-made ------------------------------------------ */

static uint32_t
v1_csum (const uint8_t *sb)
{
  uint32_t max_dev;
  memcpy (&max_dev, sb + 220, 4);
  size_t len = 256 + 2 * (size_t) max_dev;
  if (len > 4096)
    len = 4096;                   /* hostile max_dev: md refuses it anyway */
  uint64_t s = 0;
  for (size_t i = 0; i + 4 <= len; i += 4) {
    uint32_t w;
    memcpy (&w, sb + i, 4);
    if (i != 216)
      s += w;
  }
  if (len % 4) {
    uint16_t h;
    memcpy (&h, sb + len - 2, 2);
    s += h;
  }
  return (uint32_t) ((s & 0xffffffff) + (s >> 32));
}

static void
put32 (uint8_t *p, uint32_t v)
{
  memcpy (p, &v, 4);              /* the test host is little-endian */
}

static void
put64 (uint8_t *p, uint64_t v)
{
  memcpy (p, &v, 8);
}

/* A valid v1.2 raid1 member of 4 MiB: 2 disks, data at 1 MiB. */
static void
make_v12 (uint8_t *sb)
{
  memset (sb, 0, 4096);
  put32 (sb, 0xa92b4efc);
  put32 (sb + 4, 1);
  for (int i = 0; i < 16; i++)
    sb[16 + i] = (uint8_t) (0x10 + i);
  memcpy (sb + 32, "host:evil", 9);
  put32 (sb + 72, 1);                     /* level */
  put64 (sb + 80, 6144);                  /* size: 3 MiB */
  put32 (sb + 92, 2);                     /* raid_disks */
  put64 (sb + 128, 2048);                 /* data_offset */
  put64 (sb + 136, 6144);                 /* data_size */
  put64 (sb + 144, 8);                    /* super_offset */
  put32 (sb + 160, 1);                    /* dev_number */
  put64 (sb + 200, 7);                    /* events */
  put32 (sb + 220, 2);                    /* max_dev */
  sb[256] = 0;
  sb[258] = 1;                            /* dev 1 -> role 1 */
  put32 (sb + 216, v1_csum (sb));
}

static int
examine_image (const uint8_t *sb, size_t sb_off, size_t dev_size,
               struct md_info *info, char **msg)
{
  _cleanup_free_ uint8_t *img = calloc (1, dev_size);
  memcpy (img + sb_off, sb, 4096);
  write_file ("hand.img", img, dev_size);
  struct bdev *b = open_member ("hand.img");
  int r = md_examine_msg (b, info, msg);
  bdev_unref (b);
  return r;
}

static void
test_sb_hand (void **state)
{
  uint8_t sb[4096];
  struct md_info info;
  char *msg = NULL;

  make_v12 (sb);
  assert_int_equal (examine_image (sb, 4096, 4 * MiB, &info, &msg), 0);
  assert_int_equal (info.version, 102);
  assert_int_equal (info.level, 1);
  assert_int_equal (info.role, 1);
  assert_int_equal (info.raid_disks, 2);
  assert_int_equal (info.data_offset, 1 * MiB);
  assert_int_equal (info.data_size, 3 * MiB);
  assert_int_equal (info.array_size, 3 * MiB);
  assert_int_equal (info.events, 7);
  assert_int_equal (info.preferred_minor, -1);
  assert_string_equal (info.name, "host:evil");
  _cleanup_free_ char *u = md_uuid_string (info.uuid);
  assert_string_equal (u, "10111213:14151617:18191a1b:1c1d1e1f");

  /* Nothing there. */
  memset (sb, 0, sizeof sb);
  assert_int_equal (examine_image (sb, 4096, 4 * MiB, &info, NULL), -ENOENT);

  /* Corrupt checksum. */
  make_v12 (sb);
  sb[100] ^= 1;
  assert_int_equal (examine_image (sb, 4096, 4 * MiB, &info, &msg), -EINVAL);
  assert_non_null (strstr (msg, "checksum"));
  free (msg);
  msg = NULL;

  /* Hostile values, each with a valid checksum. */
  struct {
    size_t off;
    int width;
    uint64_t v;
    const char *why;
  } bad[] = {
    { 92, 4, 0xffffffff, "raid disks" },     /* raid_disks huge */
    { 92, 4, 0, "raid disks" },
    { 128, 8, 8192, "past the end" },        /* data_offset past end */
    { 136, 8, UINT64_MAX / 256, "range" },   /* data_size overflows */
    { 80, 8, 100000, "exceeds" },            /* size > data area */
    { 144, 8, 0, "offset" },                 /* wrong super_offset */
    { 220, 4, 5000, "devices" },             /* max_dev beyond 4 KiB */
    { 128, 8, 0, "overlaps" },               /* data over the superblock */
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    make_v12 (sb);
    if (bad[i].width == 4)
      put32 (sb + bad[i].off, (uint32_t) bad[i].v);
    else
      put64 (sb + bad[i].off, bad[i].v);
    put32 (sb + 216, v1_csum (sb));
    int r = examine_image (sb, 4096, 4 * MiB, &info, &msg);
    if (r != -EINVAL || !msg || !strstr (msg, bad[i].why))
      fail_msg ("case %zu: r=%d msg=%s", i, r, msg ? msg : "(null)");
    free (msg);
    msg = NULL;
  }

  /* chunk 0 on a striped level. */
  make_v12 (sb);
  put32 (sb + 72, 5);
  put32 (sb + 88, 0);
  put32 (sb + 216, v1_csum (sb));
  assert_int_equal (examine_image (sb, 4096, 4 * MiB, &info, &msg), -EINVAL);
  assert_non_null (strstr (msg, "chunk"));
  free (msg);
  msg = NULL;

  /* Truncated devices: too small for any superblock, or cut right after
   * the v1.2 superblock (data area past the end). */
  make_v12 (sb);
  write_file ("tiny.img", sb, 100);
  struct bdev *b = open_member ("tiny.img");
  assert_int_equal (md_examine (b, &info), -ENOENT);
  bdev_unref (b);
  assert_int_equal (examine_image (sb, 4096, 8192, &info, NULL), -EINVAL);

  /* A dev_number beyond max_dev makes a spare, not a crash. */
  make_v12 (sb);
  put32 (sb + 160, 1000);
  put32 (sb + 216, v1_csum (sb));
  assert_int_equal (examine_image (sb, 4096, 4 * MiB, &info, NULL), 0);
  assert_int_equal (info.role, -1);

  /* Random bytes after the magic, with a checksum that matches: must
   * parse or be refused, never crash or give values outside the device. */
  for (unsigned iter = 0; iter < 300; iter++) {
    fill_random (sb, sizeof sb, iter + 1);
    put32 (sb, 0xa92b4efc);
    put32 (sb + 4, 1);
    if (iter % 2) {
      put64 (sb + 144, 8);
      put32 (sb + 220, (uint32_t) (rnd () % 2000));
      put32 (sb + 92, (uint32_t) (rnd () % 8));
    }
    uint32_t md;
    memcpy (&md, sb + 220, 4);
    if (md <= 1920)
      put32 (sb + 216, v1_csum (sb));
    int r = examine_image (sb, 4096, 1 * MiB, &info, &msg);
    assert_true (r == 0 || r == -EINVAL);
    if (r == 0) {
      assert_true (info.data_offset + info.data_size <= 1 * MiB);
      assert_true (info.role < (int) info.raid_disks);
    }
    free (msg);
    msg = NULL;
  }
}

/* A v0.90 superblock written by hand: uuid words print like mdadm. */
static void
test_sb_v090_hand (void **state)
{
  uint32_t w[1024] = { 0 };
  w[0] = 0xa92b4efc;
  w[2] = 90;
  w[5] = 0x01020304;
  w[13] = 0xaabbccdd;
  w[14] = 0x11223344;
  w[15] = 0x55667788;
  w[7] = 0;                     /* raid0 */
  w[8] = 1024;                  /* KiB per member */
  w[10] = 2;
  w[11] = 3;                    /* md3 */
  w[39] = 9;                    /* events */
  w[65] = 65536;
  w[992 + 3] = 1;
  w[992 + 4] = 6;
  uint64_t s = 0;
  for (int i = 0; i < 1024; i++)
    s += w[i];
  w[38] = (uint32_t) ((s & 0xffffffff) + (s >> 32));
  struct md_info info;
  size_t dev = 2 * MiB + 5000;   /* sb at (size & ~64K) - 64K */
  assert_int_equal (examine_image ((uint8_t *) w, 2 * MiB - 65536, dev,
                                   &info, NULL), 0);
  assert_int_equal (info.version, 90);
  assert_int_equal (info.preferred_minor, 3);
  assert_int_equal (info.role, 1);
  assert_int_equal (info.events, 9);
  assert_int_equal (info.component_size, 1 * MiB);
  assert_int_equal (info.array_size, 2 * MiB);
  _cleanup_free_ char *u = md_uuid_string (info.uuid);
  assert_string_equal (u, "01020304:aabbccdd:11223344:55667788");

  /* Member size beyond the superblock: refused. */
  w[8] = 4096;
  w[38] = 0;
  s = 0;
  for (int i = 0; i < 1024; i++)
    s += w[i];
  w[38] = (uint32_t) ((s & 0xffffffff) + (s >> 32));
  assert_int_equal (examine_image ((uint8_t *) w, 2 * MiB - 65536, dev,
                                   &info, NULL), -EINVAL);
  /* Bad checksum. */
  w[20] ^= 1;
  assert_int_equal (examine_image ((uint8_t *) w, 2 * MiB - 65536, dev,
                                   &info, NULL), -EINVAL);
}

/* ---- generated arrays ------------------------------------------------- */

struct array {
  unsigned n;
  struct bdev **m;
  struct md_info *info;
  uint8_t *src;
  size_t src_len;
  uint64_t array_size;
};

static void
array_free (struct array *a)
{
  for (unsigned i = 0; i < a->n; i++)
    bdev_unref (a->m[i]);
  free (a->m);
  free (a->info);
  free (a->src);
}

/* Generate members "g<tag>0..n-1" with mdgen.py from src_len random bytes,
 * check each with md_examine (and mdadm --examine), and open them. */
static void
gen_array (struct array *a, const char *tag, unsigned n, size_t src_len,
           const char *fmt, ...)
{
  va_list ap;
  char *extra = NULL;
  va_start (ap, fmt);
  assert_true (vasprintf (&extra, fmt, ap) >= 0);
  va_end (ap);

  memset (a, 0, sizeof *a);
  a->n = n;
  if (src_len == 0) {
    /* Most of the array, not all: the tail must read as zeros. */
    char *sz = NULL;
    assert_int_equal (run (&sz, "python3 '%s' --disks %u --data /dev/null "
                           "--out x --size-only %s", mdgen, n, extra), 0);
    uint64_t total;
    assert_int_equal (sscanf (sz, "array_size=%" SCNu64, &total), 1);
    free (sz);
    src_len = total - total / 16;
  }
  a->src_len = src_len;
  a->src = malloc (src_len);
  fill_random (a->src, src_len, rnd ());
  _cleanup_free_ char *srcname = xasprintf ("src-%s", tag);
  write_file (srcname, a->src, src_len);

  char *out = NULL;
  int st = run (&out, "python3 '%s' --disks %u --data %s --out g%s %s",
                mdgen, n, srcname, tag, extra);
  if (st != 0)
    fail_msg ("mdgen %s failed (%d)", extra, st);
  assert_int_equal (sscanf (out, "array_size=%" SCNu64, &a->array_size), 1);
  free (out);
  free (extra);

  a->m = xcalloc (n, sizeof *a->m);
  a->info = xcalloc (n, sizeof *a->info);
  bool have_mdadm = find_program ("mdadm", NULL);
  for (unsigned i = 0; i < n; i++) {
    _cleanup_free_ char *name = xasprintf ("g%s%u", tag, i);
    a->m[i] = open_member (name);
    _cleanup_free_ char *msg = NULL;
    int r = md_examine_msg (a->m[i], &a->info[i], &msg);
    if (r != 0)
      fail_msg ("md_examine %s: %d %s", name, r, msg ? msg : "");
    assert_int_equal (a->info[i].role, (int) i);
    if (a->info[i].level != RAID_LEVEL_LINEAR)
      assert_int_equal (a->info[i].array_size, a->array_size);
    if (have_mdadm && i == 0) {
      /* mdadm agrees on checksum, UUID and role. */
      char *ex = NULL;
      assert_int_equal (run (&ex, "mdadm --examine %s", name), 0);
      _cleanup_free_ char *u = md_uuid_string (a->info[i].uuid);
      if (!strstr (ex, "- correct") || !strstr (ex, u))
        fail_msg ("mdadm --examine %s disagrees (uuid %s):\n%s", name, u, ex);
      free (ex);
    }
  }
}

/* Read the whole array and many random ranges (crossing chunk and
 * member boundaries) and compare with the source. */
static void
check_reads (struct bdev *arr, const struct array *a)
{
  assert_int_equal (arr->size, a->array_size);
  _cleanup_free_ uint8_t *buf = malloc (arr->size);
  assert_int_equal (bdev_pread (arr, buf, arr->size, 0), 0);
  size_t cmp = a->src_len < arr->size ? a->src_len : arr->size;
  assert_memory_equal (buf, a->src, cmp);
  for (size_t i = cmp; i < arr->size; i++)
    assert_int_equal (buf[i], 0);
  for (unsigned k = 0; k < 60; k++) {
    uint64_t off = rnd () % arr->size;
    size_t len = 1 + rnd () % (300 * KiB);
    if (len > arr->size - off)
      len = arr->size - off;
    memset (buf, 0xaa, len);
    assert_int_equal (bdev_pread (arr, buf, len, off), 0);
    for (size_t i = 0; i < len; i++) {
      uint8_t want = off + i < a->src_len ? a->src[off + i] : 0;
      if (buf[i] != want)
        fail_msg ("byte %" PRIu64 " differs", off + i);
    }
  }
  /* Past the end: refused by the range check. */
  assert_int_equal (bdev_pread (arr, buf, 2, arr->size - 1), -EIO);
}

/* Assemble a with the members whose bit is set in mask; returns the
 * md_assemble result. */
static int
assemble_subset (const struct array *a, uint64_t mask, struct bdev **ret,
                 char **name, char **alias, struct strv *warnings,
                 char **msg)
{
  struct bdev *m[16];
  struct md_info inf[16];
  size_t k = 0;
  for (unsigned i = 0; i < a->n; i++)
    if (mask & (1ull << i)) {
      m[k] = a->m[i];
      inf[k++] = a->info[i];
    }
  unsigned minor = 127;
  return md_assemble (m, inf, k, &minor, ret, name, alias, warnings, msg);
}

struct case_def {
  const char *args;
  unsigned n;
  unsigned lost;          /* members that may be missing */
};

static void
run_case (const struct case_def *c, unsigned idx)
{
  struct array a;
  _cleanup_free_ char *tag = xasprintf ("c%u-", idx);
  print_message ("array: %u members, %s\n", c->n, c->args);
  /* Fill most of the array, not all: the tail must read as zeros. */
  gen_array (&a, tag, c->n, 0, "%s", c->args);

  uint64_t all = (1ull << c->n) - 1;
  struct bdev *arr = NULL;
  char *name = NULL, *alias = NULL, *msg = NULL;
  struct strv warnings = { 0 };
  int r = assemble_subset (&a, all, &arr, &name, &alias, &warnings, &msg);
  if (r != 0)
    fail_msg ("%s: assemble: %d %s", c->args, r, msg ? msg : "");
  check_reads (arr, &a);
  assert_int_equal (warnings.n, 0);
  if (a.info[0].version == 90) {
    assert_string_equal (name, "/dev/md0");
    assert_null (alias);
  }
  else {
    assert_string_equal (name, "/dev/md127");
    assert_string_equal (alias, "/dev/md/mdtest");
  }
  bdev_unref (arr);
  free (name);
  free (alias);
  strv_clear (&warnings);

  /* Every subset with up to `lost` members missing reads the same bytes;
   * one more missing member is refused with -ENODEV. */
  for (uint64_t mask = 1; mask < all; mask++) {
    unsigned missing = c->n - (unsigned) __builtin_popcountll (mask);
    if (missing > c->lost + 1 || missing == 0)
      continue;
    arr = NULL;
    r = assemble_subset (&a, mask, &arr, &name, &alias, &warnings, &msg);
    bool ok_expected = missing <= c->lost;
    if (a.info[0].level == 10) {
      struct raid_geom g = { .level = 10, .layout = a.info[0].layout,
                             .ndisks = c->n };
      bool present[16];
      for (unsigned i = 0; i < c->n; i++)
        present[i] = (mask >> i) & 1;
      ok_expected = raid_geom_degraded_ok (&g, present);
    }
    if (ok_expected) {
      if (r != 0)
        fail_msg ("%s mask %" PRIx64 ": %d %s", c->args, mask, r,
                  msg ? msg : "");
      check_reads (arr, &a);
      assert_true (warnings.n >= 1);          /* "running degraded" */
      bdev_unref (arr);
      free (name);
      free (alias);
    }
    else {
      if (r != -ENODEV)
        fail_msg ("%s mask %" PRIx64 ": %d %s", c->args, mask, r,
                  msg ? msg : "");
      assert_non_null (msg);
      assert_non_null (strstr (msg, "missing role"));
      free (msg);
      msg = NULL;
    }
    strv_clear (&warnings);
  }
  array_free (&a);
}

static const struct case_def cases[] = {
  { "--metadata 1.2 --level linear --member-size 1048576,2097152,1572864", 3, 0 },
  { "--metadata 0.90 --level linear --member-size 1048576,2097152", 2, 0 },
  { "--metadata 1.2 --level 0 --chunk 65536 --member-size 2097152", 3, 0 },
  { "--metadata 1.1 --level 0 --chunk 4096 --member-size 1048576", 4, 0 },
  { "--metadata 1.2 --level 1 --member-size 2097152", 2, 1 },
  { "--metadata 1.0 --level 1 --member-size 2097152", 3, 2 },
  { "--metadata 0.90 --level 1 --member-size 2097152", 2, 1 },
  { "--metadata 1.2 --level 10 --layout n2 --chunk 65536 --member-size 2097152", 4, 1 },
  { "--metadata 1.2 --level 10 --layout n2 --chunk 16384 --member-size 2097152", 3, 1 },
  { "--metadata 1.0 --level 10 --layout n3 --chunk 8192 --member-size 1048576", 5, 2 },
  { "--metadata 1.2 --level 4 --chunk 65536 --member-size 2097152", 3, 1 },
  { "--metadata 1.2 --level 5 --layout left-asymmetric --chunk 16384 --member-size 1048576", 4, 1 },
  { "--metadata 1.2 --level 5 --layout right-asymmetric --chunk 16384 --member-size 1048576", 4, 1 },
  { "--metadata 1.2 --level 5 --layout left-symmetric --chunk 65536 --member-size 2097152", 3, 1 },
  { "--metadata 1.1 --level 5 --layout right-symmetric --chunk 4096 --member-size 1048576", 5, 1 },
  { "--metadata 1.0 --level 5 --layout parity-first --chunk 8192 --member-size 1048576", 3, 1 },
  { "--metadata 0.90 --level 5 --layout parity-last --chunk 32768 --member-size 1048576", 4, 1 },
  { "--metadata 0.90 --level 5 --layout left-symmetric --chunk 65536 --member-size 2097152", 3, 1 },
  { "--metadata 1.2 --level 6 --layout left-symmetric --chunk 16384 --member-size 1048576", 5, 2 },
  { "--metadata 1.2 --level 6 --layout left-asymmetric --chunk 8192 --member-size 1048576", 5, 2 },
  { "--metadata 1.2 --level 6 --layout right-asymmetric --chunk 8192 --member-size 1048576", 6, 2 },
  { "--metadata 1.1 --level 6 --layout right-symmetric --chunk 4096 --member-size 1048576", 4, 2 },
  { "--metadata 1.0 --level 6 --layout parity-first --chunk 4096 --member-size 1048576", 4, 2 },
  { "--metadata 0.90 --level 6 --layout parity-last --chunk 65536 --member-size 2097152", 5, 2 },
};

static void
test_arrays (void **state)
{
  if (!mdgen)
    skip ();
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    run_case (&cases[i], (unsigned) i);
}

/* A member whose every read fails (a dying disk). */
static int
failing_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  return -EIO;
}
static const struct bdev_ops failing_ops = {
  .kind = "failing", .pread = failing_pread,
};

static void
test_read_errors (void **state)
{
  if (!mdgen)
    skip ();
  static const char *const args[] = {
    "--metadata 1.2 --level 5 --chunk 16384 --member-size 1048576",
    "--metadata 1.2 --level 6 --chunk 16384 --member-size 1048576",
    "--metadata 1.2 --level 1 --member-size 1048576",
    "--metadata 1.2 --level 10 --chunk 16384 --member-size 1048576",
  };
  for (size_t k = 0; k < ARRAY_SIZE (args); k++) {
    struct array a;
    _cleanup_free_ char *tag = xasprintf ("e%zu-", k);
    gen_array (&a, tag, 4, 0, "%s", args[k]);
    /* Member 1's data area (a slice) replaced by a node that fails every
     * read: assemble with the real one, then swap through a raid node built
     * directly from the geometry. */
    struct raid_geom g = {
      .level = a.info[0].level, .layout = a.info[0].layout, .ndisks = 4,
      .chunk = a.info[0].chunk_bytes,
      .member_size = a.info[0].component_size,
    };
    struct bdev *slices[4];
    for (unsigned i = 0; i < 4; i++)
      assert_int_equal (bdev_slice_new (a.m[i], a.info[i].data_offset,
                                        a.info[i].component_size, "s",
                                        &slices[i]), 0);
    struct bdev *bad = bdev_new (&failing_ops, "bad", g.member_size, true,
                                 NULL);
    struct bdev *saved = slices[1];
    slices[1] = bad;
    struct bdev *arr = NULL;
    assert_int_equal (bdev_raid_new (&g, slices, "/dev/md9", &arr), 0);
    check_reads (arr, &a);
    bdev_unref (arr);
    /* raid5 with a failing member and another missing: reads fail
     * cleanly with EIO, no crash. */
    if (g.level == 5) {
      struct bdev *s2 = slices[2];
      slices[2] = NULL;
      assert_int_equal (bdev_raid_new (&g, slices, "/dev/md9", &arr), 0);
      uint8_t buf[65536];
      int r = 0;
      for (uint64_t off = 0; off < arr->size && r == 0; off += sizeof buf)
        r = bdev_pread (arr, buf, sizeof buf, off);
      assert_int_equal (r, -EIO);
      bdev_unref (arr);
      slices[2] = s2;
    }
    slices[1] = saved;
    bdev_unref (bad);
    for (unsigned i = 0; i < 4; i++)
      bdev_unref (slices[i]);
    array_free (&a);
  }
}

/* Stale members, conflicting superblocks, foreign members. */
static void
test_assemble_problems (void **state)
{
  if (!mdgen)
    skip ();
  struct array a;
  gen_array (&a, "s-", 3, 1 * MiB,
             "--metadata 1.2 --level 5 --chunk 16384 --member-size 1048576 "
             "--member-events 2:5 --name 'otherhost:data'");
  struct bdev *arr = NULL;
  char *name = NULL, *alias = NULL, *msg = NULL;
  struct strv w = { 0 };
  assert_int_equal (assemble_subset (&a, 7, &arr, &name, &alias, &w, &msg),
                    0);
  check_reads (arr, &a);
  assert_string_equal (alias, "/dev/md/data");
  assert_true (w.n == 2);
  assert_non_null (strstr (w.v[0], "stale"));
  assert_non_null (strstr (w.v[1], "degraded"));
  bdev_unref (arr);
  free (name);
  free (alias);
  strv_clear (&w);

  /* Stale member plus a missing one: too many missing. */
  assert_int_equal (assemble_subset (&a, 6, &arr, &name, &alias, &w, &msg),
                    -ENODEV);
  assert_non_null (strstr (msg, "missing roles 0, 2"));
  free (msg);
  msg = NULL;
  strv_clear (&w);

  /* Duplicate role: the same member twice. */
  struct bdev *m[4] = { a.m[0], a.m[1], a.m[1], a.m[2] };
  struct md_info inf[4] = { a.info[0], a.info[1], a.info[1], a.info[2] };
  unsigned minor = 127;
  assert_int_equal (md_assemble (m, inf, 4, &minor, &arr, &name, &alias, &w,
                                 &msg), 0);
  assert_int_equal (minor, 126);
  assert_string_equal (name, "/dev/md127");
  bool dup = false;
  for (size_t i = 0; i < w.n; i++)
    dup |= strstr (w.v[i], "already taken") != NULL;
  assert_true (dup);
  bdev_unref (arr);
  free (name);
  free (alias);
  strv_clear (&w);

  /* Conflicting geometry: chunk size differs in one superblock. */
  inf[0] = a.info[0];
  inf[1] = a.info[1];
  inf[1].chunk_bytes *= 2;
  inf[2] = a.info[2];
  inf[2].events = inf[0].events;
  assert_int_equal (md_assemble (a.m, inf, 3, &minor, &arr, &name, &alias,
                                 &w, &msg), 0);
  assert_non_null (strstr (w.v[0], "conflicting"));
  check_reads (arr, &a);                  /* degraded, from 0 and 2 */
  bdev_unref (arr);
  free (name);
  free (alias);
  strv_clear (&w);

  /* Different arrays. */
  inf[1] = a.info[1];
  inf[1].uuid[3] ^= 1;
  assert_int_equal (md_assemble (a.m, inf, 3, &minor, &arr, &name, &alias,
                                 &w, &msg), -EINVAL);
  free (msg);
  msg = NULL;

  /* Hostile name: path separators never reach the alias. */
  inf[1] = a.info[1];
  strcpy (inf[0].name, "h:../../etc");
  strcpy (inf[1].name, inf[0].name);
  strcpy (inf[2].name, inf[0].name);
  assert_int_equal (md_assemble (a.m, inf, 3, &minor, &arr, &name, &alias,
                                 &w, &msg), 0);
  assert_null (strchr (alias + strlen ("/dev/md/"), '/'));
  bdev_unref (arr);
  free (name);
  free (alias);
  strv_clear (&w);
  array_free (&a);

  /* Corrupt one generated member's superblock: md_examine refuses it. */
  gen_array (&a, "k-", 2, 4096,
             "--metadata 1.0 --level 1 --member-size 1048576");
  size_t len;
  uint8_t *img = read_whole ("gk-1", &len);
  img[a.info[1].sb_offset + 40] ^= 0x55;
  write_file ("gk-1", img, len);
  free (img);
  struct bdev *b = open_member ("gk-1");
  struct md_info info;
  assert_int_equal (md_examine (b, &info), -EINVAL);
  bdev_unref (b);
  array_free (&a);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_gf),
    cmocka_unit_test (test_map_raid0_raid10),
    cmocka_unit_test (test_map_raid5_tables),
    cmocka_unit_test (test_map_raid6_tables),
    cmocka_unit_test (test_map_parity_invariants),
    cmocka_unit_test (test_geom_hostile),
    cmocka_unit_test (test_sb_hand),
    cmocka_unit_test (test_sb_v090_hand),
    cmocka_unit_test (test_arrays),
    cmocka_unit_test (test_read_errors),
    cmocka_unit_test (test_assemble_problems),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
