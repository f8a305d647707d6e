/* nguestmount: LVM2 in userspace: PV labels, metadata areas, VG assembly
 * and one mapping bdev per logical volume (see lvm.h).
 *
 * On-disk format (LVM2 "text" format, lib/format_text in lvm2):
 *   label: one of sectors 0-3: "LABELONE", u64 sector, u32 crc of bytes
 *          20..511, u32 offset of the PV header (normally 32), "LVM2 001";
 *   PV header: 32-char uuid, u64 device size, then two lists of
 *          (u64 offset, u64 size) pairs, each ended by a zero pair: data
 *          areas, then metadata areas (mdas);
 *   mda header (512 bytes at the mda start): u32 crc of bytes 4..511,
 *          magic " LVM2 x[5A%r0N*>", u32 version 1, u64 start, u64 size,
 *          then raw_locn entries (u64 offset from the mda start, u64 size,
 *          u32 crc of the text, u32 flags); entry 0 is the committed text,
 *          stored in a circular buffer after the header.
 * All integers little-endian.
 *
 * Thread model: lvm_scan runs on one thread; the bdevs it returns are
 * thread-safe (lvmap.c).
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/lvm.h"

#define SECTOR 512u
#define LABEL_SCAN_SECTORS 4
#define MDA_HEADER_SIZE 512u
#define MDA_MAGIC " LVM2 x[5A%r0N*>"
#define RAW_LOCN_IGNORED 0x1u
#define MAX_NAME 127
#define MAX_STRIPES 128
#define MAX_LEGS 64
#define MAX_LV_DEPTH 8

/* ---- checksums and binary structures ---- */

/* LVM's checksum is the reflected CRC-32 (polynomial 0xedb88320) with its
 * own seed and no final inversion; zlib's crc32 inverts on the way in and
 * out, so invert around it.  zlib takes lengths as uInt: feed in chunks. */
uint32_t
lvm_crc (uint32_t initial, const void *buf, size_t len)
{
  const unsigned char *p = buf;
  uLong crc = ~initial & 0xffffffffu;
  while (len > 0) {
    uInt n = len > (1u << 30) ? (1u << 30) : (uInt) len;
    crc = crc32 (crc, p, n);
    p += n;
    len -= n;
  }
  return ~(uint32_t) crc;
}

static uint32_t
get_le32 (const unsigned char *p)
{
  uint32_t v;
  memcpy (&v, p, sizeof v);
  return le32toh (v);
}

static uint64_t
get_le64 (const unsigned char *p)
{
  uint64_t v;
  memcpy (&v, p, sizeof v);
  return le64toh (v);
}

int
lvm_label_parse (const unsigned char *buf, size_t len, struct lvm_label *ret)
{
  bool damaged = false;

  for (unsigned s = 0; s < LABEL_SCAN_SECTORS; s++) {
    if ((size_t) (s + 1) * SECTOR > len)
      break;
    const unsigned char *l = buf + (size_t) s * SECTOR;
    if (memcmp (l, "LABELONE", 8) != 0)
      continue;
    /* From here on a damaged label is reported, not skipped silently. */
    if (get_le64 (l + 8) != s
        || get_le32 (l + 16) != lvm_crc (LVM_CRC_INITIAL, l + 20, SECTOR - 20)
        || memcmp (l + 24, "LVM2 001", 8) != 0) {
      damaged = true;
      continue;
    }
    uint32_t off = get_le32 (l + 20);
    /* uuid (32) + device size (8) + at least two terminating pairs. */
    if (off < 32 || off > SECTOR - 40 - 32) {
      damaged = true;
      continue;
    }
    const unsigned char *h = l + off;
    const unsigned char *end = l + SECTOR;
    memset (ret, 0, sizeof *ret);
    for (int i = 0; i < 32; i++) {
      unsigned char c = h[i];
      if (c <= ' ' || c >= 0x7f)
        return -EBADMSG;
      ret->pv_uuid[i] = (char) c;
    }
    ret->pv_uuid[32] = '\0';
    ret->device_size = get_le64 (h + 32);

    /* Data areas, then metadata areas, each list ending with a zero
     * offset; every entry must fit in the sector. */
    const unsigned char *p = h + 40;
    for (int list = 0; list < 2; list++) {
      for (;;) {
        if (p + 16 > end)
          return -EBADMSG;
        uint64_t o = get_le64 (p), sz = get_le64 (p + 8);
        p += 16;
        if (o == 0)
          break;
        if (list == 1) {
          if (ret->n_mdas >= 2)
            return -EBADMSG;      /* LVM writes at most two */
          ret->mda_offset[ret->n_mdas] = o;
          ret->mda_size[ret->n_mdas] = sz;
          ret->n_mdas++;
        }
      }
    }
    return 0;
  }
  return damaged ? -EBADMSG : -ENOENT;
}

