/* nguestmount: partition tables and content probing with libblkid.
 *
 * For every attached disk: look for a partition table (GPT, MBR with
 * extended and logical partitions, and whatever else libblkid knows) and
 * a whole-disk signature.  Partitions become slice bdevs over their disk
 * and are probed for their own content; a disk without a partition table
 * is a candidate itself when something is recognised on it.
 *
 * libblkid reads through a host fd given by the caller (stack_fd_fn): the
 * image file at an offset for raw images, or a block-export file.  Every
 * probe is bounded by the node's size, so libblkid never reads outside a
 * partition or a disk.  Guest content never makes discovery fail: what
 * cannot be understood becomes a warning.
 */
#include <config.h>

#include <blkid/blkid.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/stack.h"
#include "stack/stack-internal.h"

/* libblkid reports partition offsets and sizes in 512-byte sectors,
 * whatever the device's logical sector size. */
#define BLKID_SECTOR 512ull

/* GPT partition types that never hold a filesystem of their own (compare
 * case-insensitively: libblkid prints them in lower case). */
static const char *const gpt_skip_types[] = {
  "e3c9e316-0b5c-4db8-817d-f92df00215ae", /* Microsoft reserved (MSR) */
  "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", /* Windows LDM metadata */
  "af9b60a0-1431-4f62-bc68-3311714a69ad", /* Windows LDM data */
  "caddebf1-4400-4de8-b103-12117dcf3ccf", /* Microsoft shadow copy */
};


static void
probe_freep (blkid_probe *pr)
{
  if (*pr)
    blkid_free_probe (*pr);
}
#define _cleanup_probe_ __attribute__ ((cleanup (probe_freep)))

static void
bdev_unrefp (struct bdev **b)
{
  bdev_unref (*b);
}
#define _cleanup_bdev_ __attribute__ ((cleanup (bdev_unrefp)))

/* libblkid convention: errno may or may not be set on failure. */
static int
blkid_errno (void)
{
  return -(errno ? errno : EIO);
}

/* Errors that say something about the host, not about the guest. */
static bool
is_host_error (int r)
{
  return r == -ENOMEM || r == -EMFILE || r == -ENFILE;
}

/* A fresh probe over the bytes of b, reading through the caller's fd. */
static int
probe_open (struct discover *d, struct bdev *b, blkid_probe *ret)
{
  int fd = -1;
  uint64_t offset = 0;
  int r;

  r = d->get_fd (d->opaque, b, &fd, &offset);
  if (r < 0)
    return r;
  if (fd < 0)
    return -EBADF;
  if (b->size == 0)             /* 0 would mean "the whole file" */
    return -EINVAL;
  if (offset > INT64_MAX || b->size > INT64_MAX - offset)
    return -EOVERFLOW;

  errno = 0;
  blkid_probe pr = blkid_new_probe ();
  if (!pr)
    return blkid_errno ();
  errno = 0;
  if (blkid_probe_set_device (pr, fd, (blkid_loff_t) offset,
                              (blkid_loff_t) b->size) < 0) {
    r = blkid_errno ();
    blkid_free_probe (pr);
    return r;
  }
  *ret = pr;
  return 0;
}

/* Copy a probe value, or NULL when libblkid has none. */
static char *
probe_value (blkid_probe pr, const char *name)
{
  const char *data = NULL;
  size_t len = 0;

  if (blkid_probe_lookup_value (pr, name, &data, &len) < 0 || !data)
    return NULL;
  /* libblkid values are NUL-terminated (len counts the NUL). */
  return xstrdup (data);
}

static void
superblock_flags (blkid_probe pr)
{
  blkid_probe_enable_superblocks (pr, 1);
  blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_LABEL
                                     | BLKID_SUBLKS_UUID
                                     | BLKID_SUBLKS_TYPE
                                     | BLKID_SUBLKS_USAGE);
}

struct fsinfo *
stack_add (struct stack *st)
{
  st->fs = xrealloc_array (st->fs, st->n_fs + 1, sizeof *st->fs);
  struct fsinfo *fs = &st->fs[st->n_fs++];
  memset (fs, 0, sizeof *fs);
  return fs;
}

static void
fsinfo_clear (struct fsinfo *fs)
{
  free (fs->device);
  bdev_unref (fs->bdev);
  free (fs->type);
  free (fs->usage);
  free (fs->uuid);
  free (fs->label);
  free (fs->partuuid);
  free (fs->partlabel);
  free (fs->parttype);
  memset (fs, 0, sizeof *fs);
}

