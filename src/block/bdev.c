/* nguestmount: the generic part of a userspace block device (see bdev.h).
 *
 * Thread model: bdev_pread/pwrite/flush may be called from any thread at
 * once; they only read immutable fields (size, readonly, ops) and call the
 * node's ops.  The reference count is updated with atomic builtins, so refs
 * may be taken and dropped from any thread; the last unref destroys.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

struct bdev *
bdev_new (const struct bdev_ops *ops, const char *name, uint64_t size,
          bool readonly, void *data)
{
  struct bdev *b = xcalloc (1, sizeof *b);

  b->ops = ops;
  b->refcount = 1;
  b->name = xstrdup (name ? name : "");
  b->size = size;
  b->readonly = readonly || ops->pwrite == NULL;
  b->direct_fd = -1;
  b->direct_offset = 0;
  b->data = data;
  return b;
}

struct bdev *
bdev_ref (struct bdev *b)
{
  if (b)
    __atomic_add_fetch (&b->refcount, 1, __ATOMIC_RELAXED);
  return b;
}

void
bdev_unref (struct bdev *b)
{
  if (!b)
    return;
  if (__atomic_sub_fetch (&b->refcount, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  log_debug (LOG_CAT_BLOCK, "destroying %s node %s", b->ops->kind, b->name);
  if (b->ops->destroy)
    b->ops->destroy (b);
  free (b->name);
  free (b);
}

/* offset + count must lie within [0, size]; written so it cannot
 * overflow. */
static bool
in_range (const struct bdev *b, size_t count, uint64_t offset)
{
  return offset <= b->size && count <= b->size - offset;
}

int
bdev_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  if (!in_range (b, count, offset))
    return -EIO;
  if (count == 0)
    return 0;
  return b->ops->pread (b, buf, count, offset);
}

int
bdev_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  if (b->readonly || !b->ops->pwrite)
    return -EROFS;
  if (!in_range (b, count, offset))
    return -EIO;
  if (count == 0)
    return 0;
  return b->ops->pwrite (b, buf, count, offset);
}

int
bdev_flush (struct bdev *b)
{
  if (b->readonly || !b->ops->flush)
    return 0;
  return b->ops->flush (b);
}

char *
bdev_disk_name (unsigned index)
{
  /* Bijective base 26, like sd_format_disk_name in the Linux sd driver:
   * a..z, aa..az, ba.., zz, aaa... */
  char letters[16];
  size_t n = sizeof letters;
  uint64_t i = (uint64_t) index + 1;

  letters[--n] = '\0';
  while (i > 0) {
    i--;
    letters[--n] = (char) ('a' + i % 26);
    i /= 26;
  }
  return xasprintf ("/dev/sd%s", &letters[n]);
}
