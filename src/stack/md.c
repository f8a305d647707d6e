/* nguestmount: Linux md RAID superblocks and userspace assembly (md.h).
 *
 * Superblock facts (from the kernel's include/uapi/linux/raid/md_p.h):
 * - v0.90: 4096 bytes at (size & ~64KiB-1) - 64 KiB, host-endian 32-bit
 *   words (little-endian guests only here); data starts at 0 and ends at
 *   the superblock; checksum = sum of all words with the csum word zeroed,
 *   folded to 32 bits.
 * - v1.x: little-endian, 256 bytes + 2 bytes per device role; at 0 (1.1),
 *   4 KiB (1.2) or (size - 8 KiB) & ~4 KiB-1 (1.0); the superblock records
 *   its own offset, and the data area [data_offset, + data_size).  The
 *   checksum sums 32-bit words of 256 + 2 * max_dev bytes (a trailing
 *   16-bit half included), folded to 32 bits.
 *
 * Everything read from the guest is checked before use: a superblock whose
 * values do not fit the device gives -EINVAL, never an out-of-range read.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/bdev.h"
#include "block/raid.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/md.h"

#define MD_MAGIC 0xa92b4efcu
#define MD_SB_BYTES 4096u
#define MD_RESERVED 65536u
#define MD_V1_MAX_DEV ((MD_SB_BYTES - 256) / 2)
#define MD_V090_MAX_DISKS 27u

/* v1 feature_map bits */
#define MD_FEAT_RECOVERY_OFFSET 2u
#define MD_FEAT_RESHAPE_ACTIVE 4u
#define MD_FEAT_REPLACEMENT 16u

/* v0.90 disk state bits */
#define MD_DISK_FAULTY 0
#define MD_DISK_ACTIVE 1
#define MD_DISK_SYNC 2

static uint16_t
le16 (const uint8_t *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t
le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
    | (uint32_t) p[3] << 24;
}

static uint64_t
le64 (const uint8_t *p)
{
  return (uint64_t) le32 (p) | (uint64_t) le32 (p + 4) << 32;
}

static uint32_t
csum_fold (uint64_t sum)
{
  return (uint32_t) ((sum & 0xffffffffu) + (sum >> 32));
}

char *
md_uuid_string (const uint8_t uuid[16])
{
  char s[40];
  size_t k = 0;
  for (unsigned i = 0; i < 16; i++) {
    if (i && i % 4 == 0)
      s[k++] = ':';
    snprintf (&s[k], 3, "%02x", uuid[i]);
    k += 2;
  }
  s[k] = '\0';
  return xstrdup (s);
}

static const char *
bname (struct bdev *b)
{
  return b->name && *b->name ? b->name : "device";
}

/* Bytes -> sectors fields must not overflow when scaled. */
static bool
sectors_ok (uint64_t sectors)
{
  return sectors <= UINT64_MAX / 512;
}

/* Size of the array one member describes (0 for linear and unknown
 * levels, whose size depends on every member). */
static uint64_t
array_size_of (const struct md_info *m)
{
  struct raid_geom g = {
    .level = m->level, .layout = m->layout, .ndisks = m->raid_disks,
    .chunk = m->chunk_bytes, .member_size = m->component_size,
  };
  uint64_t size = 0;
  if (m->level == RAID_LEVEL_LINEAR || raid_geom_check (&g, &size) < 0)
    return 0;
  return size;
}

/* Levels that stripe in chunks need a chunk size; component sizes are
 * whole chunks (md rounds them down the same way). */
static bool
level_striped (int level)
{
  return level == 0 || level == 4 || level == 5 || level == 6
    || level == 10;
}

static int
parse_v090 (struct bdev *b, const uint8_t *sb, uint64_t loc,
            struct md_info *ret, char **ret_msg)
{
  const char *dev = bname (b);
  uint64_t sum = 0;

