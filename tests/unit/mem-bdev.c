/* Unit tests: a bdev over a malloc'ed buffer (see mem-bdev.h). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "mem-bdev.h"

struct mem {
  unsigned char *buf;
};

static int
mem_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct mem *m = b->data;
  memcpy (buf, m->buf + offset, count);
  return 0;
}

static int
mem_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  struct mem *m = b->data;
  memcpy (m->buf + offset, buf, count);
  return 0;
}

static void
mem_destroy (struct bdev *b)
{
  struct mem *m = b->data;
  free (m->buf);
  free (m);
}

static const struct bdev_ops mem_ops = {
  .kind = "mem",
  .pread = mem_pread,
  .pwrite = mem_pwrite,
  .destroy = mem_destroy,
};

struct bdev *
test_mem_bdev (const char *name, size_t size, const void *content)
{
  struct mem *m = xcalloc (1, sizeof *m);
  m->buf = xcalloc (1, size);
  if (content)
    memcpy (m->buf, content, size);
  return bdev_new (&mem_ops, name, size, false, m);
}

unsigned char *
test_mem_buf (struct bdev *b)
{
  return ((struct mem *) b->data)->buf;
}