int
lvm_mda_header_parse (const unsigned char *buf, size_t len,
                      uint64_t mda_offset, uint64_t mda_size,
                      struct lvm_raw_locn *ret)
{
  if (len < MDA_HEADER_SIZE)
    return -EBADMSG;
  if (get_le32 (buf) != lvm_crc (LVM_CRC_INITIAL, buf + 4,
                                 MDA_HEADER_SIZE - 4))
    return -EBADMSG;
  if (memcmp (buf + 4, MDA_MAGIC, 16) != 0 || get_le32 (buf + 20) != 1)
    return -EBADMSG;
  if (get_le64 (buf + 24) != mda_offset)
    return -EBADMSG;
  uint64_t size = get_le64 (buf + 32);
  if (size != mda_size || size <= MDA_HEADER_SIZE)
    return -EBADMSG;

  const unsigned char *rl = buf + 40;
  ret->offset = get_le64 (rl);
  ret->size = get_le64 (rl + 8);
  ret->checksum = get_le32 (rl + 16);
  uint32_t flags = get_le32 (rl + 20);
  if (ret->offset == 0 || ret->size == 0 || (flags & RAW_LOCN_IGNORED))
    return -ENODATA;
  /* The text lives in the circular buffer [512, size) of the area. */
  if (ret->offset < MDA_HEADER_SIZE || ret->offset >= size
      || ret->size > size - MDA_HEADER_SIZE)
    return -EBADMSG;
  return 0;
}

/* ---- reading one PV ---- */

struct pvinfo {
  struct bdev *bdev;          /* borrowed from the caller */
  struct lvm_label label;
  bool ok;                    /* label parsed, not a duplicate */
};

struct meta {
  size_t pv;                  /* index into the pvinfo array */
  struct lvm_cfg *cfg;        /* owned */
  const struct lvm_cfg *vg;   /* the VG section inside cfg */
  const char *vgid;
  int64_t seqno;
  bool done;                  /* consumed by VG assembly */
};

static bool
valid_name (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > MAX_NAME || s[0] == '-' || strcmp (s, ".") == 0
      || strcmp (s, "..") == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '+' || c == '_' || c == '.'
          || c == '-'))
      return false;
  }
  return true;
}

/* Compare a metadata uuid (with dashes) to a label uuid (without). */
static bool
uuid_equal (const char *meta_id, const char *label_uuid)
{
  size_t j = 0;
  for (const char *p = meta_id; *p; p++) {
    if (*p == '-')
      continue;
    if (j >= 32 || *p != label_uuid[j])
      return false;
    j++;
  }
  return j == 32;
}

/* Read the committed metadata of one mda; NULL cfg when there is none.
 * Problems become warnings. */
static int
read_mda (struct pvinfo *pv, unsigned idx, struct lvm_cfg **ret_cfg,
          struct strv *warnings)
{
  struct bdev *b = pv->bdev;
  const uint64_t off = pv->label.mda_offset[idx];
  const uint64_t size = pv->label.mda_size[idx];
  unsigned char hdr[MDA_HEADER_SIZE];
  struct lvm_raw_locn rl;

  *ret_cfg = NULL;
  if (off > b->size || size > b->size - off || size < MDA_HEADER_SIZE) {
    strv_pushf (warnings, "%s: LVM metadata area %u lies past the end of the "
                "device (truncated disk?)", b->name, idx + 1);
    return 0;
  }
  int r = bdev_pread (b, hdr, sizeof hdr, off);
  if (r < 0) {
    strv_pushf (warnings, "%s: cannot read the LVM metadata area: %s",
                b->name, strerror (-r));
    return 0;
  }
  r = lvm_mda_header_parse (hdr, sizeof hdr, off, size, &rl);
  if (r == -ENODATA)
    return 0;
  if (r < 0) {
    strv_pushf (warnings, "%s: LVM metadata area %u has a damaged header "
                "(bad checksum or magic)", b->name, idx + 1);
    return 0;
  }
  if (rl.size > LVM_CFG_MAX_TEXT) {
    strv_pushf (warnings, "%s: LVM metadata too large (%" PRIu64 " bytes)",
                b->name, rl.size);
    return 0;
  }

  /* The text may wrap around to the start of the circular buffer. */
  _cleanup_free_ char *text = malloc (rl.size + 1);
  if (!text)
    return -ENOMEM;
  uint64_t first = size - rl.offset;
  if (first > rl.size)
    first = rl.size;
  r = bdev_pread (b, text, first, off + rl.offset);
  if (r == 0 && first < rl.size)
    r = bdev_pread (b, text + first, rl.size - first, off + MDA_HEADER_SIZE);
  if (r < 0) {
    strv_pushf (warnings, "%s: cannot read the LVM metadata: %s", b->name,
                strerror (-r));
    return 0;
  }
  if (lvm_crc (LVM_CRC_INITIAL, text, rl.size) != rl.checksum) {
    strv_pushf (warnings, "%s: LVM metadata in area %u has a bad checksum",
                b->name, idx + 1);
    return 0;
  }
  text[rl.size] = '\0';

  _cleanup_free_ char *msg = NULL;
  r = lvm_cfg_parse (text, rl.size, ret_cfg, &msg);
  if (r == -ENOMEM)
    return r;
  if (r < 0) {
    strv_pushf (warnings, "%s: cannot parse the LVM metadata: %s", b->name,
                msg ? msg : strerror (-r));
    return 0;
  }
  return 0;
}