  if (le32 (sb + 4) != 0 || le32 (sb + 8) != 90)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md v0.90 superblock with unknown version %u.%u",
                       dev, le32 (sb + 4), le32 (sb + 8));
  for (unsigned i = 0; i < MD_SB_BYTES / 4; i++)
    if (i != 38)
      sum += le32 (sb + 4 * i);
  if (csum_fold (sum) != le32 (sb + 38 * 4))
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md v0.90 superblock checksum mismatch", dev);

  memset (ret, 0, sizeof *ret);
  ret->version = 90;
  for (unsigned w = 0; w < 4; w++) {
    uint32_t v = le32 (sb + 4 * (w == 0 ? 5 : 12 + w));
    ret->uuid[4 * w] = (uint8_t) (v >> 24);
    ret->uuid[4 * w + 1] = (uint8_t) (v >> 16);
    ret->uuid[4 * w + 2] = (uint8_t) (v >> 8);
    ret->uuid[4 * w + 3] = (uint8_t) v;
  }
  ret->level = (int32_t) le32 (sb + 7 * 4);
  uint64_t size_kib = le32 (sb + 8 * 4);
  ret->raid_disks = le32 (sb + 10 * 4);
  uint32_t minor = le32 (sb + 11 * 4);
  ret->events = (uint64_t) le32 (sb + 40 * 4) << 32 | le32 (sb + 39 * 4);
  ret->layout = (int32_t) le32 (sb + 64 * 4);
  ret->chunk_bytes = le32 (sb + 65 * 4);
  uint32_t raid_disk = le32 (sb + 995 * 4);
  uint32_t state = le32 (sb + 996 * 4);

  if (ret->raid_disks == 0 || ret->raid_disks > MD_V090_MAX_DISKS)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md v0.90 superblock has %u raid disks", dev,
                       ret->raid_disks);
  if (minor >= (1u << 20))
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md v0.90 superblock has minor %u", dev, minor);
  if (level_striped (ret->level) && ret->chunk_bytes == 0)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md v0.90 superblock has chunk size 0", dev);
  ret->preferred_minor = (int) minor;
  ret->sb_offset = loc;
  ret->data_offset = 0;
  ret->data_size = loc;
  if (ret->level == RAID_LEVEL_LINEAR) {
    ret->component_size = loc;
    if (ret->chunk_bytes)
      ret->component_size -= loc % ret->chunk_bytes;
  }
  else {
    ret->component_size = size_kib * 1024;
    if (ret->component_size > loc)
      return set_errmsg (ret_msg, -EINVAL,
                         "%s: md v0.90 member size %" PRIu64
                         " bytes is past the end of the device", dev,
                         ret->component_size);
    if (level_striped (ret->level))
      ret->component_size -= ret->component_size % ret->chunk_bytes;
  }

  if (state & (1u << MD_DISK_FAULTY))
    ret->role = -1;
  else if ((state & (1u << MD_DISK_ACTIVE)) && (state & (1u << MD_DISK_SYNC))
           && raid_disk < ret->raid_disks)
    ret->role = (int) raid_disk;
  else
    ret->role = -1;
  ret->in_sync = ret->role >= 0;
  ret->array_size = array_size_of (ret);
  return 0;
}

static int
parse_v1 (struct bdev *b, const uint8_t *sb, uint64_t loc, int version,
          struct md_info *ret, char **ret_msg)
{
  const char *dev = bname (b);

