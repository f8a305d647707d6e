/* nguestmount: RAID block devices in userspace (see raid.h).
 *
 * Every read is split into pieces that stay inside one chunk of one
 * member; each piece is read from the member that holds it.  When that
 * member is missing or its read fails, a redundant level rebuilds the
 * piece from the other members of the same stripe: raid1/raid10 read
 * another copy, raid4/5 XOR the rest of the stripe, raid6 solves with P
 * and/or Q in GF(2^8).  Reconstruction streams member by member through
 * two or three piece-sized buffers, so memory does not grow with the
 * number of members.
 *
 * Thread model: nodes hold only immutable data after creation; the GF
 * tables are built once under pthread_once.  Reads may run concurrently.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "block/bdev.h"
#include "block/raid.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

/* md never has more roles than fit in a 4 KiB v1 superblock. */
#define RAID_MAX_DISKS 1920u
/* Largest piece reconstructed at once (bounds the scratch buffers). */
#define RECON_PIECE_MAX (256u * 1024)

/* ---- GF(2^8) ---------------------------------------------------------- */

static uint8_t gf_exp_table[512];
static uint8_t gf_log_table[256];
static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

static void
gf_init (void)
{
  unsigned x = 1;
  for (unsigned i = 0; i < 255; i++) {
    gf_exp_table[i] = (uint8_t) x;
    gf_log_table[x] = (uint8_t) i;
    x <<= 1;
    if (x & 0x100)
      x ^= 0x11d;
  }
  for (unsigned i = 255; i < 512; i++)
    gf_exp_table[i] = gf_exp_table[i - 255];
  gf_log_table[0] = 0;           /* unused: 0 has no logarithm */
}

uint8_t
raid_gf_mul (uint8_t a, uint8_t b)
{
  pthread_once (&gf_once, gf_init);
  if (a == 0 || b == 0)
    return 0;
  return gf_exp_table[gf_log_table[a] + gf_log_table[b]];
}

uint8_t
raid_gf_exp (unsigned power)
{
  pthread_once (&gf_once, gf_init);
  return gf_exp_table[power % 255];
}

uint8_t
raid_gf_inv (uint8_t a)
{
  pthread_once (&gf_once, gf_init);
  if (a == 0)
    return 0;
  return gf_exp_table[255 - gf_log_table[a]];
}

/* dst ^= c * src over len bytes. */
static void
gf_mul_xor (uint8_t *dst, const uint8_t *src, size_t len, uint8_t c)
{
  if (c == 0)
    return;
  if (c == 1) {
    for (size_t i = 0; i < len; i++)
      dst[i] ^= src[i];
    return;
  }
  uint8_t row[256];
  for (unsigned v = 0; v < 256; v++)
    row[v] = raid_gf_mul ((uint8_t) v, c);
  for (size_t i = 0; i < len; i++)
    dst[i] ^= row[src[i]];
}

/* buf = c * buf. */
static void
gf_scale (uint8_t *buf, size_t len, uint8_t c)
{
  uint8_t row[256];
  for (unsigned v = 0; v < 256; v++)
    row[v] = raid_gf_mul ((uint8_t) v, c);
  for (size_t i = 0; i < len; i++)
    buf[i] = row[buf[i]];
}

/* ---- geometry --------------------------------------------------------- */

static unsigned
raid10_near (const struct raid_geom *g)
{
  return (unsigned) g->layout & 0xff;
}

int
raid_geom_check (const struct raid_geom *g, uint64_t *ret_size)
{
  uint64_t size = 0, chunks;
  unsigned n = g->ndisks;

  if (n == 0 || n > RAID_MAX_DISKS)
    return -EINVAL;
  switch (g->level) {
  case 1:
    size = g->member_size;
    break;
  case 0:
  case 4:
  case 5:
  case 6:
  case 10:
    if (g->chunk == 0 || g->member_size % g->chunk != 0)
      return -EINVAL;
    chunks = g->member_size / g->chunk;
    if (g->level == 0) {
      if (__builtin_mul_overflow (g->member_size, (uint64_t) n, &size))
        return -EINVAL;
    }
    else if (g->level == 10) {
      unsigned near = raid10_near (g);
      if (((unsigned) g->layout & ~0xffu) != 0x100)
        return -EOPNOTSUPP;      /* far or offset copies */
      if (near == 0 || near > n)
        return -EINVAL;
      uint64_t t;
      if (__builtin_mul_overflow (chunks, (uint64_t) n, &t))
        return -EINVAL;
      if (__builtin_mul_overflow (t / near, g->chunk, &size))
        return -EINVAL;
    }
    else {
      unsigned parity = g->level == 6 ? 2 : 1;
      if (n < parity + 1 || (g->level == 6 && n < 4))
        return -EINVAL;
      if (g->level != 4 && (g->layout < 0 || g->layout > RAID_PARITY_N))
        return -EOPNOTSUPP;
      if (__builtin_mul_overflow (g->member_size, (uint64_t) (n - parity),
                                  &size))
        return -EINVAL;
    }
    break;
  default:
    return -EOPNOTSUPP;
  }
  if (size > INT64_MAX)
    return -EINVAL;
  if (ret_size)
    *ret_size = size;
  return 0;
}