/* The VG section of a metadata tree: the one top-level section. */
static const struct lvm_cfg *
find_vg_section (const struct lvm_cfg *root)
{
  for (const struct lvm_cfg *c = root->child; c; c = c->next)
    if (c->type == LVM_CFG_SECTION)
      return c;
  return NULL;
}

/* ---- VG assembly and LV construction ---- */

struct pvref {
  const char *key;            /* "pv0" */
  const char *id;
  struct bdev *bdev;          /* borrowed; NULL when missing */
  uint64_t pe_start;          /* bytes */
  uint64_t pe_count;
  bool missing;
};

enum { LV_UNBUILT = 0, LV_BUILDING, LV_DONE };

struct lvent {
  const struct lvm_cfg *sec;
  int state;
  int err;                    /* of the build, when done */
  char *why;                  /* reason when err < 0 */
  char *unsupported;          /* segment type when err == -EOPNOTSUPP */
  struct bdev *bdev;          /* owned reference when built */
  bool readonly;              /* mirror legs: never write one leg only */
  uint64_t extents;
  bool is_cow;                /* the COW store of a snapshot */
};

struct vgctx {
  const char *name;
  uint64_t extent_bytes;
  struct pvref *pvs;
  size_t n_pvs;
  struct lvent *lvs;          /* in metadata order */
  size_t n_lvs;
  struct lvent **lv_index;    /* sorted by name, for lookups */
};

/* Lookups by name are binary searches: a hostile VG may hold a huge
 * number of PVs and LVs. */
static int
cmp_pvref (const void *a, const void *b)
{
  return strcmp (((const struct pvref *) a)->key,
                 ((const struct pvref *) b)->key);
}

static int
cmp_lvent (const void *a, const void *b)
{
  return strcmp ((*(struct lvent *const *) a)->sec->key,
                 (*(struct lvent *const *) b)->sec->key);
}

static struct pvref *
find_pv (struct vgctx *vg, const char *key)
{
  struct pvref k = { .key = key };
  return vg->n_pvs ? bsearch (&k, vg->pvs, vg->n_pvs, sizeof k, cmp_pvref)
                   : NULL;
}

static struct lvent *
find_lv (struct vgctx *vg, const char *name)
{
  struct lvm_cfg c = { .key = (char *) name };
  struct lvent k = { .sec = &c }, *kp = &k;
  if (!vg->n_lvs)
    return NULL;
  struct lvent **r = bsearch (&kp, vg->lv_index, vg->n_lvs, sizeof kp,
                              cmp_lvent);
  return r ? *r : NULL;
}

static int build_lv (struct vgctx *vg, struct lvent *lv, unsigned depth);

static char *
shown (const char *s)
{
  return sanitize_string (s ? s : "?", 64);
}

/* Resolve an area "name, first extent" covering n extents to a device
 * range.  *ret_dev is borrowed. */
static int
resolve_area (struct vgctx *vg, const char *name, int64_t first, uint64_t n,
              unsigned depth, struct lvmap_area *ret, char **why)
{
  _cleanup_free_ char *sname = shown (name);
  uint64_t bytes, off;

  if (first < 0)
    return set_errmsg (why, -EINVAL, "negative extent in area %s", sname);

  struct pvref *pv = find_pv (vg, name);
  if (pv) {
    _cleanup_free_ char *sid = shown (pv->id);
    if (pv->missing)
      return set_errmsg (why, -ENODEV, "PV %s (%s) is missing", sname, sid);
    if ((uint64_t) first > pv->pe_count || n > pv->pe_count - (uint64_t) first)
      return set_errmsg (why, -ERANGE,
                         "extents %" PRId64 "-%" PRIu64 " lie past the end "
                         "of PV %s (%" PRIu64 " extents)",
                         first, (uint64_t) first + n - 1, sname, pv->pe_count);
    if (__builtin_mul_overflow ((uint64_t) first, vg->extent_bytes, &off)
        || __builtin_add_overflow (off, pv->pe_start, &off)
        || __builtin_mul_overflow (n, vg->extent_bytes, &bytes)
        || off > pv->bdev->size || bytes > pv->bdev->size - off)
      return set_errmsg (why, -ERANGE,
                         "extents %" PRId64 "-%" PRIu64 " of PV %s lie past "
                         "the end of %s (truncated disk?)",
                         first, (uint64_t) first + n - 1, sname,
                         pv->bdev->name);
    ret->dev = pv->bdev;
    ret->offset = off;
    return 0;
  }

  struct lvent *sub = find_lv (vg, name);
  if (!sub)
    return set_errmsg (why, -EINVAL, "unknown PV or LV %s", sname);
  int r = build_lv (vg, sub, depth + 1);
  if (r < 0)
    return set_errmsg (why, r, "%s: %s", sname,
                       sub->why ? sub->why : strerror (-r));
  if ((uint64_t) first > sub->extents || n > sub->extents - (uint64_t) first)
    return set_errmsg (why, -ERANGE, "extents past the end of LV %s", sname);
  ret->dev = sub->bdev;
  ret->offset = (uint64_t) first * vg->extent_bytes;
  return 0;
}

/* Collect the (name, number) pairs of a list.  With numbers false the
 * list holds names only (raid "raids"); numbers are then 0. */