  if (le32 (sb + 4) != 1)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md superblock with unknown major version %u",
                       dev, le32 (sb + 4));
  uint32_t max_dev = le32 (sb + 220);
  if (max_dev > MD_V1_MAX_DEV)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md superblock lists %u devices (at most %u fit)",
                       dev, max_dev, MD_V1_MAX_DEV);
  size_t len = 256 + 2 * (size_t) max_dev;
  uint64_t sum = 0;
  size_t i;
  for (i = 0; i + 4 <= len; i += 4)
    if (i != 216)
      sum += le32 (sb + i);
  if (i < len)
    sum += le16 (sb + i);
  if (csum_fold (sum) != le32 (sb + 216))
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md v1.%d superblock checksum mismatch", dev,
                       version - 100);

  uint64_t super_offset = le64 (sb + 144);
  if (!sectors_ok (super_offset) || super_offset * 512 != loc)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md superblock found at byte %" PRIu64
                       " records offset %" PRIu64 " sectors", dev, loc,
                       super_offset);

  memset (ret, 0, sizeof *ret);
  ret->version = version;
  ret->sb_offset = loc;
  memcpy (ret->uuid, sb + 16, 16);
  memcpy (ret->name, sb + 32, 32);
  ret->name[32] = '\0';
  ret->feature_map = le32 (sb + 8);
  ret->level = (int32_t) le32 (sb + 72);
  ret->layout = (int32_t) le32 (sb + 76);
  uint64_t size = le64 (sb + 80);
  uint64_t chunk = le32 (sb + 88);
  ret->raid_disks = le32 (sb + 92);
  uint64_t data_offset = le64 (sb + 128);
  uint64_t data_size = le64 (sb + 136);
  uint64_t recovery_offset = le64 (sb + 152);
  uint32_t dev_number = le32 (sb + 160);
  ret->events = le64 (sb + 200);
  ret->preferred_minor = -1;
  ret->chunk_bytes = chunk * 512;

  if (ret->raid_disks == 0 || ret->raid_disks > MD_V1_MAX_DEV)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md superblock has %u raid disks", dev,
                       ret->raid_disks);
  if (!sectors_ok (size) || !sectors_ok (data_offset)
      || !sectors_ok (data_size) || !sectors_ok (recovery_offset))
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md superblock sizes out of range", dev);
  ret->data_offset = data_offset * 512;
  ret->data_size = data_size * 512;
  if (ret->data_offset > b->size || ret->data_size > b->size - ret->data_offset)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md data area [%" PRIu64 ", +%" PRIu64
                       ") is past the end of the device (%" PRIu64 " bytes)",
                       dev, ret->data_offset, ret->data_size, b->size);
  /* The data area must not overlap the superblock itself. */
  if (ret->data_offset < loc + len
      && loc < ret->data_offset + ret->data_size)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md data area overlaps its superblock", dev);
  if (level_striped (ret->level) && ret->chunk_bytes == 0)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s: md superblock has chunk size 0", dev);

  if (ret->level == RAID_LEVEL_LINEAR) {
    ret->component_size = ret->data_size;
    if (ret->chunk_bytes)
      ret->component_size -= ret->data_size % ret->chunk_bytes;
  }
  else {
    ret->component_size = size * 512;
    if (ret->component_size > ret->data_size)
      return set_errmsg (ret_msg, -EINVAL,
                         "%s: md member size %" PRIu64 " bytes exceeds "
                         "its data area (%" PRIu64 " bytes)", dev,
                         ret->component_size, ret->data_size);
    if (level_striped (ret->level))
      ret->component_size -= ret->component_size % ret->chunk_bytes;
  }

  uint16_t role = dev_number < max_dev ? le16 (sb + 256 + 2 * dev_number)
    : 0xffff;
  /* 0xffff spare, 0xfffe faulty, 0xfffd journal. */
  ret->role = role < ret->raid_disks ? role : -1;
  ret->reshaping = (ret->feature_map & MD_FEAT_RESHAPE_ACTIVE) != 0;
  ret->in_sync = ret->role >= 0;
  if (ret->feature_map & MD_FEAT_REPLACEMENT)
    ret->in_sync = false;
  if ((ret->feature_map & MD_FEAT_RECOVERY_OFFSET)
      && recovery_offset * 512 < ret->component_size)
    ret->in_sync = false;
  ret->array_size = array_size_of (ret);
  return 0;
}

struct candidate {
  int version;
  uint64_t loc;
};

