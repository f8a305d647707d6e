/* nguestmount: a small in-memory tree of virtual files, directories and
 * symlinks.  The /.inspect tree is rendered into one of these (pure data)
 * and the FUSE view serves it read-only. */
#ifndef NGM_VTREE_H
#define NGM_VTREE_H

#include <stddef.h>

enum vnode_kind { VNODE_DIR, VNODE_FILE, VNODE_LINK };

struct vnode {
  char *name;                 /* "" for the root */
  enum vnode_kind kind;
  char *data;                 /* file contents, or symlink target */
  size_t len;                 /* length of data */
  struct vnode *parent;
  struct vnode **children;    /* directories: sorted by name after vtree_sort */
  size_t n_children;
};

struct vnode *vtree_new_root (void);
/* Add nodes under a parent.  Names must not contain '/'.  data is copied. */
struct vnode *vtree_add_dir (struct vnode *parent, const char *name);
struct vnode *vtree_add_file (struct vnode *parent, const char *name,
                              const char *data, size_t len);
struct vnode *vtree_add_link (struct vnode *parent, const char *name,
                              const char *target);
/* Path lookup relative to root ("a/b/c"); NULL if absent. */
struct vnode *vtree_lookup (struct vnode *root, const char *path);
struct vnode *vtree_child (const struct vnode *dir, const char *name);
void vtree_free (struct vnode *root);

#endif /* NGM_VTREE_H */
