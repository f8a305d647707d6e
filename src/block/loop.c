/* nguestmount: loop devices (see loop.h).
 *
 * A device is claimed with LOOP_CTL_GET_FREE and configured in one step
 * with LOOP_CONFIGURE (Linux 5.8), which also sets the offset, size limit,
 * flags and block size atomically.  Other processes (udisks, another
 * nguestmount, losetup) race for the same free device; LOOP_CONFIGURE then
 * fails with EBUSY and we ask for another one.
 *
 * The device node is opened O_RDONLY when readonly is set (a read-only
 * loop device cannot be opened for writing anyway), O_RDWR otherwise.
 * Autoclear detaches the device once the last fd on it (ours, then the
 * mount's) goes away.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "block/loop.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#define LOOP_ATTEMPTS 10
/* The node is created by devtmpfs when the device is added; allow a little
 * time where that happens asynchronously (udev-managed /dev). */
#define LOOP_NODE_WAIT_MS 2000

static void
sleep_ms (unsigned ms)
{
  struct timespec ts = { .tv_sec = ms / 1000,
                         .tv_nsec = (long) (ms % 1000) * 1000000 };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
open_loop_node (const char *path, bool readonly)
{
  int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

  for (unsigned waited = 0;; waited += 10) {
    int fd = open (path, flags);
    if (fd >= 0)
      return fd;
    if (errno != ENOENT || waited >= LOOP_NODE_WAIT_MS)
      return -errno;
    sleep_ms (10);
  }
}

int
loop_attach (int backing_fd, uint64_t offset, uint64_t size, bool readonly,
             bool direct_io, unsigned block_size, int *ret_fd,
             char **ret_path, char **ret_msg)
{
  _cleanup_close_ int ctl = -1;
  int last_err = 0;

  ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    int err = errno;
    return set_errmsg (ret_msg, -err,
                       "no loop device available: /dev/loop-control: %s",
                       strerror (err));
  }

  for (int attempt = 0; attempt < LOOP_ATTEMPTS; attempt++) {
    int n = ioctl (ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      int err = errno;
      return set_errmsg (ret_msg, -err,
                         "no loop device available: /dev/loop-control: %s",
                         strerror (err));
    }
    _cleanup_free_ char *path = xasprintf ("/dev/loop%d", n);
    _cleanup_close_ int fd = open_loop_node (path, readonly);
    if (fd < 0) {
      last_err = fd;
      log_debug (LOG_CAT_BLOCK, "%s: open: %s", path, strerror (-fd));
      if (fd == -EBUSY || fd == -ENXIO || fd == -ENOENT)
        continue;
      return set_errmsg (ret_msg, fd, "cannot use loop device %s: %s", path,
                         strerror (-fd));
    }

    struct loop_config cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.fd = (uint32_t) backing_fd;
    cfg.block_size = block_size;
    cfg.info.lo_offset = offset;
    cfg.info.lo_sizelimit = size;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (readonly)
      cfg.info.lo_flags |= LO_FLAGS_READ_ONLY;
    if (direct_io)
      cfg.info.lo_flags |= LO_FLAGS_DIRECT_IO;

    int r = ioctl (fd, LOOP_CONFIGURE, &cfg);
    if (r < 0 && errno == EINVAL && (cfg.info.lo_flags & LO_FLAGS_DIRECT_IO)) {
      log_debug (LOG_CAT_BLOCK, "%s: direct I/O refused, using buffered I/O",
                 path);
      cfg.info.lo_flags &= ~(uint32_t) LO_FLAGS_DIRECT_IO;
      r = ioctl (fd, LOOP_CONFIGURE, &cfg);
    }
    if (r < 0) {
      int err = errno;
      last_err = -err;
      log_debug (LOG_CAT_BLOCK, "%s: LOOP_CONFIGURE: %s", path,
                 strerror (err));
      if (err == EBUSY) {
        /* Someone else took it between GET_FREE and CONFIGURE. */
        sleep_ms (1 + (unsigned) attempt * 5);
        continue;
      }
      return set_errmsg (ret_msg, -err,
                         "cannot set up loop device %s: %s", path,
                         strerror (err));
    }

    struct loop_info64 info;
    if (ioctl (fd, LOOP_GET_STATUS64, &info) == 0)
      log_debug (LOG_CAT_BLOCK,
                 "%s: offset %" PRIu64 ", size %" PRIu64 ", %s, direct I/O "
                 "%s",
                 path, (uint64_t) info.lo_offset,
                 (uint64_t) info.lo_sizelimit,
                 (info.lo_flags & LO_FLAGS_READ_ONLY) ? "read-only"
                                                      : "read-write",
                 (info.lo_flags & LO_FLAGS_DIRECT_IO) ? "on" : "off");
    else
      log_debug (LOG_CAT_BLOCK, "%s: LOOP_GET_STATUS64: %m", path);

    *ret_fd = TAKE_FD (fd);
    *ret_path = TAKE_PTR (path);
    return 0;
  }

  return set_errmsg (ret_msg, last_err ? last_err : -EBUSY,
                     "no loop device available: %s",
                     strerror (last_err ? -last_err : EBUSY));
}
