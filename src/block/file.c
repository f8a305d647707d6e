/* nguestmount: a bdev over a host file or block device, read with pread.
 *
 * Thread model: pread/pwrite on one fd are safe from any number of threads
 * (they carry their own offset); the fd is immutable after open.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

struct file_data {
  int fd;
};

static int
file_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct file_data *d = b->data;
  return pread_full (d->fd, buf, count, offset);
}

static int
file_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  struct file_data *d = b->data;
  return pwrite_full (d->fd, buf, count, offset);
}

static int
file_flush (struct bdev *b)
{
  struct file_data *d = b->data;
  if (fdatasync (d->fd) < 0)
    return -errno;
  return 0;
}

static void
file_destroy (struct bdev *b)
{
  struct file_data *d = b->data;
  if (d) {
    if (d->fd >= 0)
      close (d->fd);
    free (d);
  }
}

static const struct bdev_ops file_ops_ro = {
  .kind = "file",
  .pread = file_pread,
  .destroy = file_destroy,
};

static const struct bdev_ops file_ops_rw = {
  .kind = "file",
  .pread = file_pread,
  .pwrite = file_pwrite,
  .flush = file_flush,
  .destroy = file_destroy,
};

int
bdev_file_open (const char *path, bool readonly, const char *name,
                struct bdev **ret, char **ret_msg)
{
  _cleanup_close_ int fd = -1;
  struct stat st;
  uint64_t size;

  /* O_NONBLOCK so that a FIFO given by mistake cannot hang the open; it is
   * refused below and cleared for the regular cases. */
  fd = open (path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY
                     | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }
  if (fstat (fd, &st) < 0) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }
  if (S_ISDIR (st.st_mode))
    return set_errmsg (ret_msg, -EISDIR, "cannot attach %s: is a directory",
                       path);
  if (S_ISREG (st.st_mode))
    size = (uint64_t) st.st_size;
  else if (S_ISBLK (st.st_mode)) {
    if (ioctl (fd, BLKGETSIZE64, &size) < 0) {
      int err = errno;
      return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                         strerror (err));
    }
  }
  else
    return set_errmsg (ret_msg, -EINVAL,
                       "cannot attach %s: not a regular file or block device",
                       path);
  if (size == 0)
    return set_errmsg (ret_msg, -EINVAL, "cannot attach %s: the image is empty",
                       path);

  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }

  struct file_data *d = xcalloc (1, sizeof *d);
  d->fd = fd;
  struct bdev *b = bdev_new (readonly ? &file_ops_ro : &file_ops_rw, name,
                             size, readonly, d);
  b->direct_fd = TAKE_FD (fd);
  b->direct_offset = 0;
  log_debug (LOG_CAT_BLOCK, "%s: file %s, %" PRIu64 " bytes, %s", b->name,
             path, size, readonly ? "read-only" : "read-write");
  *ret = b;
  return 0;
}