unsigned
raid_geom_redundancy (const struct raid_geom *g)
{
  switch (g->level) {
  case 1:
    return g->ndisks - 1;
  case 4:
  case 5:
    return 1;
  case 6:
    return 2;
  case 10:
    return raid10_near (g) > 0 ? raid10_near (g) - 1 : 0;
  default:
    return 0;
  }
}

bool
raid_geom_degraded_ok (const struct raid_geom *g, const bool *present)
{
  unsigned missing = 0;
  for (unsigned i = 0; i < g->ndisks; i++)
    if (!present[i])
      missing++;
  if (missing == 0)
    return true;
  if (g->level == 1)
    return missing < g->ndisks;
  if (g->level == 10) {
    /* Copy sets start at chunk slot c * near; their pattern repeats
     * within ndisks chunks. */
    unsigned near = raid10_near (g);
    if (near == 0)
      return false;
    for (unsigned c = 0; c < g->ndisks; c++) {
      bool any = false;
      for (unsigned i = 0; i < near; i++)
        if (present[((uint64_t) c * near + i) % g->ndisks])
          any = true;
      if (!any)
        return false;
    }
    return true;
  }
  return missing <= raid_geom_redundancy (g);
}

void
raid_map_raid0 (const struct raid_geom *g, uint64_t offset,
                struct raid_loc *ret)
{
  uint64_t chunkno = offset / g->chunk;
  memset (ret, 0, sizeof *ret);
  ret->disk = (unsigned) (chunkno % g->ndisks);
  ret->stripe = chunkno / g->ndisks;
  ret->offset = ret->stripe * g->chunk + offset % g->chunk;
  ret->pd = ret->qd = -1;
}

unsigned
raid_map_raid10 (const struct raid_geom *g, uint64_t offset, unsigned *disks,
                 uint64_t *offsets)
{
  unsigned near = raid10_near (g);
  uint64_t chunkno = offset / g->chunk;
  uint64_t slot = chunkno * near;       /* first copy's chunk slot */

  /* Chunk slots fill rows of ndisks chunks: slot s is member s % ndisks,
   * row s / ndisks. */
  for (unsigned i = 0; i < near; i++) {
    disks[i] = (unsigned) ((slot + i) % g->ndisks);
    offsets[i] = ((slot + i) / g->ndisks) * g->chunk + offset % g->chunk;
  }
  return near;
}

void
raid_map_parity (const struct raid_geom *g, uint64_t offset,
                 struct raid_loc *ret)
{
  unsigned n = g->ndisks;
  unsigned data_disks = n - (g->level == 6 ? 2 : 1);
  uint64_t chunkno = offset / g->chunk;
  uint64_t stripe = chunkno / data_disks;
  unsigned dd = (unsigned) (chunkno % data_disks);
  unsigned rot = (unsigned) (stripe % n);
  int pd = 0, qd = -1;

