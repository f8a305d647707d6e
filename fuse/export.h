/* nguestmount: the block export.
 *
 * Bdevs that are not plain host files (qcow2 disks through NBD, partitions
 * of them, and later LUKS/LVM/md nodes) are shown to the kernel as regular
 * files of a private FUSE filesystem: a *detached* FUSE mount (fsopen
 * "fuse" + fsmount, held only by an fd, attached nowhere), served by
 * libfuse on its own threads.  A loop device is then attached to such a
 * file (LOOP_CONFIGURE, direct I/O) so the kernel can mount the guest
 * filesystem on it, and libblkid can probe the file like any other.
 *
 * Thread model: export_start starts a thread that runs the FUSE session
 * (multi-threaded loop, PR_SET_IO_FLUSHER set on it and inherited by its
 * workers).  export_add may be called from any thread at any time.
 */
#ifndef NGM_EXPORT_H
#define NGM_EXPORT_H

#include <stdbool.h>

#include "block/bdev.h"

struct export;

/* Create the detached FUSE mount and start serving it. readonly: files are
 * read-only (writes fail with EROFS). */
int export_start (bool readonly, struct export **ret, char **ret_msg);

/* Publish bdev b (the export takes a reference) as a new file and open it
 * (O_RDONLY or O_RDWR, O_CLOEXEC).  The caller owns *ret_fd. */
int export_add (struct export *e, struct bdev *b, int *ret_fd, char **ret_msg);

/* Stop serving, unmount, drop the references.  Call after every fd of the
 * export's files is closed and every loop device over them is gone (any
 * still-pending kernel request is answered with an error).  NULL is fine. */
void export_stop (struct export *e);

#endif /* NGM_EXPORT_H */
