/* nguestmount: userspace block devices.
 *
 * A bdev is a byte range with pread/pwrite/flush.  Nodes stack like nbdkit
 * filters: a partition is a slice (offset + length) over its disk, and so
 * on.  Every operation is thread-safe: the block export calls them from
 * several FUSE worker threads at once.
 *
 * Thread model: a node's ops may be called concurrently from any thread;
 * nodes keep no per-call state.  Reference counts are atomic.
 */
#ifndef NGM_BDEV_H
#define NGM_BDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bdev;

struct bdev_ops {
  const char *kind;                      /* "file", "nbd", "slice", ... */
  /* Transfer exactly count bytes at offset (already range-checked by the
   * bdev_* wrappers).  Return 0 or -errno. */
  int (*pread) (struct bdev *b, void *buf, size_t count, uint64_t offset);
  int (*pwrite) (struct bdev *b, const void *buf, size_t count,
                 uint64_t offset);       /* NULL: read-only node */
  int (*flush) (struct bdev *b);         /* NULL: nothing to flush */
  void (*destroy) (struct bdev *b);      /* free b->data and parents' refs */
};

struct bdev {
  const struct bdev_ops *ops;
  unsigned refcount;
  char *name;            /* guest device name: "/dev/sda", "/dev/sda1" */
  uint64_t size;         /* bytes */
  bool readonly;
  /* Zero-copy fast path: when direct_fd >= 0, the bytes of this node are
   * exactly [direct_offset, direct_offset + size) of that host file or
   * block device, so the kernel can be given a loop device on it. */
  int direct_fd;
  uint64_t direct_offset;
  void *data;            /* node private data */
};

/* Allocate a node with refcount 1.  name is copied. */
struct bdev *bdev_new (const struct bdev_ops *ops, const char *name,
                       uint64_t size, bool readonly, void *data);
struct bdev *bdev_ref (struct bdev *b);
void bdev_unref (struct bdev *b);                 /* NULL is fine */

/* Range-checked I/O: a request past the end gives -EIO (reads of a range
 * that ends exactly at size are fine); pwrite on a read-only node gives
 * -EROFS. */
int bdev_pread (struct bdev *b, void *buf, size_t count, uint64_t offset);
int bdev_pwrite (struct bdev *b, const void *buf, size_t count,
                 uint64_t offset);
int bdev_flush (struct bdev *b);

/* A host file or block device read with pread (raw images, -a /dev/sdX).
 * Sets direct_fd. */
int bdev_file_open (const char *path, bool readonly, const char *name,
                    struct bdev **ret, char **ret_msg);

/* A window [offset, offset + length) over parent (takes its own reference
 * to parent).  Inherits the direct-file fast path. */
int bdev_slice_new (struct bdev *parent, uint64_t offset, uint64_t length,
                    const char *name, struct bdev **ret);

/* An image served by a qemu-nbd child on a private unix socket, spoken to
 * through libnbd with nconn connections (multi-conn).  format must be a
 * format name qemu knows (never probed by qemu).  ret_msg receives the
 * user-facing reason on failure (qemu-nbd's own message where it gave one).
 * Call it from the main thread (or one that outlives the bdev): the child
 * gets PR_SET_PDEATHSIG, which fires when the forking thread exits. */
int bdev_nbd_open (const char *path, const char *format, bool readonly,
                   unsigned nconn, const char *name, struct bdev **ret,
                   char **ret_msg);

/* Name helpers: the n-th disk (0-based) as "/dev/sda" ... "/dev/sdz",
 * "/dev/sdaa" ... like the Linux sd driver. */
char *bdev_disk_name (unsigned index);

#endif /* NGM_BDEV_H */
