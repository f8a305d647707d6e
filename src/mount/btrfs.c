/* nguestmount: the subvolumes of a mounted btrfs (see btrfs.h).
 *
 * libbtrfsutil does the work (BTRFS_IOC_TREE_SEARCH and INO_LOOKUP); it
 * needs a real open directory, not the O_PATH fd of a detached mount, so
 * the mount root is reopened first.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <btrfsutil.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "mount/btrfs.h"

static int
util_errno (enum btrfs_util_error e)
{
  if (e == BTRFS_UTIL_ERROR_NO_MEMORY)
    return -ENOMEM;
  return errno > 0 ? -errno : -EIO;
}

void
mount_btrfs_subvols_free (struct mount_btrfs_subvol *v, size_t n)
{
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    free (v[i].path);
  free (v);
}

static void
iter_freep (struct btrfs_util_subvolume_iterator **it)
{
  if (*it)
    btrfs_util_destroy_subvolume_iterator (*it);
}

int
mount_btrfs_subvolumes (int mntfd, size_t max, uint64_t *ret_default,
                        struct mount_btrfs_subvol **ret, size_t *ret_n,
                        bool *ret_truncated)
{
  *ret = NULL;
  *ret_n = 0;
  *ret_truncated = false;

  _cleanup_close_ int fd
      = openat (mntfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return -errno;

  uint64_t def;
  errno = 0;
  enum btrfs_util_error e = btrfs_util_get_default_subvolume_fd (fd, &def);
  if (e != BTRFS_UTIL_OK) {
    log_debug (LOG_CAT_MOUNT, "btrfs default subvolume: %s",
               btrfs_util_strerror (e));
    return util_errno (e);
  }

  __attribute__ ((cleanup (iter_freep)))
  struct btrfs_util_subvolume_iterator *it = NULL;
  errno = 0;
  e = btrfs_util_create_subvolume_iterator_fd (fd, MOUNT_BTRFS_TOP_ID, 0, &it);
  if (e != BTRFS_UTIL_OK) {
    log_debug (LOG_CAT_MOUNT, "btrfs subvolume iterator: %s",
               btrfs_util_strerror (e));
    return util_errno (e);
  }

  struct mount_btrfs_subvol *v = NULL;
  size_t n = 0;
  for (;;) {
    char *path = NULL;
    uint64_t id;
    errno = 0;
    e = btrfs_util_subvolume_iterator_next (it, &path, &id);
    if (e == BTRFS_UTIL_ERROR_STOP_ITERATION)
      break;
    if (e != BTRFS_UTIL_OK) {
      int r = util_errno (e);
      log_debug (LOG_CAT_MOUNT, "btrfs subvolume list: %s",
                 btrfs_util_strerror (e));
      mount_btrfs_subvols_free (v, n);
      return r;
    }
    if (n >= max) {
      free (path);
      *ret_truncated = true;
      break;
    }
    v = xrealloc_array (v, n + 1, sizeof *v);
    v[n++] = (struct mount_btrfs_subvol) { .id = id, .path = path };
  }
  *ret_default = def;
  *ret = v;
  *ret_n = n;
  return 0;
}