int
md_examine_msg (struct bdev *b, struct md_info *ret, char **ret_msg)
{
  struct candidate cands[4];
  size_t nc = 0;
  uint64_t size = b->size;

  /* mdadm's probing order: 0.90, 1.1, 1.2, 1.0. */
  if ((size & ~(uint64_t) (MD_RESERVED - 1)) >= MD_RESERVED)
    cands[nc++] = (struct candidate) {
      90, (size & ~(uint64_t) (MD_RESERVED - 1)) - MD_RESERVED };
  if (size >= MD_SB_BYTES)
    cands[nc++] = (struct candidate) { 101, 0 };
  if (size >= 2 * MD_SB_BYTES)
    cands[nc++] = (struct candidate) { 102, MD_SB_BYTES };
  if (size >= 8192 + MD_SB_BYTES) {
    uint64_t loc = (size - 8192) & ~(uint64_t) (4096 - 1);
    if (loc != 0 && loc != MD_SB_BYTES)
      cands[nc++] = (struct candidate) { 100, loc };
  }

  _cleanup_free_ uint8_t *sb = malloc (MD_SB_BYTES);
  if (!sb)
    return -ENOMEM;
  struct md_info found[4];
  size_t nfound = 0;
  _cleanup_free_ char *first_err = NULL;
  int err = -ENOENT;

  for (size_t i = 0; i < nc; i++) {
    if (cands[i].loc > size || size - cands[i].loc < MD_SB_BYTES)
      continue;
    int r = bdev_pread (b, sb, MD_SB_BYTES, cands[i].loc);
    if (r < 0)
      return r;
    if (le32 (sb) != MD_MAGIC) {
      if (cands[i].version == 90 && le32 (sb) == __builtin_bswap32 (MD_MAGIC)
          && err == -ENOENT) {
        err = -EINVAL;
        first_err = xasprintf ("%s: byte-swapped (big-endian) md v0.90 "
                               "superblock is not supported", bname (b));
      }
      continue;
    }
    _cleanup_free_ char *msg = NULL;
    if (cands[i].version == 90)
      r = parse_v090 (b, sb, cands[i].loc, &found[nfound], &msg);
    else
      r = parse_v1 (b, sb, cands[i].loc, cands[i].version, &found[nfound],
                    &msg);
    if (r == 0) {
      nfound++;
      continue;
    }
    log_debug (LOG_CAT_STACK, "%s", msg ? msg : "bad md superblock");
    if (err == -ENOENT || !first_err) {
      err = r;
      free (first_err);
      first_err = TAKE_PTR (msg);
    }
  }

  if (nfound == 0) {
    if (err != -ENOENT && ret_msg)
      *ret_msg = TAKE_PTR (first_err);
    return err;
  }

  size_t pick = 0;
  if (nfound > 1) {
    /* A superblock inside another one's data area is the content of
     * that array (an array nested in a raid1 with data at offset 0):
     * the outer one wins.  Anything else is a conflict. */
    size_t outer = SIZE_MAX;
    unsigned n_outer = 0;
    for (size_t i = 0; i < nfound; i++) {
      bool contains_all = true;
      for (size_t j = 0; j < nfound; j++) {
        if (i == j)
          continue;
        uint64_t s = found[j].sb_offset;
        if (!(s >= found[i].data_offset
              && s - found[i].data_offset < found[i].data_size))
          contains_all = false;
      }
      if (contains_all) {
        outer = i;
        n_outer++;
      }
    }
    if (n_outer != 1)
      return set_errmsg (ret_msg, -EINVAL,
                         "%s: conflicting md superblocks (v%d.%d at byte %"
                         PRIu64 " and v%d.%d at byte %" PRIu64 ")",
                         bname (b), found[0].version / 100,
                         found[0].version % 100, found[0].sb_offset,
                         found[1].version / 100, found[1].version % 100,
                         found[1].sb_offset);
    pick = outer;
  }
  *ret = found[pick];
  log_debug (LOG_CAT_STACK, "%s: md v%d.%d member, level %d, role %d of %u, "
             "events %" PRIu64, bname (b), ret->version / 100,
             ret->version % 100, ret->level, ret->role, ret->raid_disks,
             ret->events);
  return 0;
}

int
md_examine (struct bdev *b, struct md_info *ret)
{
  return md_examine_msg (b, ret, NULL);
}

/* ---- assembly --------------------------------------------------------- */