/* Fill type/usage/uuid/label from a probe that found a superblock. */
static void
take_superblock (blkid_probe pr, struct fsinfo *fs)
{
  fs->type = probe_value (pr, "TYPE");
  fs->usage = probe_value (pr, "USAGE");
  fs->uuid = probe_value (pr, "UUID");
  fs->label = probe_value (pr, "LABEL");
}

/* Probe the content of a partition slice (superblocks only).  Problems
 * with the guest's bytes become warnings; only host errors are returned. */
static int
probe_content (struct discover *d, struct fsinfo *fs)
{
  _cleanup_probe_ blkid_probe pr = NULL;
  int r;

  r = probe_open (d, fs->bdev, &pr);
  if (r < 0) {
    if (is_host_error (r) || r == -EBADF)
      return r;
    strv_pushf (&d->st->warnings, "%s: cannot probe content: %s",
                fs->device, strerror (-r));
    return 0;
  }
  superblock_flags (pr);
  blkid_probe_enable_partitions (pr, 0);

  errno = 0;
  r = blkid_do_safeprobe (pr);
  switch (r) {
  case 0:
    take_superblock (pr, fs);
    log_debug (LOG_CAT_STACK, "%s: type=%s uuid=%s label=%s", fs->device,
               fs->type ?: "-", fs->uuid ?: "-", fs->label ?: "-");
    break;
  case 1:
    log_debug (LOG_CAT_STACK, "%s: nothing recognised", fs->device);
    break;
  case -2:
    strv_pushf (&d->st->warnings,
                "%s: several conflicting signatures (ambivalent probing "
                "result), content type left unknown", fs->device);
    break;
  default:
    r = blkid_errno ();
    if (is_host_error (r))
      return r;
    strv_pushf (&d->st->warnings, "%s: cannot probe content: %s",
                fs->device, strerror (-r));
  }
  return 0;
}

static bool
gpt_type_skipped (const char *type)
{
  if (!type)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE (gpt_skip_types); i++)
    if (strcasecmp (type, gpt_skip_types[i]) == 0)
      return true;
  return false;
}

/* "/dev/sda" + 1 → "/dev/sda1"; a name ending in a digit takes a "p"
 * ("/dev/md127p1") as Linux does. */
static char *
partition_name (const char *disk, int partno)
{
  size_t len = strlen (disk);
  bool digit = len > 0 && disk[len - 1] >= '0' && disk[len - 1] <= '9';
  return xasprintf ("%s%s%d", disk, digit ? "p" : "", partno);
}

struct stack_device *
stack_add_device (struct stack *st, const char *name, const char *type,
                  uint64_t size, const char *uuid, const char *parents)
{
  st->devices = xrealloc_array (st->devices, st->n_devices + 1,
                                sizeof *st->devices);
  struct stack_device *dv = &st->devices[st->n_devices++];
  memset (dv, 0, sizeof *dv);
  dv->name = xstrdup (name);
  dv->type = xstrdup (type);
  dv->size = size;
  dv->uuid = xstrdup (uuid);
  dv->parents = xstrdup (parents);
  dv->opened = true;
  return dv;
}

