/* nguestmount: in-memory tree of virtual files (see vtree.h). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/vtree.h"

static struct vnode *
add_node (struct vnode *parent, const char *name, enum vnode_kind kind,
          const char *data, size_t len)
{
  struct vnode *n = xcalloc (1, sizeof *n);
  n->name = xstrdup (name);
  n->kind = kind;
  n->parent = parent;
  if (data) {
    n->data = xcalloc (len + 1, 1);
    memcpy (n->data, data, len);
    n->len = len;
  }
  if (parent) {
    /* Replace a child of the same name, keep the list sorted by name. */
    size_t i = 0;
    while (i < parent->n_children && strcmp (parent->children[i]->name, name) < 0)
      i++;
    if (i < parent->n_children && strcmp (parent->children[i]->name, name) == 0) {
      vtree_free (parent->children[i]);
      parent->children[i] = n;
      return n;
    }
    parent->children = xrealloc_array (parent->children, parent->n_children + 1,
                                       sizeof (struct vnode *));
    memmove (&parent->children[i + 1], &parent->children[i],
             (parent->n_children - i) * sizeof (struct vnode *));
    parent->children[i] = n;
    parent->n_children++;
  }
  return n;
}

struct vnode *
vtree_new_root (void)
{
  return add_node (NULL, "", VNODE_DIR, NULL, 0);
}

struct vnode *
vtree_add_dir (struct vnode *parent, const char *name)
{
  struct vnode *existing = vtree_child (parent, name);
  if (existing && existing->kind == VNODE_DIR)
    return existing;
  return add_node (parent, name, VNODE_DIR, NULL, 0);
}

struct vnode *
vtree_add_file (struct vnode *parent, const char *name, const char *data,
                size_t len)
{
  return add_node (parent, name, VNODE_FILE, data ? data : "", data ? len : 0);
}

struct vnode *
vtree_add_link (struct vnode *parent, const char *name, const char *target)
{
  return add_node (parent, name, VNODE_LINK, target, strlen (target));
}

struct vnode *
vtree_child (const struct vnode *dir, const char *name)
{
  if (!dir || dir->kind != VNODE_DIR)
    return NULL;
  size_t lo = 0, hi = dir->n_children;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp (dir->children[mid]->name, name);
    if (c == 0)
      return dir->children[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

struct vnode *
vtree_lookup (struct vnode *root, const char *path)
{
  struct vnode *n = root;
  char *copy = xstrdup (path), *save = NULL;
  for (char *c = strtok_r (copy, "/", &save); c && n;
       c = strtok_r (NULL, "/", &save))
    n = vtree_child (n, c);
  free (copy);
  return n;
}

void
vtree_free (struct vnode *root)
{
  if (!root)
    return;
  for (size_t i = 0; i < root->n_children; i++)
    vtree_free (root->children[i]);
  free (root->children);
  free (root->name);
  free (root->data);
  free (root);
}
