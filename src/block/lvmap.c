/* nguestmount: an LVM logical volume as a bdev: an ordered list of
 * segments, each mapping a byte range of the LV onto one area (linear) or
 * several areas in stripe_size chunks (striped, like dm-stripe), where an
 * area is a range of a PV or of another LV node (a raid1/mirror leg).
 *
 * Thread model: the segment table is immutable after lvmap_new; reads and
 * writes only call the areas' devices, which are thread-safe themselves.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/lvm.h"

struct lvmap_data {
  size_t n_segs;
  struct lvmap_seg *segs;
  size_t n_devs;             /* distinct devices, for flush */
  struct bdev **devs;
};

void
lvmap_locate (const struct lvmap_seg *seg, uint64_t off, size_t *ret_area,
              uint64_t *ret_area_off, uint64_t *ret_run)
{
  if (seg->n_areas <= 1) {
    *ret_area = 0;
    *ret_area_off = off;
    *ret_run = seg->length - off;
    return;
  }
  /* Chunk k of the segment lives in stripe k % n at row k / n. */
  const uint64_t chunk = off / seg->stripe_size;
  const uint64_t within = off % seg->stripe_size;
  *ret_area = (size_t) (chunk % seg->n_areas);
  *ret_area_off = (chunk / seg->n_areas) * seg->stripe_size + within;
  uint64_t run = seg->stripe_size - within;
  if (run > seg->length - off)
    run = seg->length - off;
  *ret_run = run;
}

/* The segment containing LV byte off (off < size). */
static const struct lvmap_seg *
find_seg (const struct lvmap_data *d, uint64_t off)
{
  size_t lo = 0, hi = d->n_segs;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct lvmap_seg *s = &d->segs[mid];
    if (off < s->start)
      hi = mid;
    else if (off - s->start >= s->length)
      lo = mid + 1;
    else
      return s;
  }
  return NULL;
}

static int
lvmap_io (struct bdev *b, void *rbuf, const void *wbuf, size_t count,
          uint64_t offset)
{
  struct lvmap_data *d = b->data;

  while (count > 0) {
    const struct lvmap_seg *s = find_seg (d, offset);
    if (!s)
      return -EIO;              /* cannot happen: segments cover the LV */
    size_t area;
    uint64_t aoff, run;
    lvmap_locate (s, offset - s->start, &area, &aoff, &run);
    size_t n = run < count ? (size_t) run : count;
    const struct lvmap_area *a = &s->areas[area];
    int r;
    if (rbuf) {
      r = bdev_pread (a->dev, rbuf, n, a->offset + aoff);
      rbuf = (char *) rbuf + n;
    }
    else {
      r = bdev_pwrite (a->dev, wbuf, n, a->offset + aoff);
      wbuf = (const char *) wbuf + n;
    }
    if (r < 0)
      return r;
    count -= n;
    offset += n;
  }
  return 0;
}

static int
lvmap_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  return lvmap_io (b, buf, NULL, count, offset);
}

static int
lvmap_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  return lvmap_io (b, NULL, buf, count, offset);
}

static int
lvmap_flush (struct bdev *b)
{
  struct lvmap_data *d = b->data;
  int ret = 0;
  for (size_t i = 0; i < d->n_devs; i++) {
    int r = bdev_flush (d->devs[i]);
    if (r < 0 && ret == 0)
      ret = r;
  }
  return ret;
}

static void
lvmap_data_free (struct lvmap_data *d)
{
  if (!d)
    return;
  for (size_t i = 0; i < d->n_segs; i++) {
    for (size_t j = 0; j < d->segs[i].n_areas; j++)
      bdev_unref (d->segs[i].areas[j].dev);
    free (d->segs[i].areas);
  }
  free (d->segs);
  free (d->devs);         /* borrowed pointers: the areas hold the refs */
  free (d);
}

static void
lvmap_destroy (struct bdev *b)
{
  lvmap_data_free (b->data);
}