static void
warn (struct strv *warnings, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
warn (struct strv *warnings, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  if (!s)
    abort ();
  log_debug (LOG_CAT_STACK, "%s", s);
  if (warnings)
    strv_push (warnings, s);
  else
    free (s);
}

/* "/dev/md/NAME" from a v1 name "host:NAME" (or "NAME"), keeping only
 * characters safe in a path component; NULL when nothing is left. */
static char *
md_alias (const char *name)
{
  const char *p = strchr (name, ':');
  p = p ? p + 1 : name;
  char clean[33];
  size_t k = 0;
  for (; *p && k < sizeof clean - 1; p++) {
    unsigned char c = (unsigned char) *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
      || c == '+';
    clean[k++] = ok ? (char) c : '_';
  }
  clean[k] = '\0';
  if (k == 0 || strcmp (clean, ".") == 0 || strcmp (clean, "..") == 0)
    return NULL;
  return xasprintf ("/dev/md/%s", clean);
}

static const char *
level_name (int level, char buf[16])
{
  if (level == RAID_LEVEL_LINEAR)
    return "linear";
  snprintf (buf, 16, "raid%d", level);
  return buf;
}

static bool
same_geometry (const struct md_info *a, const struct md_info *b)
{
  if (a->version != b->version || a->level != b->level
      || a->raid_disks != b->raid_disks || a->chunk_bytes != b->chunk_bytes)
    return false;
  if ((a->level == 5 || a->level == 6 || a->level == 10)
      && a->layout != b->layout)
    return false;
  /* Linear members each bring their own size. */
  return a->level == RAID_LEVEL_LINEAR
    || a->component_size == b->component_size;
}

int
md_assemble (struct bdev *const *members, const struct md_info *infos,
             size_t n, unsigned *next_minor, struct bdev **ret,
             char **ret_name, char **ret_alias, struct strv *warnings,
             char **ret_msg)
{
  if (n == 0)
    return set_errmsg (ret_msg, -EINVAL, "md: no members to assemble");

  _cleanup_free_ char *uuid = md_uuid_string (infos[0].uuid);
  for (size_t i = 1; i < n; i++)
    if (memcmp (infos[i].uuid, infos[0].uuid, 16) != 0)
      return set_errmsg (ret_msg, -EINVAL,
                         "md array %s: members of different arrays given",
                         uuid);

  /* The reference superblock: the freshest active member. */
  long ref = -1;
  for (size_t i = 0; i < n; i++)
    if (infos[i].role >= 0 && infos[i].in_sync
        && (ref < 0 || infos[i].events > infos[ref].events))
      ref = (long) i;
  if (ref < 0)
    return set_errmsg (ret_msg, -ENODEV,
                       "md array %s: no active member found (only spares "
                       "or members being rebuilt)", uuid);
  const struct md_info *r = &infos[ref];

  /* A readable label for messages: the array's name when it has one. */
  _cleanup_free_ char *safe_name = sanitize_string (r->name, 32);
  _cleanup_free_ char *label = *r->name
    ? xasprintf ("md array %s (%s)", uuid, safe_name)
    : xasprintf ("md array %s", uuid);
  char lb[16];

  if (r->reshaping)
    return set_errmsg (ret_msg, -EOPNOTSUPP,
                       "%s: a reshape is in progress; reshaping arrays are "
                       "not supported", label);
  if (r->level != RAID_LEVEL_LINEAR && r->level != 0 && r->level != 1
      && r->level != 4 && r->level != 5 && r->level != 6 && r->level != 10)
    return set_errmsg (ret_msg, -EOPNOTSUPP,
                       "%s: RAID level %d is not supported", label, r->level);
  if (r->level == 10 && ((unsigned) r->layout & ~0xffu) != 0x100)
    return set_errmsg (ret_msg, -EOPNOTSUPP,
                       "%s: raid10 layout 0x%x (far or offset copies) is not "
                       "supported", label, (unsigned) r->layout);
  if ((r->level == 5 || r->level == 6)
      && (r->layout < 0 || r->layout > RAID_PARITY_N))
    return set_errmsg (ret_msg, -EOPNOTSUPP,
                       "%s: %s layout %d is not supported", label,
                       level_name (r->level, lb), r->layout);

  unsigned nd = r->raid_disks;
  _cleanup_free_ struct bdev **slots = xcalloc (nd, sizeof *slots);
  int err = 0;

  for (size_t i = 0; i < n; i++) {
    const struct md_info *m = &infos[i];
    const char *dev = members[i] ? bname (members[i]) : "(none)";
    if (!members[i]) {
      err = -EINVAL;
      break;
    }
    if (m->role < 0) {
      log_debug (LOG_CAT_STACK, "%s: %s is a spare or faulty member", label,
                 dev);
      continue;
    }
    if (!m->in_sync) {
      warn (warnings, "%s: member %s is not in sync (being rebuilt or a "
            "replacement); not used", label, dev);
      continue;
    }
    if (!same_geometry (m, r)) {
      warn (warnings, "%s: member %s has a conflicting superblock; not used",
            label, dev);
      continue;
    }
    if (m->events < r->events) {
      warn (warnings, "%s: member %s is stale (events %" PRIu64 " < %" PRIu64
            "); not used", label, dev, m->events, r->events);
      continue;
    }
    if ((unsigned) m->role >= nd)
      continue;
    if (slots[m->role]) {
      warn (warnings, "%s: member %s claims role %d, already taken; not used",
            label, dev, m->role);
      continue;
    }
    uint64_t want = m->component_size;
    if (m->data_offset > members[i]->size
        || want > members[i]->size - m->data_offset) {
      warn (warnings, "%s: member %s is shorter than its superblock says; "
            "not used", label, dev);
      continue;
    }
    _cleanup_free_ char *sname = xasprintf ("%s:md-data", dev);
    err = bdev_slice_new (members[i], m->data_offset, want, sname,
                          &slots[m->role]);
    if (err < 0)
      break;
  }

  /* Which roles are missing, for the messages. */
  _cleanup_free_ char *missing = NULL;
  unsigned n_missing = 0;
  if (err == 0) {
    for (unsigned i = 0; i < nd; i++) {
      if (slots[i])
        continue;
      n_missing++;
      if (n_missing <= 8) {
        char *t = xasprintf ("%s%s%u", missing ? missing : "",
                             missing ? ", " : "", i);
        free (missing);
        missing = t;
      }
      else if (n_missing == 9) {
        char *t = xasprintf ("%s, ...", missing);
        free (missing);
        missing = t;
      }
    }
  }

  _cleanup_free_ char *name = NULL;
  if (r->version == 90)
    name = xasprintf ("/dev/md%d", r->preferred_minor);
  else
    name = xasprintf ("/dev/md%u", next_minor ? *next_minor : 127);

  struct bdev *array = NULL;
  if (err == 0) {
    if (r->level == RAID_LEVEL_LINEAR) {
      if (n_missing > 0)
        err = -ENODEV;
      else
        err = bdev_raid_linear_new (slots, nd, name, &array);
    }
    else {
      struct raid_geom g = {
        .level = r->level, .layout = r->layout, .ndisks = nd,
        .chunk = r->chunk_bytes, .member_size = r->component_size,
      };
      err = bdev_raid_new (&g, slots, name, &array);
    }
  }

  for (unsigned i = 0; i < nd; i++)
    bdev_unref (slots[i]);

  if (err == -ENODEV)
    return set_errmsg (ret_msg, -ENODEV,
                       "%s: cannot assemble %s with %u of %u members "
                       "(missing role%s %s)", label,
                       level_name (r->level, lb), nd - n_missing, nd,
                       n_missing == 1 ? "" : "s", missing ? missing : "?");
  if (err < 0)
    return set_errmsg (ret_msg, err, "%s: cannot assemble %s: %s", label,
                       level_name (r->level, lb), strerror (-err));

  if (n_missing > 0)
    warn (warnings, "%s: %s running degraded (missing role%s %s)", name,
          level_name (r->level, lb), n_missing == 1 ? "" : "s", missing);

  if (r->version != 90 && next_minor && *next_minor > 0)
    (*next_minor)--;
  *ret = array;
  *ret_name = TAKE_PTR (name);
  if (ret_alias)
    *ret_alias = r->version == 90 ? NULL : md_alias (r->name);
  return 0;
}
