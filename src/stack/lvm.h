/* nguestmount: LVM2 volume groups read in userspace.
 *
 * The guest's physical volumes are bdevs (whole disks, partitions, md
 * arrays, opened LUKS volumes).  We read the PV labels and the text
 * metadata ourselves and build one bdev per logical volume that maps its
 * segments onto the PVs; the host's LVM never sees any of it.
 *
 * Three layers, each testable on its own:
 *   lvm-meta.c  the metadata text parser (LVM's config syntax) -> tree
 *   lvmap.c     the segment-mapping bdev (linear, striped, legs)
 *   lvm.c       labels, metadata areas, VG assembly, LV construction
 */
#ifndef NGM_LVM_H
#define NGM_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/bdev.h"
#include "common/util.h"

struct lvm_lv {
  char *vg;              /* VG name */
  char *name;            /* LV name */
  char *device;          /* "/dev/VG/LV" */
  char *uuid;            /* LV id as in metadata */
  char *segtype;         /* first segment: "linear", "striped", "raid1",
                            "mirror", "thin", ...; NULL if unknown */
  struct bdev *bdev;     /* owned; NULL if not readable (then a warning
                            says why) */
};

/* pvs: bdevs whose blkid TYPE is LVM2_member.  Reads each PV label
 * (sectors 0-3, "LABELONE", crc), the PV header, the metadata area headers
 * and the newest valid metadata text (highest seqno with a correct
 * checksum), groups PVs into VGs and builds one bdev per visible LV.
 * Never fails on guest content: everything wrong is a warning.  Returns
 * -errno only for host errors.  The LV bdevs hold their own references to
 * the PVs.  *ret is NULL when *ret_n is 0. */
int lvm_scan (struct bdev *const *pvs, size_t n, struct lvm_lv **ret,
              size_t *ret_n, struct strv *warnings);
void lvm_lvs_free (struct lvm_lv *lvs, size_t n);

/* ---- internals exposed for the unit tests ---- */

/* LVM's checksum (CRC-32, reflected polynomial 0xedb88320, no final
 * inversion), seeded with LVM_CRC_INITIAL for labels, mda headers and
 * metadata text. */
#define LVM_CRC_INITIAL 0xf597a6cfu
uint32_t lvm_crc (uint32_t initial, const void *buf, size_t len);

/* The parsed PV label of a device. */
struct lvm_label {
  char pv_uuid[33];           /* 32 characters, no dashes, NUL-terminated */
  uint64_t device_size;       /* bytes, as recorded */
  size_t n_mdas;
  uint64_t mda_offset[2];     /* bytes from the start of the PV */
  uint64_t mda_size[2];
};
/* Parse the first 2048 bytes of a device (label sectors 0-3).  Returns 0,
 * -ENOENT when there is no label, -EBADMSG for a damaged one (bad crc,
 * wrong sector number, bad offsets). */
int lvm_label_parse (const unsigned char *buf, size_t len,
                     struct lvm_label *ret);

/* The committed metadata location of an mda header (512 bytes).
 * mda_offset is where the header was read (it must match the recorded
 * start).  Returns 0, -ENODATA when the area holds no (or ignored)
 * metadata, -EBADMSG for a damaged header. */
struct lvm_raw_locn {
  uint64_t offset;            /* relative to the mda start */
  uint64_t size;
  uint32_t checksum;
};
int lvm_mda_header_parse (const unsigned char *buf, size_t len,
                          uint64_t mda_offset, uint64_t mda_size,
                          struct lvm_raw_locn *ret);

/* ---- the metadata text parser (lvm-meta.c) ---- */

enum lvm_cfg_type {
  LVM_CFG_SECTION,      /* name { ... }: children */
  LVM_CFG_INT,          /* i */
  LVM_CFG_FLOAT,        /* s holds the text, f the value */
  LVM_CFG_STRING,       /* s */
  LVM_CFG_LIST,         /* [ ... ]: children are the values (no keys) */
};

struct lvm_cfg {
  enum lvm_cfg_type type;
  char *key;            /* NULL for list elements and the root */
  int64_t i;
  double f;
  char *s;
  struct lvm_cfg *child;        /* first member / element */
  struct lvm_cfg *next;         /* next sibling */
};

#define LVM_CFG_MAX_DEPTH 32
#define LVM_CFG_MAX_NODES (1u << 20)
#define LVM_CFG_MAX_TEXT (16u * 1024 * 1024)

/* Parse len bytes of metadata text (NUL bytes are an error, except
 * trailing ones).  On success *ret is a section node holding the top-level
 * assignments.  Errors: -EINVAL syntax (ret_msg says where), -E2BIG text
 * or node count over the limits, -ELOOP nesting too deep, -ERANGE number
 * overflow. */
int lvm_cfg_parse (const char *text, size_t len, struct lvm_cfg **ret,
                   char **ret_msg);
void lvm_cfg_free (struct lvm_cfg *c);

/* Lookups in a section (direct children only; the first match). */
const struct lvm_cfg *lvm_cfg_get (const struct lvm_cfg *sec, const char *key);
const struct lvm_cfg *lvm_cfg_section (const struct lvm_cfg *sec,
                                       const char *key);
const char *lvm_cfg_string (const struct lvm_cfg *sec, const char *key);
/* Returns 0, -ENOENT (missing) or -EINVAL (not an integer). */
int lvm_cfg_int (const struct lvm_cfg *sec, const char *key, int64_t *ret);
/* True when the list under key contains the string flag. */
bool lvm_cfg_list_has (const struct lvm_cfg *sec, const char *key,
                       const char *flag);

/* ---- the segment-mapping node (lvmap.c) ---- */

struct lvmap_area {
  struct bdev *dev;     /* PV or sub-LV node (a reference is taken) */
  uint64_t offset;      /* bytes into dev where this area starts */
};

struct lvmap_seg {
  uint64_t start;       /* bytes into the LV */
  uint64_t length;      /* bytes */
  uint64_t stripe_size; /* bytes; ignored when n_areas == 1 */
  size_t n_areas;       /* 1 = linear */
  struct lvmap_area *areas;
};

/* Where byte off of a segment lives: area index, offset within the area
 * (relative to area->offset) and the number of contiguous bytes from
 * there that stay in the same area (up to the end of the stripe chunk or
 * the segment).  off must be < seg->length. */
void lvmap_locate (const struct lvmap_seg *seg, uint64_t off,
                   size_t *ret_area, uint64_t *ret_area_off,
                   uint64_t *ret_run);

/* Build a node of size total from segs[0..n) (sorted, contiguous from 0,
 * covering total).  Every area must lie within its device: for striped
 * segments each area spans length / n_areas bytes, which must be a
 * multiple of stripe_size.  The segments' area arrays are copied and
 * references taken; the caller keeps ownership of segs.  The node is
 * read-only when readonly is set or any device is.  Returns -EINVAL for
 * an inconsistent layout, -ERANGE for an area past its device's end. */
int lvmap_new (const struct lvmap_seg *segs, size_t n, uint64_t total,
               bool readonly, const char *name, struct bdev **ret);

#endif /* NGM_LVM_H */
