/* nguestmount: the view, i.e. the FUSE filesystem at the user's mountpoint.
 *
 * A low-level passthrough (in the manner of libfuse's passthrough_hp) over
 * the detached guest mounts, composed into one tree, plus the virtual
 * /.inspect tree.  Read-only.
 */
#ifndef NGM_VIEW_H
#define NGM_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "common/vtree.h"

struct view_placement {
  const char *path;   /* "/" (the tree's root), "/boot", "/home", or in a
                         virtual root "/sda1" */
  int fd;             /* directory fd (O_PATH is fine) of what goes there */
};

struct view_config {
  /* If one placement has path "/", the root is that directory and every
   * other placement must name a directory that exists in the composed tree
   * (placements are applied in order, so "/usr" before "/usr/local").
   * Otherwise the root is a virtual directory and every placement must be
   * a single component ("/sda1"). */
  const struct view_placement *placements;
  size_t n_placements;
  struct vnode *inspect;   /* served at /.inspect; the view takes ownership */
  bool trace;              /* log every FUSE operation (-x) */
};

struct view;

/* Build the view: computes where the placements go.  ret_msg gets a
 * user-facing reason on failure (e.g. "/boot: mountpoint is not a
 * directory in the guest"). */
int view_new (const struct view_config *cfg, struct view **ret, char **ret_msg);

/* Create the FUSE session with the user's -o options (each a string such
 * as "allow_other"; may be NULL) and mount it on mountpoint in the
 * caller's mount namespace.  Installs SIGINT/SIGTERM/SIGHUP handlers that
 * end the loop. */
int view_mount (struct view *v, const char *mountpoint, char *const *fuse_opts,
                char **ret_msg);

/* Serve until unmounted or signalled (multi-threaded loop).  Returns 0 or
 * -errno. */
int view_loop (struct view *v);

/* Unmount (if still mounted) and free everything.  NULL is fine. */
void view_free (struct view *v);

#endif /* NGM_VIEW_H */