  if (g->level == 4) {
    pd = (int) data_disks;
  }
  else if (g->level == 5) {
    switch (g->layout) {
    case RAID_LEFT_ASYMMETRIC:
      pd = (int) (data_disks - rot);
      if (dd >= (unsigned) pd)
        dd++;
      break;
    case RAID_RIGHT_ASYMMETRIC:
      pd = (int) rot;
      if (dd >= (unsigned) pd)
        dd++;
      break;
    case RAID_LEFT_SYMMETRIC:
      pd = (int) (data_disks - rot);
      dd = (pd + 1 + dd) % n;
      break;
    case RAID_RIGHT_SYMMETRIC:
      pd = (int) rot;
      dd = (pd + 1 + dd) % n;
      break;
    case RAID_PARITY_0:
      pd = 0;
      dd++;
      break;
    default:                    /* RAID_PARITY_N */
      pd = (int) data_disks;
      break;
    }
  }
  else {                        /* raid6 */
    switch (g->layout) {
    case RAID_LEFT_ASYMMETRIC:
    case RAID_RIGHT_ASYMMETRIC:
      pd = (int) (g->layout == RAID_LEFT_ASYMMETRIC ? n - 1 - rot : rot);
      qd = pd + 1;
      if ((unsigned) pd == n - 1) {
        dd++;                   /* Q D D D P */
        qd = 0;
      }
      else if (dd >= (unsigned) pd)
        dd += 2;                /* D D P Q D */
      break;
    case RAID_LEFT_SYMMETRIC:
    case RAID_RIGHT_SYMMETRIC:
      pd = (int) (g->layout == RAID_LEFT_SYMMETRIC ? n - 1 - rot : rot);
      qd = (int) ((pd + 1) % n);
      dd = (pd + 2 + dd) % n;
      break;
    case RAID_PARITY_0:
      pd = 0;
      qd = 1;
      dd += 2;
      break;
    default:                    /* RAID_PARITY_N */
      pd = (int) data_disks;
      qd = (int) data_disks + 1;
      break;
    }
  }

  ret->disk = dd;
  ret->stripe = stripe;
  ret->offset = stripe * g->chunk + offset % g->chunk;
  ret->pd = pd;
  ret->qd = qd;
  ret->slot = 0;
  if (qd >= 0) {
    /* md numbers the syndrome's data blocks in disk order starting just
     * after Q (wrapping to 0 when Q is the last disk). */
    unsigned d0 = (unsigned) qd == n - 1 ? 0 : (unsigned) qd + 1;
    ret->slot = (dd + n - d0) % n;
  }
}

/* ---- nodes ------------------------------------------------------------ */

struct raid_data {
  struct raid_geom g;
  unsigned n;                   /* entries in m */
  struct bdev **m;              /* NULL = missing */
  uint64_t *starts;             /* linear: n + 1 cumulative offsets */
};

static void
raid_destroy (struct bdev *b)
{
  struct raid_data *d = b->data;
  if (!d)
    return;
  for (unsigned i = 0; i < d->n; i++)
    bdev_unref (d->m[i]);
  free (d->m);
  free (d->starts);
  free (d);
}

static int
member_read (struct raid_data *d, unsigned disk, void *buf, size_t len,
             uint64_t offset)
{
  if (disk >= d->n || !d->m[disk])
    return -EIO;
  return bdev_pread (d->m[disk], buf, len, offset);
}

static int
linear_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct raid_data *d = b->data;
  uint8_t *p = buf;

  while (count > 0) {
    /* Binary search for the member with starts[i] <= offset < starts[i+1]. */
    unsigned lo = 0, hi = d->n;
    while (hi - lo > 1) {
      unsigned mid = lo + (hi - lo) / 2;
      if (d->starts[mid] <= offset)
        lo = mid;
      else
        hi = mid;
    }
    uint64_t in = offset - d->starts[lo];
    uint64_t avail = d->starts[lo + 1] - offset;
    size_t len = count < avail ? count : (size_t) avail;
    int r = member_read (d, lo, p, len, in);
    if (r < 0)
      return r;
    p += len;
    offset += len;
    count -= len;
  }
  return 0;
}

static int
raid0_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct raid_data *d = b->data;
  uint8_t *p = buf;

  while (count > 0) {
    struct raid_loc loc;
    uint64_t left = d->g.chunk - offset % d->g.chunk;
    size_t len = count < left ? count : (size_t) left;
    raid_map_raid0 (&d->g, offset, &loc);
    int r = member_read (d, loc.disk, p, len, loc.offset);
    if (r < 0)
      return r;
    p += len;
    offset += len;
    count -= len;
  }
  return 0;
}

/* Try the copies in order; the first good read wins.  offsets NULL: the
 * same offset on every copy. */
static int
read_any_copy (struct raid_data *d, const unsigned *disks,
               const uint64_t *offsets, unsigned ncopies, void *buf,
               size_t len, uint64_t offset)
{
  int r = -EIO;
  for (unsigned i = 0; i < ncopies; i++) {
    if (!d->m[disks[i]])
      continue;
    r = member_read (d, disks[i], buf, len, offsets ? offsets[i] : offset);
    if (r == 0)
      return 0;
    log_debug (LOG_CAT_BLOCK, "raid: read of member %u failed (%d), "
               "trying another copy", disks[i], r);
  }
  return r;
}