static int
list_areas (const struct lvm_cfg *seg, const char *key, bool numbers,
            const char ***ret_names, int64_t **ret_nums, size_t *ret_n)
{
  const struct lvm_cfg *l = lvm_cfg_get (seg, key);
  if (!l || l->type != LVM_CFG_LIST)
    return -EINVAL;
  size_t n = 0;
  for (const struct lvm_cfg *e = l->child; e; e = e->next)
    n++;
  if (numbers && n % 2 != 0)
    return -EINVAL;
  size_t count = numbers ? n / 2 : n;
  if (count == 0 || count > 2 * MAX_LEGS + MAX_STRIPES)
    return -EINVAL;
  const char **names = xcalloc (count, sizeof *names);
  int64_t *nums = xcalloc (count, sizeof *nums);
  const struct lvm_cfg *e = l->child;
  for (size_t i = 0; i < count; i++) {
    if (e->type != LVM_CFG_STRING)
      goto bad;
    names[i] = e->s;
    e = e->next;
    if (numbers) {
      if (e->type != LVM_CFG_INT)
        goto bad;
      nums[i] = e->i;
      e = e->next;
    }
  }
  *ret_names = names;
  *ret_nums = nums;
  *ret_n = count;
  return 0;
bad:
  free (names);
  free (nums);
  return -EINVAL;
}

static bool
is_unsupported_type (const char *t)
{
  return !(strcmp (t, "striped") == 0 || strcmp (t, "linear") == 0
           || strcmp (t, "raid1") == 0 || strcmp (t, "mirror") == 0
           || strcmp (t, "raid0") == 0 || strcmp (t, "raid0_meta") == 0);
}

/* Fill seg (its areas array allocated here) from one segment section. */
static int
build_seg (struct vgctx *vg, struct lvent *lv, const struct lvm_cfg *sec,
           uint64_t count, unsigned depth, struct lvmap_seg *seg, char **why)
{
  const char *type = lvm_cfg_string (sec, "type");
  _cleanup_free_ const char **names = NULL;
  _cleanup_free_ int64_t *nums = NULL;
  size_t n = 0;
  int r;

  if (!type)
    return set_errmsg (why, -EINVAL, "segment %s has no type", sec->key);

  if (strcmp (type, "striped") == 0 || strcmp (type, "linear") == 0
      || strcmp (type, "raid0") == 0 || strcmp (type, "raid0_meta") == 0) {
    bool raid = str_has_prefix (type, "raid");
    int64_t stripes = 1, stripe_size = 0;
    if (raid) {
      if (lvm_cfg_int (sec, "device_count", &stripes) < 0)
        return set_errmsg (why, -EINVAL, "segment %s: no device_count",
                           sec->key);
      r = list_areas (sec, "raids", false, &names, &nums, &n);
      /* raid0_meta lists (rmeta, rimage) pairs. */
      if (r == 0 && n == 2 * (size_t) stripes && stripes > 0) {
        for (size_t i = 0; i < (size_t) stripes; i++)
          names[i] = names[2 * i + 1];
        n = (size_t) stripes;
      }
    }
    else {
      if (lvm_cfg_int (sec, "stripe_count", &stripes) == -EINVAL)
        return set_errmsg (why, -EINVAL, "segment %s: bad stripe_count",
                           sec->key);
      r = list_areas (sec, "stripes", true, &names, &nums, &n);
    }
    if (r < 0 || stripes < 1 || stripes > MAX_STRIPES || n != (size_t) stripes)
      return set_errmsg (why, -EINVAL, "segment %s: bad stripe list",
                         sec->key);
    if (stripes > 1) {
      if (lvm_cfg_int (sec, "stripe_size", &stripe_size) < 0
          || stripe_size <= 0 || stripe_size > (INT64_C (1) << 32))
        return set_errmsg (why, -EINVAL, "segment %s: bad stripe_size",
                           sec->key);
      if (count % (uint64_t) stripes != 0)
        return set_errmsg (why, -EINVAL, "segment %s: %" PRIu64 " extents "
                           "do not divide into %" PRId64 " stripes",
                           sec->key, count, stripes);
    }
    seg->n_areas = (size_t) stripes;
    seg->stripe_size = (uint64_t) stripe_size * SECTOR;
    seg->areas = xcalloc (seg->n_areas, sizeof *seg->areas);
    for (size_t i = 0; i < seg->n_areas; i++) {
      r = resolve_area (vg, names[i], nums[i], count / (uint64_t) stripes,
                        depth, &seg->areas[i], why);
      if (r < 0)
        return r;
    }
    if (stripes > 1
        && ((count / (uint64_t) stripes) * vg->extent_bytes)
               % seg->stripe_size != 0)
      return set_errmsg (why, -EINVAL, "segment %s: stripe size does not "
                         "divide the stripe length", sec->key);
    return 0;
  }

  if (strcmp (type, "raid1") == 0 || strcmp (type, "mirror") == 0) {
    bool mirror = strcmp (type, "mirror") == 0;
    int64_t legs = 0;
    if (lvm_cfg_int (sec, mirror ? "mirror_count" : "device_count", &legs) < 0
        || legs < 1 || legs > MAX_LEGS)
      return set_errmsg (why, -EINVAL, "segment %s: bad leg count", sec->key);
    r = list_areas (sec, mirror ? "mirrors" : "raids", mirror, &names, &nums,
                    &n);
    if (r < 0)
      return set_errmsg (why, -EINVAL, "segment %s: bad leg list", sec->key);
    size_t step = 1, first = 0;
    if (!mirror && n == 2 * (size_t) legs) {
      step = 2;                 /* (rmeta, rimage) pairs */
      first = 1;
    }
    else if (n != (size_t) legs)
      return set_errmsg (why, -EINVAL, "segment %s: bad leg list", sec->key);

    /* Read from the first leg that is complete. */
    _cleanup_free_ char *reasons = NULL;
    seg->n_areas = 1;
    seg->areas = xcalloc (1, sizeof *seg->areas);
    for (size_t i = first; i < n; i += step) {
      _cleanup_free_ char *w = NULL;
      struct lvent *leg = find_lv (vg, names[i]);
      if (!mirror && !leg)
        r = set_errmsg (&w, -EINVAL, "raid image is not an LV");
      else if (leg && lvm_cfg_list_has (leg->sec, "status", "REBUILD"))
        r = set_errmsg (&w, -EAGAIN, "leg %zu needs a rebuild", i / step);
      else
        r = resolve_area (vg, names[i], nums[i], count, depth, &seg->areas[0],
                          &w);
      if (r == 0) {
        log_debug (LOG_CAT_STACK, "%s/%s: reading leg %zu", vg->name,
                   lv->sec->key, i / step);
        lv->readonly = true;
        return 0;
      }
      char *nr = xasprintf ("%s%s%s", reasons ? reasons : "",
                            reasons ? "; " : "", w ? w : strerror (-r));
      free (reasons);
      reasons = nr;
    }
    return set_errmsg (why, -ENODEV, "no complete %s leg (%s)", type,
                       reasons ? reasons : "none");
  }

  lv->unsupported = xstrdup (type);
  return set_errmsg (why, -EOPNOTSUPP, "%s LVs are not supported in the "
                     "user stack", type);
}