/* One entry of the partition list: bounds check, slice, content probe. */
static int
add_partition (struct discover *d, struct bdev *disk, unsigned disk_index,
               blkid_partition par)
{
  struct stack *st = d->st;
  blkid_parttable tab = blkid_partition_get_table (par);
  const char *pttype = tab ? blkid_parttable_get_type (tab) : NULL;
  bool gpt = pttype && strcmp (pttype, "gpt") == 0;
  int partno = blkid_partition_get_partno (par);
  blkid_loff_t start = blkid_partition_get_start (par);
  blkid_loff_t nsect = blkid_partition_get_size (par);
  const char *type_string = blkid_partition_get_type_string (par);
  uint64_t offset, length;
  int r;

  if (partno <= 0) {
    strv_pushf (&st->warnings, "%s: partition table entry without a number "
                "ignored", disk->name);
    return 0;
  }
  _cleanup_free_ char *name = partition_name (disk->name, partno);

  if (blkid_partition_is_extended (par)) {
    log_debug (LOG_CAT_STACK, "%s: extended partition container skipped",
               name);
    return 0;
  }
  if (gpt && gpt_type_skipped (type_string)) {
    log_debug (LOG_CAT_STACK, "%s: partition type %s holds no filesystem, "
               "skipped", name, type_string);
    return 0;
  }

  if (start < 0 || nsect <= 0
      || __builtin_mul_overflow ((uint64_t) start, BLKID_SECTOR, &offset)
      || __builtin_mul_overflow ((uint64_t) nsect, BLKID_SECTOR, &length)) {
    strv_pushf (&st->warnings, "%s: invalid partition bounds (start %lld, "
                "%lld sectors), ignored", name, (long long) start,
                (long long) nsect);
    return 0;
  }
  if (offset >= disk->size) {
    strv_pushf (&st->warnings, "%s: partition starts at byte %" PRIu64
                ", beyond the end of the disk (%" PRIu64 " bytes), ignored",
                name, offset, disk->size);
    return 0;
  }
  if (length > disk->size - offset) {
    strv_pushf (&st->warnings, "%s: partition ends at byte %" PRIu64
                ", beyond the end of the disk (%" PRIu64 " bytes), "
                "truncated to the disk", name, offset + length, disk->size);
    length = disk->size - offset;
  }

  _cleanup_bdev_ struct bdev *slice = NULL;
  r = bdev_slice_new (disk, offset, length, name, &slice);
  if (r < 0)
    return r;

  struct fsinfo *fs = stack_add (st);
  fs->device = TAKE_PTR (name);
  fs->bdev = TAKE_PTR (slice);
  fs->disk_index = disk_index;
  fs->partnum = (unsigned) partno;
  fs->size = length;
  fs->partuuid = xstrdup (blkid_partition_get_uuid (par));
  if (gpt) {
    fs->partlabel = xstrdup (blkid_partition_get_name (par));
    fs->parttype = xstrdup (type_string);
  }
  else if (type_string)         /* some tables name their types */
    fs->parttype = xstrdup (type_string);
  else
    fs->parttype = xasprintf ("0x%02x", (unsigned) blkid_partition_get_type (par));

  stack_add_device (st, fs->device, "partition", length, fs->partuuid,
                    disk->name);
  log_debug (LOG_CAT_STACK, "%s: %s partition at %" PRIu64 ", %" PRIu64
             " bytes, type %s, partuuid %s", fs->device, pttype ?: "?",
             offset, length, fs->parttype, fs->partuuid ?: "-");

  return probe_content (d, fs);
}

/* Probe a whole disk (or array, LV, opened LUKS payload): partition table
 * and/or whole-device signature. */