static int
raid1_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct raid_data *d = b->data;
  _cleanup_free_ unsigned *disks = xcalloc (d->n, sizeof *disks);
  for (unsigned i = 0; i < d->n; i++)
    disks[i] = i;
  return read_any_copy (d, disks, NULL, d->n, buf, count, offset);
}

static int
raid10_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct raid_data *d = b->data;
  uint8_t *p = buf;
  unsigned near = raid10_near (&d->g);
  _cleanup_free_ unsigned *disks = xcalloc (near, sizeof *disks);
  _cleanup_free_ uint64_t *moffs = xcalloc (near, sizeof *moffs);

  while (count > 0) {
    uint64_t left = d->g.chunk - offset % d->g.chunk;
    size_t len = count < left ? count : (size_t) left;
    unsigned nc = raid_map_raid10 (&d->g, offset, disks, moffs);
    int r = read_any_copy (d, disks, moffs, nc, p, len, offset);
    if (r < 0)
      return r;
    p += len;
    offset += len;
    count -= len;
  }
  return 0;
}

/* Rebuild len bytes of data disk loc->disk at member offset loc->offset
 * into out, from the other members of the stripe.  len is at most
 * RECON_PIECE_MAX. */
static int
parity_rebuild (struct raid_data *d, const struct raid_loc *loc, uint8_t *out,
                size_t len)
{
  unsigned n = d->g.ndisks;
  bool raid6 = loc->qd >= 0;
  unsigned d0 = 0;
  int other = -1;               /* a second unreadable disk (raid6) */
  bool have_p = false, have_q = false;
  _cleanup_free_ uint8_t *tmp = malloc (len);
  _cleanup_free_ uint8_t *accq = raid6 ? calloc (1, len) : NULL;

  if (!tmp || (raid6 && !accq))
    return -ENOMEM;
  if (raid6)
    d0 = (unsigned) loc->qd == n - 1 ? 0 : (unsigned) loc->qd + 1;

  /* out accumulates the XOR of everything readable (P side); accq the Q
   * side: sum of g^slot * D over readable data disks, plus Q itself. */
  memset (out, 0, len);
  for (unsigned i = 0; i < n; i++) {
    if (i == loc->disk)
      continue;
    int r = member_read (d, i, tmp, len, loc->offset);
    if (r < 0) {
      log_debug (LOG_CAT_BLOCK, "raid: member %u unreadable in stripe %"
                 PRIu64 " (%d)", i, loc->stripe, r);
      if (!raid6 || other >= 0)
        return -EIO;            /* more failures than the level survives */
      other = (int) i;
      continue;
    }
    if ((int) i == loc->pd) {
      have_p = true;
      for (size_t k = 0; k < len; k++)
        out[k] ^= tmp[k];
    }
    else if ((int) i == loc->qd) {
      have_q = true;
      for (size_t k = 0; k < len; k++)
        accq[k] ^= tmp[k];
    }
    else {
      for (size_t k = 0; k < len; k++)
        out[k] ^= tmp[k];
      if (raid6)
        gf_mul_xor (accq, tmp, len, raid_gf_exp ((i + n - d0) % n));
    }
  }

  if (have_p && (other < 0 || other == loc->qd))
    return 0;                   /* out = P ^ other data = the lost block */

  if (!raid6 || !have_q)
    return -EIO;

  uint8_t ga = raid_gf_exp (loc->slot);
  if (other == loc->pd) {
    /* accq = Q ^ sum(others) = g^a * Dx; out holds no P: ignore it. */
    memcpy (out, accq, len);
    gf_scale (out, len, raid_gf_inv (ga));
    return 0;
  }

  /* Two data blocks lost, x (wanted) and y = other:
   *   out  = Dx ^ Dy
   *   accq = g^a Dx ^ g^b Dy
   * so Dx = (accq ^ g^b out) / (g^a ^ g^b). */
  unsigned slot_y = ((unsigned) other + n - d0) % n;
  uint8_t gb = raid_gf_exp (slot_y);
  uint8_t inv = raid_gf_inv (ga ^ gb);
  uint8_t row_q[256], row_p[256];
  for (unsigned v = 0; v < 256; v++) {
    row_q[v] = raid_gf_mul ((uint8_t) v, inv);
    row_p[v] = raid_gf_mul ((uint8_t) v, raid_gf_mul (gb, inv));
  }
  for (size_t k = 0; k < len; k++)
    out[k] = row_q[accq[k]] ^ row_p[out[k]];
  return 0;
}

