/* nguestmount: filesystems mounted by a userspace (FUSE) driver.
 *
 * Where the kernel has no driver for a guest filesystem (NTFS here; FAT and
 * exFAT on kernels built without them), a maintained FUSE driver mounts it:
 * ntfs-3g, fusefat, mount.exfat-fuse.  Each driver runs in a child process
 * with its own mount namespace (unshare(CLONE_NEWNS), / made rprivate), on a
 * directory of a tmpfs that exists only there, so the mount is invisible to
 * the host and to every other process.  The daemon reaches the mounted tree
 * through /proc/<child>/root/... and keeps only an O_PATH directory fd of
 * its root, used like the fd of a detached kernel mount.
 *
 * The child is forked by the calling thread (the main thread, which lives
 * until teardown) with PR_SET_PDEATHSIG(SIGKILL): if the daemon dies, even
 * by kill -9, the driver dies too, its namespace and mount go away with it,
 * and the loop device it held is released (autoclear).
 *
 * Not thread-safe: call from the main thread only.
 */
#ifndef NGM_HELPER_H
#define NGM_HELPER_H

#include <stdbool.h>

/* True if fstype (a libblkid TYPE: "ntfs", "vfat", "exfat") is one that a
 * FUSE driver known to nguestmount can mount (whether or not the driver is
 * installed: helper_mount says what to install). */
bool helper_fstype_supported (const char *fstype);

/* Mount block device source (e.g. "/dev/loop3") of type fstype with its
 * FUSE driver in a private mount namespace, nosuid,nodev, and read-only
 * when readonly is true.  The mount is a plain "fuse" one, never
 * "fuseblk" (see helper.c: a fuseblk mount can hang its own driver in D
 * state when the driver is killed).  Waits (at most about 10 s) until the driver
 * serves the mount.  On success *ret_rootfd is an O_PATH | O_DIRECTORY fd
 * of the mounted root and *ret_used (optional) the options given to the
 * driver ("ro,nosuid,nodev").  On failure ret_msg gets the driver's own
 * message where it printed one.  The driver runs until helper_stop_all. */
int helper_mount (const char *source, const char *fstype, bool readonly,
                  int *ret_rootfd, char **ret_used, char **ret_msg);

/* Number of drivers started by helper_mount and still running. */
unsigned helper_count (void);

/* Stop every driver started by helper_mount: SIGTERM (the driver
 * unmounts), a bounded wait, then SIGKILL; each is reaped.  Close every fd
 * on their mounts first.  Idempotent. */
void helper_stop_all (void);

#endif /* NGM_HELPER_H */