struct segsec {
  const struct lvm_cfg *sec;
  uint64_t start, count;
};

static int
cmp_segsec (const void *a, const void *b)
{
  const struct segsec *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static void
free_segs (struct lvmap_seg *segs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (segs[i].areas);
  free (segs);
}

static int
build_lv_1 (struct vgctx *vg, struct lvent *lv, unsigned depth)
{
  const struct lvm_cfg *sec = lv->sec;
  size_t n = 0;

  for (const struct lvm_cfg *c = sec->child; c; c = c->next)
    if (c->type == LVM_CFG_SECTION && str_has_prefix (c->key, "segment"))
      n++;
  if (n == 0)
    return set_errmsg (&lv->why, -EINVAL, "no segments");

  _cleanup_free_ struct segsec *ss = xcalloc (n, sizeof *ss);
  size_t i = 0;
  for (const struct lvm_cfg *c = sec->child; c; c = c->next) {
    if (!(c->type == LVM_CFG_SECTION && str_has_prefix (c->key, "segment")))
      continue;
    int64_t st, cnt;
    if (lvm_cfg_int (c, "start_extent", &st) < 0
        || lvm_cfg_int (c, "extent_count", &cnt) < 0 || st < 0 || cnt <= 0)
      return set_errmsg (&lv->why, -EINVAL,
                         "segment %s: bad start_extent or extent_count",
                         c->key);
    /* An unsupported type anywhere makes the whole LV unsupported. */
    const char *type = lvm_cfg_string (c, "type");
    if (type && is_unsupported_type (type)) {
      lv->unsupported = xstrdup (type);
      return set_errmsg (&lv->why, -EOPNOTSUPP,
                         "%s LVs are not supported in the user stack", type);
    }
    ss[i++] = (struct segsec) { c, (uint64_t) st, (uint64_t) cnt };
  }
  qsort (ss, n, sizeof *ss, cmp_segsec);

  uint64_t pos = 0;
  for (i = 0; i < n; i++) {
    if (ss[i].start != pos)
      return set_errmsg (&lv->why, -EINVAL, "segments do not cover the LV "
                         "(%s at extent %" PRIu64 ", expected %" PRIu64 ")",
                         ss[i].sec->key, ss[i].start, pos);
    if (__builtin_add_overflow (pos, ss[i].count, &pos))
      return set_errmsg (&lv->why, -ERANGE, "extent count overflow");
  }
  uint64_t total;
  if (__builtin_mul_overflow (pos, vg->extent_bytes, &total))
    return set_errmsg (&lv->why, -ERANGE, "LV size overflow");
  lv->extents = pos;

  struct lvmap_seg *segs = xcalloc (n, sizeof *segs);
  int r = 0;
  for (i = 0; i < n; i++) {
    segs[i].start = ss[i].start * vg->extent_bytes;
    segs[i].length = ss[i].count * vg->extent_bytes;
    r = build_seg (vg, lv, ss[i].sec, ss[i].count, depth, &segs[i], &lv->why);
    if (r < 0)
      break;
  }
  if (r == 0) {
    _cleanup_free_ char *name = xasprintf ("/dev/%s/%s", vg->name, sec->key);
    r = lvmap_new (segs, n, total, lv->readonly, name, &lv->bdev);
    if (r < 0)
      set_errmsg (&lv->why, r, "inconsistent segment layout");
  }
  free_segs (segs, n);
  return r;
}

static int
build_lv (struct vgctx *vg, struct lvent *lv, unsigned depth)
{
  if (lv->state == LV_DONE)
    return lv->err;
  if (lv->state == LV_BUILDING || depth > MAX_LV_DEPTH)
    return set_errmsg (&lv->why, -ELOOP, "LVs refer to each other in a loop");
  lv->state = LV_BUILDING;
  lv->err = build_lv_1 (vg, lv, depth);
  lv->state = LV_DONE;
  return lv->err;
}

/* The segment type shown for an LV: the first segment's, "linear" for a
 * single-stripe "striped". */
static char *
lv_segtype (const struct lvm_cfg *sec)
{
  for (const struct lvm_cfg *c = sec->child; c; c = c->next) {
    if (c->type != LVM_CFG_SECTION || !str_has_prefix (c->key, "segment"))
      continue;
    const char *t = lvm_cfg_string (c, "type");
    if (!t)
      return NULL;
    int64_t sc = 1;
    if (strcmp (t, "striped") == 0 && lvm_cfg_int (c, "stripe_count", &sc) == 0
        && sc == 1)
      return xstrdup ("linear");
    return sanitize_string (t, 32);
  }
  return NULL;
}

static void
push_lv (struct lvm_lv **lvs, size_t *n, const char *vgname,
         const char *lvname, const char *id, char *segtype, struct bdev *b)
{
  *lvs = xrealloc_array (*lvs, *n + 1, sizeof **lvs);
  struct lvm_lv *l = &(*lvs)[(*n)++];
  l->vg = xstrdup (vgname);
  l->name = xstrdup (lvname);
  l->device = xasprintf ("/dev/%s/%s", vgname, lvname);
  l->uuid = id ? sanitize_string (id, 64) : NULL;
  l->segtype = segtype;
  l->bdev = b;
}

/* Assemble one VG from its chosen metadata and append its visible LVs. */
static void
assemble_vg (const struct meta *m, struct pvinfo *pvs, size_t n_pvs,
             struct lvm_lv **ret, size_t *ret_n, struct strv *warnings)
{
  const struct lvm_cfg *vgsec = m->vg;
  const char *vgname = vgsec->key;
  struct vgctx vg = { .name = vgname };
  int64_t extent_size;

  if (lvm_cfg_int (vgsec, "extent_size", &extent_size) < 0
      || extent_size <= 0 || extent_size > (INT64_C (1) << 32)) {
    strv_pushf (warnings, "LVM volume group %s: bad extent_size", vgname);
    return;
  }
  vg.extent_bytes = (uint64_t) extent_size * SECTOR;

  const struct lvm_cfg *pvsec = lvm_cfg_section (vgsec, "physical_volumes");
  size_t n = 0;
  for (const struct lvm_cfg *c = pvsec ? pvsec->child : NULL; c; c = c->next)
    if (c->type == LVM_CFG_SECTION)
      n++;
  vg.pvs = xcalloc (n ? n : 1, sizeof *vg.pvs);
  for (const struct lvm_cfg *c = pvsec ? pvsec->child : NULL; c; c = c->next) {
    if (c->type != LVM_CFG_SECTION)
      continue;
    struct pvref *p = &vg.pvs[vg.n_pvs++];
    int64_t pe_start, pe_count;
    p->key = c->key;
    p->id = lvm_cfg_string (c, "id");
    if (!p->id || lvm_cfg_int (c, "pe_start", &pe_start) < 0
        || lvm_cfg_int (c, "pe_count", &pe_count) < 0 || pe_start < 0
        || pe_count < 0 || pe_start > INT64_MAX / SECTOR) {
      _cleanup_free_ char *k = shown (c->key);
      strv_pushf (warnings, "LVM volume group %s: bad entry for PV %s",
                  vgname, k);
      p->missing = true;
      continue;
    }
    p->pe_start = (uint64_t) pe_start * SECTOR;
    p->pe_count = (uint64_t) pe_count;
    p->missing = lvm_cfg_list_has (c, "status", "MISSING")
                 || lvm_cfg_list_has (c, "flags", "MISSING");
    for (size_t i = 0; i < n_pvs && !p->missing; i++)
      if (pvs[i].ok && uuid_equal (p->id, pvs[i].label.pv_uuid)) {
        p->bdev = pvs[i].bdev;
        break;
      }
    _cleanup_free_ char *sid = shown (p->id);
    if (!p->bdev) {
      p->missing = true;
      strv_pushf (warnings, "LVM volume group %s: PV %s is missing", vgname,
                  sid);
    }
    else {
      uint64_t end;
      if (__builtin_mul_overflow (p->pe_count, vg.extent_bytes, &end)
          || __builtin_add_overflow (end, p->pe_start, &end)
          || end > p->bdev->size)
        strv_pushf (warnings, "LVM volume group %s: PV %s (%s) is smaller "
                    "than its extents (truncated disk?)", vgname, sid,
                    p->bdev->name);
    }
  }

  const struct lvm_cfg *lvsec = lvm_cfg_section (vgsec, "logical_volumes");
  n = 0;
  for (const struct lvm_cfg *c = lvsec ? lvsec->child : NULL; c; c = c->next)
    if (c->type == LVM_CFG_SECTION)
      n++;
  vg.lvs = xcalloc (n ? n : 1, sizeof *vg.lvs);
  for (const struct lvm_cfg *c = lvsec ? lvsec->child : NULL; c; c = c->next)
    if (c->type == LVM_CFG_SECTION)
      vg.lvs[vg.n_lvs++].sec = c;

  qsort (vg.pvs, vg.n_pvs, sizeof *vg.pvs, cmp_pvref);
  vg.lv_index = xcalloc (vg.n_lvs ? vg.n_lvs : 1, sizeof *vg.lv_index);
  for (size_t i = 0; i < vg.n_lvs; i++)
    vg.lv_index[i] = &vg.lvs[i];
  qsort (vg.lv_index, vg.n_lvs, sizeof *vg.lv_index, cmp_lvent);

  /* Snapshot COW stores: named by "snapshot" segments in hidden LVs. */
  for (size_t i = 0; i < vg.n_lvs; i++)
    for (const struct lvm_cfg *c = vg.lvs[i].sec->child; c; c = c->next) {
      const char *t = lvm_cfg_string (c, "type");
      const char *cow = lvm_cfg_string (c, "cow_store");
      struct lvent *cl;
      if (c->type == LVM_CFG_SECTION && t && cow
          && strcmp (t, "snapshot") == 0 && (cl = find_lv (&vg, cow)))
        cl->is_cow = true;
    }

  for (size_t i = 0; i < vg.n_lvs; i++) {
    struct lvent *lv = &vg.lvs[i];
    const char *name = lv->sec->key;
    bool is_cow = lv->is_cow;
    if (!is_cow && !lvm_cfg_list_has (lv->sec, "status", "VISIBLE"))
      continue;
    if (!valid_name (name)) {
      _cleanup_free_ char *s = shown (name);
      strv_pushf (warnings, "LVM volume group %s: invalid LV name \"%s\" "
                  "ignored", vgname, s);
      continue;
    }
    const char *id = lvm_cfg_string (lv->sec, "id");
    if (is_cow) {
      strv_pushf (warnings, "%s/%s: snapshot LVs are not supported in the "
                  "user stack", vgname, name);
      push_lv (ret, ret_n, vgname, name, id, xstrdup ("snapshot"), NULL);
      continue;
    }
    int r = build_lv (&vg, lv, 0);
    if (r == -EOPNOTSUPP)
      strv_pushf (warnings, "%s/%s: %s LVs are not supported in the user "
                  "stack", vgname, name, lv->unsupported);
    else if (r < 0)
      strv_pushf (warnings, "%s/%s: cannot read the LV: %s", vgname, name,
                  lv->why ? lv->why : strerror (-r));
    push_lv (ret, ret_n, vgname, name, id, lv_segtype (lv->sec),
             r == 0 ? bdev_ref (lv->bdev) : NULL);
  }

  for (size_t i = 0; i < vg.n_lvs; i++) {
    bdev_unref (vg.lvs[i].bdev);
    free (vg.lvs[i].why);
    free (vg.lvs[i].unsupported);
  }
  free (vg.lv_index);
  free (vg.lvs);
  free (vg.pvs);
}

void
lvm_lvs_free (struct lvm_lv *lvs, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free (lvs[i].vg);
    free (lvs[i].name);
    free (lvs[i].device);
    free (lvs[i].uuid);
    free (lvs[i].segtype);
    bdev_unref (lvs[i].bdev);
  }
  free (lvs);
}

