/* nguestmount: loop devices.  Each filesystem is given to the kernel as a
 * loop device over a host file (raw image, with offset) or over a file of
 * the block export.  Loop devices are configured with LOOP_CONFIGURE and
 * LO_FLAGS_AUTOCLEAR, so they detach when their last user goes away, even
 * if the daemon is killed. */
#ifndef NGM_LOOP_H
#define NGM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* Attach backing_fd [offset, offset+size) to a free loop device.
 * readonly sets LO_FLAGS_READ_ONLY; direct_io asks for LO_FLAGS_DIRECT_IO
 * (silently falls back to buffered when the backing file refuses it).
 * block_size 0 leaves the default (512).  On success *ret_fd is an open fd
 * of the loop device (close it once the filesystem is mounted; autoclear
 * keeps the device until the mount goes) and *ret_path is "/dev/loopN".
 * ret_msg gets a user-facing reason (e.g. no free loop device). */
int loop_attach (int backing_fd, uint64_t offset, uint64_t size, bool readonly,
                 bool direct_io, unsigned block_size, int *ret_fd,
                 char **ret_path, char **ret_msg);

#endif /* NGM_LOOP_H */
