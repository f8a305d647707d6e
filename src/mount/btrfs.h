/* nguestmount: the subvolumes of a mounted btrfs (libbtrfsutil).
 *
 * libguestfs treats every btrfs subvolume but the default one as a
 * filesystem of its own ("btrfsvol:/dev/sda2/@home"); the daemon mounts a
 * btrfs once (its default subvolume) and reaches the others as directories
 * of a top-level (subvolid=5) mount.
 */
#ifndef NGM_MOUNT_BTRFS_H
#define NGM_MOUNT_BTRFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The top-level subvolume's id (BTRFS_FS_TREE_OBJECTID). */
#define MOUNT_BTRFS_TOP_ID 5

struct mount_btrfs_subvol {
  uint64_t id;
  char *path; /* relative to the top level, as the guest named it (raw) */
};

/* List the subvolumes of the btrfs that mntfd (any fd in it, O_PATH
 * allowed) belongs to, in pre-order (parents first), and its default
 * subvolume id.  The top level itself is not listed.  At most max entries
 * are returned; *ret_truncated says whether there were more.  Needs
 * CAP_SYS_ADMIN.  Returns 0 or -errno. */
int mount_btrfs_subvolumes (int mntfd, size_t max, uint64_t *ret_default,
                            struct mount_btrfs_subvol **ret, size_t *ret_n,
                            bool *ret_truncated);
void mount_btrfs_subvols_free (struct mount_btrfs_subvol *v, size_t n);

#endif /* NGM_MOUNT_BTRFS_H */