static void
metas_free (struct meta *metas, size_t n)
{
  for (size_t i = 0; i < n; i++)
    lvm_cfg_free (metas[i].cfg);
  free (metas);
}

int
lvm_scan (struct bdev *const *pvs_in, size_t n, struct lvm_lv **ret,
          size_t *ret_n, struct strv *warnings)
{
  struct pvinfo *pvs = xcalloc (n ? n : 1, sizeof *pvs);
  struct meta *metas = NULL;
  size_t n_metas = 0;
  struct lvm_lv *lvs = NULL;
  size_t n_lvs = 0;
  int r = 0;

  *ret = NULL;
  *ret_n = 0;

  /* 1. Labels and metadata copies. */
  for (size_t i = 0; i < n; i++) {
    struct pvinfo *pv = &pvs[i];
    unsigned char buf[LABEL_SCAN_SECTORS * SECTOR];
    pv->bdev = pvs_in[i];
    if (pv->bdev->size < sizeof buf) {
      strv_pushf (warnings, "%s: too small for an LVM physical volume",
                  pv->bdev->name);
      continue;
    }
    r = bdev_pread (pv->bdev, buf, sizeof buf, 0);
    if (r < 0) {
      strv_pushf (warnings, "%s: cannot read the LVM label: %s",
                  pv->bdev->name, strerror (-r));
      r = 0;
      continue;
    }
    r = lvm_label_parse (buf, sizeof buf, &pv->label);
    if (r < 0) {
      strv_pushf (warnings, "%s: %s", pv->bdev->name,
                  r == -ENOENT ? "no LVM label found"
                               : "damaged LVM label (bad checksum or header)");
      r = 0;
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < i; j++)
      if (pvs[j].ok && strcmp (pvs[j].label.pv_uuid, pv->label.pv_uuid) == 0) {
        strv_pushf (warnings, "%s: same LVM PV uuid as %s, ignored",
                    pv->bdev->name, pvs[j].bdev->name);
        dup = true;
        break;
      }
    if (dup)
      continue;
    pv->ok = true;
    log_debug (LOG_CAT_STACK, "%s: LVM PV label, %zu metadata area(s)",
               pv->bdev->name, pv->label.n_mdas);

    for (unsigned k = 0; k < pv->label.n_mdas; k++) {
      struct lvm_cfg *cfg = NULL;
      r = read_mda (pv, k, &cfg, warnings);
      if (r < 0)
        goto out;
      if (!cfg)
        continue;
      const struct lvm_cfg *vgsec = find_vg_section (cfg);
      const char *vgid = vgsec ? lvm_cfg_string (vgsec, "id") : NULL;
      int64_t seqno;
      if (!vgid || lvm_cfg_int (vgsec, "seqno", &seqno) < 0) {
        strv_pushf (warnings, "%s: LVM metadata without a volume group id "
                    "or seqno", pv->bdev->name);
        lvm_cfg_free (cfg);
        continue;
      }
      if (!valid_name (vgsec->key)) {
        _cleanup_free_ char *s = shown (vgsec->key);
        strv_pushf (warnings, "%s: invalid LVM volume group name \"%s\"",
                    pv->bdev->name, s);
        lvm_cfg_free (cfg);
        continue;
      }
      metas = xrealloc_array (metas, n_metas + 1, sizeof *metas);
      metas[n_metas++] = (struct meta) { .pv = i, .cfg = cfg, .vg = vgsec,
                                         .vgid = vgid, .seqno = seqno };
    }
  }

  /* 2. One VG per id, from its newest copy, in the order first seen. */
  for (size_t i = 0; i < n_metas; i++) {
    if (metas[i].done)
      continue;
    size_t best = i;
    for (size_t j = i; j < n_metas; j++) {
      if (strcmp (metas[j].vgid, metas[i].vgid) != 0)
        continue;
      metas[j].done = true;
      if (metas[j].seqno > metas[best].seqno)
        best = j;
    }
    for (size_t j = i; j < n_metas; j++)
      if (strcmp (metas[j].vgid, metas[i].vgid) == 0
          && metas[j].seqno < metas[best].seqno)
        log_debug (LOG_CAT_STACK, "%s: stale LVM metadata (seqno %" PRId64
                   " < %" PRId64 ")", pvs[metas[j].pv].bdev->name,
                   metas[j].seqno, metas[best].seqno);

    const char *vgname = metas[best].vg->key;
    bool clash = false;
    for (size_t k = 0; k < n_lvs; k++)
      if (strcmp (lvs[k].vg, vgname) == 0)
        clash = true;
    for (size_t j = 0; j < i && !clash; j++)
      if (strcmp (metas[j].vg->key, vgname) == 0
          && strcmp (metas[j].vgid, metas[i].vgid) != 0)
        clash = true;
    if (clash) {
      strv_pushf (warnings, "two LVM volume groups are named %s; the one "
                  "on %s is ignored", vgname, pvs[metas[best].pv].bdev->name);
      continue;
    }
    log_debug (LOG_CAT_STACK, "LVM VG %s: seqno %" PRId64 " from %s", vgname,
               metas[best].seqno, pvs[metas[best].pv].bdev->name);
    assemble_vg (&metas[best], pvs, n, &lvs, &n_lvs, warnings);
  }

  /* PVs with no metadata of their own whose VG was never found. */
  for (size_t i = 0; i < n; i++) {
    if (!pvs[i].ok || pvs[i].label.n_mdas > 0)
      continue;
    bool found = false;
    for (size_t j = 0; j < n_metas && !found; j++) {
      const struct lvm_cfg *pvsec = lvm_cfg_section (metas[j].vg,
                                                     "physical_volumes");
      for (const struct lvm_cfg *c = pvsec ? pvsec->child : NULL; c;
           c = c->next) {
        const char *id = lvm_cfg_string (c, "id");
        if (id && uuid_equal (id, pvs[i].label.pv_uuid))
          found = true;
      }
    }
    if (!found)
      strv_pushf (warnings, "%s: LVM physical volume without metadata and "
                  "no volume group found for it (missing disk?)",
                  pvs[i].bdev->name);
  }

  *ret = TAKE_PTR (lvs);
  *ret_n = n_lvs;
  n_lvs = 0;
  r = 0;
out:
  lvm_lvs_free (lvs, n_lvs);
  metas_free (metas, n_metas);
  free (pvs);
  return r;
}
