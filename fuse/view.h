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

struct strv;

struct view_placement {
  const char *path;   /* "/" (the tree's root), "/boot", "/home", or in a
                         virtual root "/sda1" */
  int fd;             /* directory fd (O_PATH is fine) of what goes there;
                         view_new duplicates it, the caller keeps its own */
};

struct view_config {
  /* If one placement has path "/", the root is that directory and every
   * other placement must name a directory that exists in the composed tree
   * (placements are applied in order, so "/usr" before "/usr/local").
   * Otherwise the root is a virtual directory and every placement must be
   * a single component ("/sda1"). */
  const struct view_placement *placements;
  size_t n_placements;
  struct vnode *inspect;   /* served at /.inspect (may be NULL); view_new
                              takes ownership, also when it fails */
  bool trace;              /* log every FUSE operation (-x) */
  /* When not NULL, a placement that cannot be applied (its path does not
   * exist in the guest, is not a directory, is not a single component in
   * a virtual root, ...) is skipped and one message per placement is
   * pushed here ("/boot: mountpoint does not exist in the guest") instead
   * of failing view_new.  A bad "/" placement always fails. */
  struct strv *warnings;
};

struct view;

/* Build the view: computes where the placements go.  ret_msg gets a
 * user-facing reason on failure (e.g. "/boot: mountpoint is not a
 * directory in the guest"). */
int view_new (const struct view_config *cfg, struct view **ret, char **ret_msg);

/* Replace the tree served at /.inspect (NULL: none); the view takes
 * ownership and frees the previous one.  Only before view_mount: the
 * caller may render /.inspect after view_new has reported its placement
 * warnings.  The name /.inspect is reserved either way. */
void view_set_inspect (struct view *v, struct vnode *inspect);

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
