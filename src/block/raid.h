/* nguestmount: RAID block devices in userspace (md personalities).
 *
 * Read-only bdev nodes that present an array over its member bdevs:
 * linear (concatenation), raid0 (striping), raid1 (mirror), raid10 (near
 * copies), raid4/5 (one parity chunk per stripe) and raid6 (P + Q).  The
 * members passed in are the data areas only (the caller slices off the
 * superblock and data_offset), all of the same size except for linear.
 * A missing member is a NULL entry; redundant levels reconstruct its data
 * from the others.
 *
 * The address arithmetic is exposed as pure functions (raid_map_*) so unit
 * tests can check it without any device.  Layout numbers are md's: for
 * raid5/6, 0 left-asymmetric, 1 right-asymmetric, 2 left-symmetric,
 * 3 right-symmetric, 4 parity first, 5 parity last; for raid10, near copies
 * in the low byte, far copies in the next byte (only far = 1 is supported).
 */
#ifndef NGM_RAID_H
#define NGM_RAID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/bdev.h"

#define RAID_LEVEL_LINEAR (-1)

enum raid_algorithm {
  RAID_LEFT_ASYMMETRIC = 0,
  RAID_RIGHT_ASYMMETRIC = 1,
  RAID_LEFT_SYMMETRIC = 2,
  RAID_RIGHT_SYMMETRIC = 3,
  RAID_PARITY_0 = 4,
  RAID_PARITY_N = 5,
};

/* The geometry of a striped array. */
struct raid_geom {
  int level;              /* RAID_LEVEL_LINEAR, 0, 1, 4, 5, 6, 10 */
  int layout;             /* md layout number (raid5/6/10), else ignored */
  unsigned ndisks;        /* raid_disks */
  uint64_t chunk;         /* chunk size in bytes (> 0 for 0/4/5/6/10) */
  uint64_t member_size;   /* bytes used on each member (a multiple of chunk
                           * for striped levels) */
};

/* Where one array byte lives.  For raid4/5/6 pd/qd are the disks holding
 * P and Q of that stripe (qd = -1 without Q), and slot is the data disk's
 * position in the Q syndrome (raid6). */
struct raid_loc {
  unsigned disk;
  uint64_t offset;        /* byte offset on that member */
  uint64_t stripe;
  int pd;
  int qd;
  unsigned slot;
};

/* Check a geometry: returns 0, or -EINVAL (bad values), -EOPNOTSUPP
 * (a level or layout this code does not handle).  On success
 * *ret_size is the array size in bytes. */
int raid_geom_check (const struct raid_geom *g, uint64_t *ret_size);

/* Number of member failures the level survives in the worst case
 * (raid10 is checked per copy set by raid_geom_degraded_ok). */
unsigned raid_geom_redundancy (const struct raid_geom *g);

/* Whether the array can be read with present[i] false for missing
 * members. */
bool raid_geom_degraded_ok (const struct raid_geom *g, const bool *present);

/* raid0: array offset -> member and member offset. */
void raid_map_raid0 (const struct raid_geom *g, uint64_t offset,
                     struct raid_loc *ret);

/* raid10 near layout: fills disks[0..ncopies) and offsets[0..ncopies)
 * with the members holding the copies of that byte and the byte offsets
 * on them (a copy set that wraps past the last member continues one chunk
 * row further down).  Returns the number of copies. */
unsigned raid_map_raid10 (const struct raid_geom *g, uint64_t offset,
                          unsigned *disks, uint64_t *offsets);

/* raid4/5/6: array offset -> data disk, member offset, parity disks. */
void raid_map_parity (const struct raid_geom *g, uint64_t offset,
                      struct raid_loc *ret);

/* GF(2^8) with md's polynomial x^8+x^4+x^3+x^2+1 (0x11d), generator 2. */
uint8_t raid_gf_mul (uint8_t a, uint8_t b);
uint8_t raid_gf_exp (unsigned power);          /* 2^power */
uint8_t raid_gf_inv (uint8_t a);               /* a != 0 */

/* Build nodes.  Each takes its own references to the members.
 * Linear: members[0..n) all present, concatenated in order.
 * Others: members[0..g->ndisks), NULL where missing; each present member
 * must be at least g->member_size bytes.  Returns -ENODEV when too many
 * members are missing, -EINVAL/-EOPNOTSUPP for a bad geometry. */
int bdev_raid_linear_new (struct bdev *const *members, size_t n,
                          const char *name, struct bdev **ret);
int bdev_raid_new (const struct raid_geom *g, struct bdev *const *members,
                   const char *name, struct bdev **ret);

#endif /* NGM_RAID_H */
