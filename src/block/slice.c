/* nguestmount: a window [offset, offset + length) over another bdev, the
 * way an nbdkit filter shifts offsets for the next layer.  Partitions and
 * linear LVM segments are slices.
 *
 * Thread model: no state besides the immutable offset and parent pointer.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

struct slice_data {
  struct bdev *parent;
  uint64_t offset;
};

static int
slice_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct slice_data *d = b->data;
  return bdev_pread (d->parent, buf, count, d->offset + offset);
}

static int
slice_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  struct slice_data *d = b->data;
  return bdev_pwrite (d->parent, buf, count, d->offset + offset);
}

static int
slice_flush (struct bdev *b)
{
  struct slice_data *d = b->data;
  return bdev_flush (d->parent);
}

static void
slice_destroy (struct bdev *b)
{
  struct slice_data *d = b->data;
  if (d) {
    bdev_unref (d->parent);
    free (d);
  }
}

static const struct bdev_ops slice_ops_ro = {
  .kind = "slice",
  .pread = slice_pread,
  .destroy = slice_destroy,
};

static const struct bdev_ops slice_ops_rw = {
  .kind = "slice",
  .pread = slice_pread,
  .pwrite = slice_pwrite,
  .flush = slice_flush,
  .destroy = slice_destroy,
};

int
bdev_slice_new (struct bdev *parent, uint64_t offset, uint64_t length,
                const char *name, struct bdev **ret)
{
  if (!parent)
    return -EINVAL;
  if (offset > parent->size || length > parent->size - offset) {
    log_debug (LOG_CAT_BLOCK,
               "%s: slice [%" PRIu64 ", +%" PRIu64 ") outside %s (%" PRIu64
               " bytes)",
               name ? name : "?", offset, length, parent->name, parent->size);
    return -ERANGE;
  }

  struct slice_data *d = xcalloc (1, sizeof *d);
  d->parent = bdev_ref (parent);
  d->offset = offset;
  struct bdev *b = bdev_new (parent->readonly ? &slice_ops_ro : &slice_ops_rw,
                             name, length, parent->readonly, d);
  if (parent->direct_fd >= 0) {
    b->direct_fd = parent->direct_fd;
    b->direct_offset = parent->direct_offset + offset;
  }
  log_debug (LOG_CAT_BLOCK, "%s: slice of %s at %" PRIu64 ", %" PRIu64
             " bytes", b->name, parent->name, offset, length);
  *ret = b;
  return 0;
}