static int
parity_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct raid_data *d = b->data;
  uint8_t *p = buf;

  while (count > 0) {
    struct raid_loc loc;
    uint64_t left = d->g.chunk - offset % d->g.chunk;
    size_t len = count < left ? count : (size_t) left;
    raid_map_parity (&d->g, offset, &loc);

    int r = -EIO;
    if (d->m[loc.disk]) {
      r = member_read (d, loc.disk, p, len, loc.offset);
      if (r < 0)
        log_debug (LOG_CAT_BLOCK, "%s: member %u read failed (%d), "
                   "rebuilding from parity", b->name, loc.disk, r);
    }
    if (r < 0) {
      if (len > RECON_PIECE_MAX)
        len = RECON_PIECE_MAX;
      r = parity_rebuild (d, &loc, p, len);
      if (r < 0)
        return r;
    }
    p += len;
    offset += len;
    count -= len;
  }
  return 0;
}

static const struct bdev_ops linear_ops = {
  .kind = "md-linear", .pread = linear_pread, .destroy = raid_destroy,
};
static const struct bdev_ops raid0_ops = {
  .kind = "md-raid0", .pread = raid0_pread, .destroy = raid_destroy,
};
static const struct bdev_ops raid1_ops = {
  .kind = "md-raid1", .pread = raid1_pread, .destroy = raid_destroy,
};
static const struct bdev_ops raid10_ops = {
  .kind = "md-raid10", .pread = raid10_pread, .destroy = raid_destroy,
};
static const struct bdev_ops parity_ops = {
  .kind = "md-parity", .pread = parity_pread, .destroy = raid_destroy,
};

int
bdev_raid_linear_new (struct bdev *const *members, size_t n, const char *name,
                      struct bdev **ret)
{
  if (n == 0 || n > RAID_MAX_DISKS)
    return -EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!members[i])
      return -ENODEV;

  struct raid_data *d = xcalloc (1, sizeof *d);
  d->g.level = RAID_LEVEL_LINEAR;
  d->g.ndisks = (unsigned) n;
  d->n = (unsigned) n;
  d->m = xcalloc (n, sizeof *d->m);
  d->starts = xcalloc (n + 1, sizeof *d->starts);
  for (size_t i = 0; i < n; i++) {
    if (__builtin_add_overflow (d->starts[i], members[i]->size,
                                &d->starts[i + 1])
        || d->starts[i + 1] > INT64_MAX) {
      free (d->starts);
      free (d->m);
      free (d);
      return -EINVAL;
    }
  }
  for (size_t i = 0; i < n; i++)
    d->m[i] = bdev_ref (members[i]);

  *ret = bdev_new (&linear_ops, name, d->starts[n], true, d);
  log_debug (LOG_CAT_BLOCK, "%s: linear over %zu members, %" PRIu64 " bytes",
             (*ret)->name, n, d->starts[n]);
  return 0;
}

int
bdev_raid_new (const struct raid_geom *g, struct bdev *const *members,
               const char *name, struct bdev **ret)
{
  uint64_t size;
  int r = raid_geom_check (g, &size);
  if (r < 0)
    return r;

  _cleanup_free_ bool *present = xcalloc (g->ndisks, sizeof *present);
  for (unsigned i = 0; i < g->ndisks; i++) {
    if (members[i] && members[i]->size < g->member_size)
      return -EINVAL;
    present[i] = members[i] != NULL;
  }
  if (!raid_geom_degraded_ok (g, present))
    return -ENODEV;

  const struct bdev_ops *ops;
  switch (g->level) {
  case 0: ops = &raid0_ops; break;
  case 1: ops = &raid1_ops; break;
  case 10: ops = &raid10_ops; break;
  default: ops = &parity_ops; break;
  }

  struct raid_data *d = xcalloc (1, sizeof *d);
  d->g = *g;
  d->n = g->ndisks;
  d->m = xcalloc (g->ndisks, sizeof *d->m);
  for (unsigned i = 0; i < g->ndisks; i++)
    d->m[i] = bdev_ref (members[i]);

  *ret = bdev_new (ops, name, size, true, d);
  log_debug (LOG_CAT_BLOCK, "%s: raid%d layout %d, %u members, chunk %" PRIu64
             ", %" PRIu64 " bytes", (*ret)->name, g->level, g->layout,
             g->ndisks, g->chunk, size);
  return 0;
}
