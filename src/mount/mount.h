/* nguestmount: private mounts of guest filesystems.
 *
 * Every guest filesystem is a detached mount (fsopen / fsconfig / fsmount),
 * held only by an fd, attached nowhere, invisible in every mountinfo, with
 * nosuid,nodev (and noexec in read-only mode is NOT set: the view never
 * executes anything itself).  The kernel releases it when the last fd
 * closes, also on kill -9.
 */
#ifndef NGM_MOUNT_H
#define NGM_MOUNT_H

#include <stdbool.h>

/* True if the running kernel can mount fstype itself (/proc/filesystems)
 * and it is a filesystem at all (not swap, not a RAID or crypto member). */
bool mount_fstype_supported (const char *fstype);

/* Mount block device source (e.g. "/dev/loop3") of type fstype.
 * options: extra filesystem options, comma-separated (may be NULL), passed
 * to fsconfig one by one ("subvol=@home", "norecovery"); per-mount
 * options (noatime, relatime, noexec, ...) become fsmount attributes, and
 * nosuid,nodev are always set.
 * readonly: try the ladder "ro", "ro,noload", "ro,norecovery" (each rung
 * only where the filesystem knows the option); otherwise mount read-write.
 * On success *ret_mntfd is the detached mount's fd (open it with openat(fd,
 * ".", ...)), *ret_used gets the options that worked (e.g. "ro,noload").
 * On failure ret_msg gets the kernel's own reason (the fs_context log
 * message read from the fsopen fd) where there is one. */
int mount_detached (const char *source, const char *fstype, const char *options,
                    bool readonly, int *ret_mntfd, char **ret_used,
                    char **ret_msg);

/* From a guest fstab options field, keep only what selects what to mount
 * (btrfs subvol=, subvolid=) and drop the rest (defaults, noatime, nofail,
 * x-systemd.*, errors=...): a guest cannot choose how we mount it.
 * Returns a new string, possibly "". Pure. */
char *mount_filter_guest_options (const char *fstype, const char *options);

#endif /* NGM_MOUNT_H */