static const struct bdev_ops lvmap_ops_ro = {
  .kind = "lvm",
  .pread = lvmap_pread,
  .destroy = lvmap_destroy,
};

static const struct bdev_ops lvmap_ops_rw = {
  .kind = "lvm",
  .pread = lvmap_pread,
  .pwrite = lvmap_pwrite,
  .flush = lvmap_flush,
  .destroy = lvmap_destroy,
};

/* Check one segment's shape and that its areas lie inside their devices. */
static int
check_seg (const struct lvmap_seg *s, const char *name)
{
  if (s->n_areas == 0 || !s->areas || s->length == 0)
    return -EINVAL;
  uint64_t per_area = s->length;
  if (s->n_areas > 1) {
    if (s->stripe_size == 0 || s->length % s->n_areas != 0)
      return -EINVAL;
    per_area = s->length / s->n_areas;
    if (per_area % s->stripe_size != 0)
      return -EINVAL;
  }
  for (size_t j = 0; j < s->n_areas; j++) {
    const struct lvmap_area *a = &s->areas[j];
    if (!a->dev)
      return -EINVAL;
    if (a->offset > a->dev->size || per_area > a->dev->size - a->offset) {
      log_debug (LOG_CAT_STACK,
                 "%s: area %zu [%" PRIu64 ", +%" PRIu64 ") past the end of "
                 "%s (%" PRIu64 " bytes)",
                 name, j, a->offset, per_area, a->dev->name, a->dev->size);
      return -ERANGE;
    }
  }
  return 0;
}

int
lvmap_new (const struct lvmap_seg *segs, size_t n, uint64_t total,
           bool readonly, const char *name, struct bdev **ret)
{
  if (!segs || n == 0 || total == 0)
    return -EINVAL;

  uint64_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    if (segs[i].start != pos)
      return -EINVAL;
    int r = check_seg (&segs[i], name ? name : "?");
    if (r < 0)
      return r;
    if (segs[i].length > total - pos)
      return -EINVAL;
    pos += segs[i].length;
  }
  if (pos != total)
    return -EINVAL;

  struct lvmap_data *d = xcalloc (1, sizeof *d);
  d->segs = xcalloc (n, sizeof *d->segs);
  d->n_segs = n;
  size_t max_devs = 0;
  for (size_t i = 0; i < n; i++)
    max_devs += segs[i].n_areas;
  d->devs = xcalloc (max_devs, sizeof *d->devs);

  for (size_t i = 0; i < n; i++) {
    struct lvmap_seg *s = &d->segs[i];
    *s = segs[i];
    s->areas = xcalloc (segs[i].n_areas, sizeof *s->areas);
    for (size_t j = 0; j < s->n_areas; j++) {
      struct bdev *dev = segs[i].areas[j].dev;
      s->areas[j].dev = bdev_ref (dev);
      s->areas[j].offset = segs[i].areas[j].offset;
      if (dev->readonly)
        readonly = true;
      bool seen = false;
      for (size_t k = 0; k < d->n_devs; k++)
        if (d->devs[k] == dev)
          seen = true;
      if (!seen)
        d->devs[d->n_devs++] = dev;
    }
  }

  struct bdev *b = bdev_new (readonly ? &lvmap_ops_ro : &lvmap_ops_rw, name,
                             total, readonly, d);
  /* One linear segment on a device with a direct fd: the kernel can read
   * the host file directly. */
  if (n == 1 && d->segs[0].n_areas == 1
      && d->segs[0].areas[0].dev->direct_fd >= 0) {
    b->direct_fd = d->segs[0].areas[0].dev->direct_fd;
    b->direct_offset = d->segs[0].areas[0].dev->direct_offset
                       + d->segs[0].areas[0].offset;
  }
  log_debug (LOG_CAT_STACK, "%s: lvm node, %zu segment(s), %" PRIu64 " bytes%s",
             b->name, n, total, readonly ? ", read-only" : "");
  *ret = b;
  return 0;
}
