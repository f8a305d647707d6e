/* nguestmount: Linux md RAID arrays assembled in userspace.
 *
 * md_examine reads a member's superblock (v0.90 at the last 64 KiB-aligned
 * 64 KiB block, v1.0 near the end, v1.1 at 0, v1.2 at 4 KiB), verifies its
 * magic, checksum and values, and describes it.  md_assemble groups the
 * members of one array (same uuid) into a read-only bdev built from the
 * nodes in block/raid.h.  Nothing here touches the host's md driver: the
 * guest's arrays are never shown to the host's mdadm or udev.
 */
#ifndef NGM_MD_H
#define NGM_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/bdev.h"
#include "common/util.h"

struct md_info {            /* one member's superblock, parsed */
  int version;              /* 90, 100, 101, 102 */
  uint8_t uuid[16];         /* array UUID (v0.90: built from its 4 words as mdadm prints it) */
  char name[33];            /* v1 array name ("host:name" as stored), "" for v0.90 */
  int level;                /* -1 linear, 0, 1, 4, 5, 6, 10 */
  int layout;
  unsigned raid_disks;
  int role;                 /* slot 0..raid_disks-1, or -1 spare/faulty */
  uint64_t chunk_bytes;
  uint64_t data_offset;     /* bytes from start of member */
  uint64_t data_size;       /* usable bytes of this member */
  uint64_t array_size;      /* bytes of the assembled array (0 for linear:
                             * known only from all members) */
  uint64_t events;
  int preferred_minor;      /* v0.90, else -1 */
  /* Extensions. */
  uint64_t component_size;  /* bytes of each member the array uses
                             * (linear: this member's share) */
  uint64_t sb_offset;       /* byte offset of the superblock */
  uint32_t feature_map;     /* v1 feature bits, 0 for v0.90 */
  bool in_sync;             /* role is valid and fully recovered */
  bool reshaping;           /* a reshape is in progress (not supported) */
};

/* Read and check the md superblock of b.  Returns 0, -ENOENT when there
 * is none, -EINVAL when one is present but corrupt (bad checksum,
 * inconsistent or out-of-range values) or several conflicting ones are
 * found, or another -errno for an I/O error. */
int md_examine (struct bdev *b, struct md_info *ret);

/* Like md_examine; on -EINVAL *ret_msg (if not NULL) says what is wrong,
 * naming b. */
int md_examine_msg (struct bdev *b, struct md_info *ret, char **ret_msg);

/* "xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx", as mdadm prints array UUIDs. */
char *md_uuid_string (const uint8_t uuid[16]);

/* Assemble members (all with the same uuid).  Picks the freshest events,
 * drops stale members with a warning, places by role; if too many are
 * missing, returns -ENODEV with a message naming the array and what is
 * missing.  *ret_name is "/dev/mdN" (v0.90: preferred minor; v1: 127, 126,
 * ... via *next_minor, decremented per array assembled) and *ret_alias
 * "/dev/md/NAME" (the part after ':' in a v1 name) or NULL.  warnings
 * (may be NULL) receives one line per member left out. */
int md_assemble (struct bdev *const *members, const struct md_info *infos,
                 size_t n, unsigned *next_minor, struct bdev **ret,
                 char **ret_name, char **ret_alias, struct strv *warnings,
                 char **ret_msg);

#endif /* NGM_MD_H */