int
stack_probe_device (struct discover *d, struct bdev *disk, unsigned disk_index)
{
  struct stack *st = d->st;
  _cleanup_probe_ blkid_probe pr = NULL;
  int r;

  if (disk->size == 0) {
    strv_pushf (&st->warnings, "%s: the disk is empty", disk->name);
    return 0;
  }

  r = probe_open (d, disk, &pr);
  if (r < 0) {
    if (is_host_error (r) || r == -EBADF)
      return r;
    strv_pushf (&st->warnings, "%s: cannot probe disk: %s", disk->name,
                strerror (-r));
    return 0;
  }
  superblock_flags (pr);
  blkid_probe_enable_partitions (pr, 1);
  blkid_probe_set_partitions_flags (pr, BLKID_PARTS_ENTRY_DETAILS);
  log_debug (LOG_CAT_STACK, "%s: probing %" PRIu64 " bytes, sector size %u",
             disk->name, disk->size, blkid_probe_get_sectorsize (pr));

  errno = 0;
  int rc = blkid_do_safeprobe (pr);
  bool ambivalent = false;
  _cleanup_free_ char *pttype = NULL;

  if (rc == -2) {
    /* Conflicting whole-disk signatures stop libblkid before it looks for
     * a partition table; the table may still be there. */
    ambivalent = true;
    strv_pushf (&st->warnings, "%s: several conflicting signatures on the "
                "whole disk (ambivalent probing result)", disk->name);
  }
  else if (rc < 0) {
    r = blkid_errno ();
    if (is_host_error (r))
      return r;
    strv_pushf (&st->warnings, "%s: cannot probe disk: %s", disk->name,
                strerror (-r));
    return 0;
  }
  else if (rc == 0)
    pttype = probe_value (pr, "PTTYPE");

  /* A protective MBR alone: the GPT behind it is damaged, or the disk was
   * truncated (libblkid checks both GPT headers against the disk size).
   * Try 4096-byte sectors once, for images of 4Kn disks. */
  if (pttype && strcmp (pttype, "PMBR") == 0) {
    _cleanup_probe_ blkid_probe pr4k = NULL;
    r = probe_open (d, disk, &pr4k);
    if (r < 0 && (is_host_error (r) || r == -EBADF))
      return r;
    if (r == 0 && blkid_probe_set_sectorsize (pr4k, 4096) == 0) {
      superblock_flags (pr4k);
      blkid_probe_enable_partitions (pr4k, 1);
      blkid_probe_set_partitions_flags (pr4k, BLKID_PARTS_ENTRY_DETAILS);
      if (blkid_do_safeprobe (pr4k) == 0) {
        _cleanup_free_ char *t4k = probe_value (pr4k, "PTTYPE");
        if (t4k && strcmp (t4k, "gpt") == 0) {
          log_debug (LOG_CAT_STACK, "%s: GPT with 4096-byte sectors",
                     disk->name);
          probe_freep (&pr);
          pr = TAKE_PTR (pr4k);
          free (pttype);
          pttype = TAKE_PTR (t4k);
        }
      }
    }
    if (strcmp (pttype, "PMBR") == 0)
      strv_pushf (&st->warnings, "%s: protective MBR without a valid GPT "
                  "(damaged partition table or truncated disk image); no "
                  "partitions used", disk->name);
  }

  blkid_partlist ls = NULL;
  if ((pttype && strcmp (pttype, "PMBR") != 0) || ambivalent) {
    errno = 0;
    ls = blkid_probe_get_partitions (pr);
    if (!ls && pttype) {
      r = blkid_errno ();
      if (is_host_error (r))
        return r;
      strv_pushf (&st->warnings, "%s: cannot read the %s partition table: %s",
                  disk->name, pttype, strerror (-r));
    }
  }

  int nparts = ls ? blkid_partlist_numof_partitions (ls) : 0;
  if (ls && blkid_partlist_get_table (ls) && nparts > 0) {
    log_debug (LOG_CAT_STACK, "%s: %s partition table, %d entries",
               disk->name,
               blkid_parttable_get_type (blkid_partlist_get_table (ls)) ?: "?",
               nparts);
    for (int i = 0; i < nparts; i++) {
      blkid_partition par = blkid_partlist_get_partition (ls, i);
      if (!par)
        continue;
      r = add_partition (d, disk, disk_index, par);
      if (r < 0)
        return r;
    }
    return 0;
  }
  if (pttype && strcmp (pttype, "PMBR") != 0)
    log_debug (LOG_CAT_STACK, "%s: %s partition table without partitions",
               disk->name, pttype);

  /* No usable partition table: the whole disk is a candidate when
   * something was recognised on it (or it is ambivalent, so that the user
   * sees it and can name a type). */
  _cleanup_free_ char *type = rc == 0 ? probe_value (pr, "TYPE") : NULL;
  if (!type && !ambivalent) {
    log_debug (LOG_CAT_STACK, "%s: nothing recognised on the disk",
               disk->name);
    return 0;
  }

  struct fsinfo *fs = stack_add (st);
  fs->device = xstrdup (disk->name);
  fs->bdev = bdev_ref (disk);
  fs->disk_index = disk_index;
  fs->partnum = 0;
  fs->size = disk->size;
  if (type)
    take_superblock (pr, fs);
  log_debug (LOG_CAT_STACK, "%s: whole-disk %s", fs->device,
             fs->type ?: "(ambivalent)");
  return 0;
}

int
stack_discover (struct bdev *const *disks, size_t n_disks,
                stack_fd_fn get_fd, void *opaque, struct stack *ret)
{
  struct stack st = { 0 };
  struct discover d = { .get_fd = get_fd, .opaque = opaque, .st = &st };
  int r;

  if (!get_fd || !ret || (n_disks > 0 && !disks))
    return -EINVAL;

  for (size_t i = 0; i < n_disks; i++) {
    if (!disks[i] || !disks[i]->name) {
      stack_clear (&st);
      return -EINVAL;
    }
    r = stack_probe_device (&d, disks[i], (unsigned) i);
    if (r < 0) {
      log_debug (LOG_CAT_STACK, "%s: discovery failed: %s", disks[i]->name,
                 strerror (-r));
      stack_clear (&st);
      return r;
    }
  }

  *ret = st;
  return 0;
}

void
stack_clear (struct stack *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n_fs; i++)
    fsinfo_clear (&s->fs[i]);
  free (s->fs);
  s->fs = NULL;
  s->n_fs = 0;
  for (size_t i = 0; i < s->n_devices; i++) {
    free (s->devices[i].name);
    free (s->devices[i].type);
    free (s->devices[i].uuid);
    free (s->devices[i].parents);
    free (s->devices[i].error);
    free (s->devices[i].alias);
  }
  free (s->devices);
  s->devices = NULL;
  s->n_devices = 0;
  strv_clear (&s->warnings);
  strv_clear (&s->errors);
}
