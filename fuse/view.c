/* nguestmount: the view (see view.h).
 *
 * Thread model:
 *   - view_loop runs libfuse's multi-threaded loop (up to VIEW_MAX_THREADS
 *     workers); every op below may run concurrently with any other.
 *   - Guest inodes live in one table (a tsearch tree keyed by (st_dev,
 *     st_ino)) guarded by v->lock, which also guards the device-index
 *     table used to make inode numbers unique.  A guest inode is created by
 *     lookup (or readdirplus) with lookup count 1, each further lookup adds
 *     one, forget subtracts; at zero it leaves the table and its O_PATH fd
 *     is closed.  The kernel never uses a nodeid after its final forget, so
 *     an op may use its inode without the lock: an inode's fd, key and type
 *     never change while it exists.
 *   - The root and the virtual inodes (/.inspect and below, the virtual
 *     root) are created by view_new, are read-only afterwards, and are
 *     never counted or freed before view_free.
 *   - Directories have no handles: OPENDIR is answered ENOSYS when the
 *     kernel supports that (it then opens and releases directories itself,
 *     with readdir caching on, so a warm walk sends no request at all).
 *     A guest directory inode carries one listing stream under its own
 *     mutex (several threads may read one directory), opened by the first
 *     READDIR and closed by the one that reaches the end: the kernel caches
 *     what it got and does not come back for it.
 *   - Placements and covers are computed by view_new and read-only after.
 *
 * Composition: a placement other than "/" covers the guest directory its
 * path names (found by walking the composed tree at view_new time, never
 * following symlinks).  Covered directories are remembered by (st_dev,
 * st_ino); a lookup that yields one continues at the placement's root.
 *
 * Inode numbers shown to users: (device index << 48) | st_ino, where the
 * device index counts the distinct st_dev values in the order they are
 * first seen (so the first filesystem, normally the guest root, keeps its
 * own inode numbers).  Virtual nodes use index 0xffff.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmount.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fuse-api.h"

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "view.h"

#define VIEW_TIMEOUT 86400.0          /* the guest cannot change under us */
#define VIEW_MAX_THREADS 16
#define VIEW_MAX_BACKGROUND 64
#define VIEW_READAHEAD_KB "1024"
#define VIEW_SPLICE_WANT (1024 * 1024)  /* READ size: the read-ahead */
#define VIEW_INSPECT_NAME ".inspect"
/* Offset of the virtual ".inspect" entry in the root directory: it comes
 * first, and reading on from this offset restarts the guest's own stream.
 * Guest cookies are arbitrary 63-bit values (ext4 hashes); this one is
 * below every "end of directory" value the Linux filesystems use. */
#define VIEW_INSPECT_OFF ((off_t) 0x7ffffffffffff0a5LL)

#define INO_BITS 48
#define INO_MASK ((UINT64_C (1) << INO_BITS) - 1)
#define DEV_VIRTUAL 0xffffu

enum vino_kind { VINO_GUEST, VINO_VTREE, VINO_VROOT };

struct vino {
  enum vino_kind kind;
  bool pinned;            /* root / virtual: not counted, never freed */
  /* guest */
  int fd;                 /* O_PATH | O_NOFOLLOW */
  dev_t dev;
  ino_t ino;
  mode_t type;            /* S_IFMT bits */
  uint64_t nlookup;       /* guarded by view->lock */
  /* guest directory: its listing stream (see do_readdir), opened at the
   * first READDIR, closed when a READDIR reaches the end (or at forget) */
  pthread_mutex_t dir_lock;
  DIR *dp;
  off_t dir_pos;          /* guest cookie dp is positioned at */
  off_t dir_end;          /* cookie after the last entry, if dir_end_known */
  bool dir_end_known;
  /* virtual */
  struct vnode *vnode;
  uint64_t vino;          /* st_ino shown for a virtual node */
};

struct placement {
  char *path;             /* as given (for messages) */
  char *name;             /* virtual root: the entry name */
  int fd;                 /* our own dup, O_PATH */
  struct stat st;
};

struct cover {
  dev_t dev;
  ino_t ino;
  size_t placement;
};

struct view {
  struct fuse_session *se;
  bool trace;
  bool signals;
  bool no_opendir;        /* the kernel handles OPENDIR/RELEASEDIR itself */
  struct timespec start;

  struct vino root;       /* FUSE_ROOT_ID */

  pthread_mutex_t lock;   /* table, n_inodes, devs */
  void *table;
  size_t n_inodes;
  dev_t *devs;
  size_t n_devs;

  struct placement *pl;
  size_t n_pl;
  struct cover *covers;
  size_t n_covers;
  size_t *vroot_entries;  /* virtual root: placement index per entry */
  size_t n_vroot_entries;

  struct vnode *inspect;
  struct vino *vt;        /* one per vnode, sorted by vnode pointer */
  size_t n_vt;
};

#define TRACE(v, ...)                                     \
  do {                                                    \
    if ((v)->trace)                                       \
      log_debug_cat (LOG_CAT_FUSE, __VA_ARGS__);          \
  } while (0)

/* ------------------------------------------------------------------ */
/* Inodes. */

static int
vino_cmp (const void *a, const void *b)
{
  const struct vino *x = a, *y = b;

  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return 0;
}

static struct view *
req_view (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

static struct vino *
view_inode (struct view *v, fuse_ino_t nodeid)
{
  if (nodeid == FUSE_ROOT_ID)
    return &v->root;
  return (struct vino *) (uintptr_t) nodeid;
}

static fuse_ino_t
view_nodeid (struct view *v, struct vino *vi)
{
  if (vi == &v->root)
    return FUSE_ROOT_ID;
  return (fuse_ino_t) (uintptr_t) vi;
}

/* Unique st_ino for a guest (dev, ino).  Takes v->lock. */
static uint64_t
view_map_ino (struct view *v, dev_t dev, ino_t ino)
{
  uint64_t idx, i64 = ino;
  size_t i;

  pthread_mutex_lock (&v->lock);
  for (i = 0; i < v->n_devs; i++)
    if (v->devs[i] == dev)
      break;
  if (i == v->n_devs && v->n_devs < DEV_VIRTUAL - 1) {
    v->devs = xrealloc_array (v->devs, v->n_devs + 1, sizeof *v->devs);
    v->devs[v->n_devs++] = dev;
  }
  idx = i < DEV_VIRTUAL - 1 ? i : DEV_VIRTUAL - 1;
  pthread_mutex_unlock (&v->lock);
  if (i64 > INO_MASK)
    i64 ^= i64 >> INO_BITS;
  return (idx << INO_BITS) | (i64 & INO_MASK);
}

/* Find or create the guest inode for (st->st_dev, st->st_ino); takes over
 * fd (closes it if the inode exists already) and counts one lookup. */
static struct vino *
view_inode_get (struct view *v, int fd, const struct stat *st)
{
  struct vino key = { .dev = st->st_dev, .ino = st->st_ino };
  struct vino *vi, **found;

  pthread_mutex_lock (&v->lock);
  found = tfind (&key, &v->table, vino_cmp);
  if (found) {
    vi = *found;
    if (!vi->pinned)
      vi->nlookup++;
    pthread_mutex_unlock (&v->lock);
    close (fd);
    return vi;
  }
  vi = xcalloc (1, sizeof *vi);
  vi->kind = VINO_GUEST;
  vi->fd = fd;
  vi->dev = st->st_dev;
  vi->ino = st->st_ino;
  vi->type = st->st_mode & S_IFMT;
  vi->nlookup = 1;
  pthread_mutex_init (&vi->dir_lock, NULL);
  if (!tsearch (vi, &v->table, vino_cmp))
    abort ();           /* out of memory */
  v->n_inodes++;
  pthread_mutex_unlock (&v->lock);
  return vi;
}

/* Release what a guest inode holds (not the struct of a pinned one). */
static void
vino_release (struct vino *vi)
{
  if (vi->dp) {
    closedir (vi->dp);
    vi->dp = NULL;
  }
  if (vi->fd >= 0) {
    close (vi->fd);
    vi->fd = -1;
  }
  pthread_mutex_destroy (&vi->dir_lock);
}

static void
vino_free_guest (struct vino *vi)
{
  vino_release (vi);
  free (vi);
}

static void
view_forget_one (struct view *v, fuse_ino_t nodeid, uint64_t n)
{
  struct vino *vi = view_inode (v, nodeid);

  if (vi->pinned || vi->kind != VINO_GUEST)
    return;
  pthread_mutex_lock (&v->lock);
  vi->nlookup -= n < vi->nlookup ? n : vi->nlookup;
  if (vi->nlookup == 0) {
    tdelete (vi, &v->table, vino_cmp);
    v->n_inodes--;
  }
  else
    vi = NULL;
  pthread_mutex_unlock (&v->lock);
  if (vi)
    vino_free_guest (vi);
}

static int
vt_cmp (const void *a, const void *b)
{
  const struct vino *x = a, *y = b;
  uintptr_t p = (uintptr_t) x->vnode, q = (uintptr_t) y->vnode;

  return p < q ? -1 : p > q;
}

static struct vino *
view_vt_inode (struct view *v, struct vnode *n)
{
  struct vino key = { .vnode = n };

  return bsearch (&key, v->vt, v->n_vt, sizeof *v->vt, vt_cmp);
}

/* ------------------------------------------------------------------ */
/* Attributes. */

static void
virtual_stat (struct view *v, const struct vino *vi, struct stat *st)
{
  memset (st, 0, sizeof *st);
  st->st_ino = vi->vino;
  st->st_uid = 0;
  st->st_gid = 0;
  st->st_blksize = 4096;
  st->st_atim = st->st_mtim = st->st_ctim = v->start;
  if (vi->kind == VINO_VROOT) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2 + v->n_vroot_entries;
    return;
  }
  switch (vi->vnode->kind) {
  case VNODE_DIR:
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    for (size_t i = 0; i < vi->vnode->n_children; i++)
      if (vi->vnode->children[i]->kind == VNODE_DIR)
        st->st_nlink++;
    break;
  case VNODE_FILE:
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = vi->vnode->len;
    break;
  case VNODE_LINK:
    st->st_mode = S_IFLNK | 0777;
    st->st_nlink = 1;
    st->st_size = vi->vnode->len;
    break;
  }
  st->st_blocks = (st->st_size + 511) / 512;
}

static int
view_stat (struct view *v, struct vino *vi, struct stat *st)
{
  if (vi->kind != VINO_GUEST) {
    virtual_stat (v, vi, st);
    return 0;
  }
  if (fstatat (vi->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  st->st_ino = view_map_ino (v, st->st_dev, st->st_ino);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Lookup. */

static const struct cover *
find_cover (const struct view *v, dev_t dev, ino_t ino)
{
  for (size_t i = 0; i < v->n_covers; i++)
    if (v->covers[i].dev == dev && v->covers[i].ino == ino)
      return &v->covers[i];
  return NULL;
}

/* If (*fd, *st) is a covered directory, replace it by the root of what is
 * placed there (repeatedly: a placement may itself be covered). */
static int
apply_covers (const struct view *v, int *fd, struct stat *st)
{
  for (size_t n = 0; n <= v->n_covers && S_ISDIR (st->st_mode); n++) {
    const struct cover *c = find_cover (v, st->st_dev, st->st_ino);
    const struct placement *p;
    int nfd;

    if (!c)
      return 0;
    p = &v->pl[c->placement];
    nfd = fcntl (p->fd, F_DUPFD_CLOEXEC, 3);
    if (nfd < 0)
      return -errno;
    close (*fd);
    *fd = nfd;
    *st = p->st;
  }
  return 0;
}

static bool
is_dot_or_dotdot (const char *name)
{
  return name[0] == '.'
    && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void
entry_init (struct fuse_entry_param *e)
{
  memset (e, 0, sizeof *e);
  e->attr_timeout = VIEW_TIMEOUT;
  e->entry_timeout = VIEW_TIMEOUT;
}

static void
virtual_entry (struct view *v, struct vino *vi, struct fuse_entry_param *e)
{
  e->ino = view_nodeid (v, vi);
  virtual_stat (v, vi, &e->attr);
}

/* A guest entry for a directory fd that we own (placement roots). */
static int
guest_entry_from (struct view *v, int fd, const struct stat *pst,
                  struct fuse_entry_param *e)
{
  struct stat st = *pst;
  struct vino *vi;
  int r;

  r = apply_covers (v, &fd, &st);
  if (r < 0) {
    close (fd);
    return r;
  }
  vi = view_inode_get (v, fd, &st);
  e->ino = view_nodeid (v, vi);
  e->attr = st;
  e->attr.st_ino = view_map_ino (v, st.st_dev, st.st_ino);
  return 0;
}

/* Look name up in parent.  On success, counts one lookup of the result
 * (guest inodes) and fills e.  Returns 0 or -errno. */
static int
view_do_lookup (struct view *v, struct vino *parent, const char *name,
                struct fuse_entry_param *e)
{
  struct stat st;
  int fd;

  entry_init (e);
  if (is_dot_or_dotdot (name) || strchr (name, '/'))
    return -ENOENT;

  switch (parent->kind) {
  case VINO_VROOT:
    if (v->inspect && strcmp (name, VIEW_INSPECT_NAME) == 0) {
      virtual_entry (v, view_vt_inode (v, v->inspect), e);
      return 0;
    }
    for (size_t i = 0; i < v->n_vroot_entries; i++) {
      const struct placement *p = &v->pl[v->vroot_entries[i]];
      if (strcmp (p->name, name) == 0) {
        fd = fcntl (p->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
          return -errno;
        return guest_entry_from (v, fd, &p->st, e);
      }
    }
    return -ENOENT;

  case VINO_VTREE: {
    struct vnode *n;
    if (parent->vnode->kind != VNODE_DIR)
      return -ENOTDIR;
    n = vtree_child (parent->vnode, name);
    if (!n)
      return -ENOENT;
    virtual_entry (v, view_vt_inode (v, n), e);
    return 0;
  }

  case VINO_GUEST:
    break;
  }

  if (parent == &v->root && v->inspect
      && strcmp (name, VIEW_INSPECT_NAME) == 0) {
    virtual_entry (v, view_vt_inode (v, v->inspect), e);
    return 0;
  }
  fd = openat (parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    int r = -errno;
    close (fd);
    return r;
  }
  return guest_entry_from (v, fd, &st, e);
}

/* ------------------------------------------------------------------ */
/* FUSE operations. */

/* The largest READ whose reply libfuse 3.14 can splice: it needs a pipe
 * of the data plus three pages plus the reply header, and growing a pipe
 * past /proc/sys/fs/pipe-max-size (1 MiB by default) takes
 * CAP_SYS_RESOURCE, which even root may lack.  Measured (2-core VM, cold
 * 512 MiB file, qcow2): when 1 MiB READs fell back to copying, the
 * fallback's per-request 1 MiB allocation, page faults and copy made the
 * view the largest CPU user of the read path.  Returns a multiple of the
 * page size, or 0 for no limit. */
static unsigned
view_splice_max_read (void)
{
  long page = sysconf (_SC_PAGESIZE);
  size_t want = VIEW_SPLICE_WANT;
  int p[2];
  int r;

  if (page <= 0)
    page = 4096;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return 0;
  r = fcntl (p[0], F_SETPIPE_SZ, (int) (want + 3 * (size_t) page + 4096));
  if (r < 0)
    r = fcntl (p[0], F_GETPIPE_SZ);
  close (p[0]);
  close (p[1]);
  if (r < 0)
    return 0;
  /* Room for the data: the pipe less three pages and the header, whole
   * pages only. */
  if ((size_t) r <= 4 * (size_t) page)
    return 0;
  size_t room = ((size_t) r - 3 * (size_t) page - 4096) / (size_t) page
                * (size_t) page;
  if (room >= want)
    return 0;
  return (unsigned) room;
}

static void
view_op_init (void *userdata, struct fuse_conn_info *conn)
{
  struct view *v = userdata;

  if (conn->capable & FUSE_CAP_READDIRPLUS)
    conn->want |= FUSE_CAP_READDIRPLUS;
  /* Always readdirplus, not "auto": auto sends plain READDIR for every
   * chunk after the first, then one LOOKUP per entry of it as soon as the
   * walker stats them (find, ls -l, cp, tar all do). */
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
    conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
    conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  /* Only a capability: the first OPENDIR answered ENOSYS turns it on. */
  v->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
  /* Reads are answered by fd (fuse_reply_data): let libfuse splice the
   * file's pages into /dev/fuse.  Measured on a 2-core VM, 512 MiB file
   * cached underneath, 5 runs each: 0.3-0.5 GB/s without splice, 0.7-1.5
   * GB/s with.  Nothing is ever written, so no splice read. */
  if (conn->capable & FUSE_CAP_SPLICE_WRITE)
    conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE)
    conn->want |= FUSE_CAP_SPLICE_MOVE;
  conn->want &= ~FUSE_CAP_SPLICE_READ;
  if (conn->want & FUSE_CAP_SPLICE_WRITE) {
    /* libfuse splices a reply only when its pipe holds the whole of it,
     * else it reads into a fresh buffer and copies.  Keep READs (max_pages,
     * derived from max_write; nothing is written here) small enough. */
    unsigned max = view_splice_max_read ();
    if (max > 0 && (conn->max_write == 0 || conn->max_write > max))
      conn->max_write = max;
  }
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  /* No FUSE_CAP_EXPORT_SUPPORT: it would need lookups of "." and "..",
   * which this view does not implement (NFS export of the view is not a
   * goal). */
  conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
  conn->max_background = VIEW_MAX_BACKGROUND;
  conn->congestion_threshold = VIEW_MAX_BACKGROUND * 3 / 4;
  conn->time_gran = 1;
  /* The kernel sets the bdi read-ahead to min(its current value, this):
   * view_mount raised the former before we serve, so allow 1 MiB here
   * (the kernel's offer, 128 KiB, is what libfuse put in by default). */
  conn->max_readahead = atoi (VIEW_READAHEAD_KB) * 1024;
  TRACE (v, "init: want 0x%x", conn->want);
}

static void
view_op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct view *v = req_view (req);
  struct fuse_entry_param e;
  int r;

  r = view_do_lookup (v, view_inode (v, parent), name, &e);
  TRACE (v, "lookup %" PRIu64 " \"%s\" = %d", (uint64_t) parent, name, r);
  if (r == -ENOENT) {
    entry_init (&e);            /* negative entry, cached */
    fuse_reply_entry (req, &e);
  }
  else if (r < 0)
    fuse_reply_err (req, -r);
  else
    fuse_reply_entry (req, &e);
}

static void
view_op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  struct view *v = req_view (req);

  TRACE (v, "forget %" PRIu64 " %" PRIu64, (uint64_t) ino, nlookup);
  view_forget_one (v, ino, nlookup);
  fuse_reply_none (req);
}

static void
view_op_forget_multi (fuse_req_t req, size_t count,
                      struct fuse_forget_data *forgets)
{
  struct view *v = req_view (req);

  TRACE (v, "forget_multi %zu", count);
  for (size_t i = 0; i < count; i++)
    view_forget_one (v, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none (req);
}

static void
view_op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct view *v = req_view (req);
  struct stat st;
  int r;

  (void) fi;
  r = view_stat (v, view_inode (v, ino), &st);
  TRACE (v, "getattr %" PRIu64 " = %d", (uint64_t) ino, r);
  if (r < 0)
    fuse_reply_err (req, -r);
  else
    fuse_reply_attr (req, &st, VIEW_TIMEOUT);
}

static void
view_op_readlink (fuse_req_t req, fuse_ino_t ino)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);
  char buf[PATH_MAX + 1];
  ssize_t n;

  TRACE (v, "readlink %" PRIu64, (uint64_t) ino);
  if (vi->kind == VINO_VTREE) {
    if (vi->vnode->kind != VNODE_LINK)
      fuse_reply_err (req, EINVAL);
    else
      fuse_reply_readlink (req, vi->vnode->data ? vi->vnode->data : "");
    return;
  }
  if (vi->kind != VINO_GUEST || vi->type != S_IFLNK) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  n = readlinkat (vi->fd, "", buf, sizeof buf - 1);
  if (n < 0) {
    fuse_reply_err (req, errno);
    return;
  }
  buf[n] = '\0';
  fuse_reply_readlink (req, buf);
}

static void
view_op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);

  TRACE (v, "opendir %" PRIu64, (uint64_t) ino);
  /* Listings need no per-open state (see do_readdir).  Measured on the
   * bench tree (792 directories): OPENDIR + RELEASEDIR were the only
   * requests of a warm walk, and answering ENOSYS once removes them for
   * the rest of the connection; the kernel then caches listings as if
   * keep_cache and cache_readdir had been set. */
  if (v->no_opendir) {
    fuse_reply_err (req, ENOSYS);
    return;
  }
  if ((vi->kind == VINO_VTREE && vi->vnode->kind != VNODE_DIR)
      || (vi->kind == VINO_GUEST && vi->type != S_IFDIR)) {
    fuse_reply_err (req, ENOTDIR);
    return;
  }
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  fi->fh = 0;
  fuse_reply_open (req, fi);
}

/* Add one entry to buf.  For plus, looks the name up (counting); an entry
 * whose lookup fails is still listed, without attributes.  Returns the
 * size used, or 0 when it does not fit (nothing counted then). */
static size_t
add_entry (fuse_req_t req, struct view *v, struct vino *dir, bool plus,
           char *buf, size_t rem, const char *name, uint64_t shown_ino,
           mode_t type, off_t next)
{
  size_t n;

  if (plus) {
    struct fuse_entry_param e;

    /* fails for "." and ".." */
    if (view_do_lookup (v, dir, name, &e) < 0) {
      entry_init (&e);
      e.attr.st_ino = shown_ino;
      e.attr.st_mode = type;
    }
    n = fuse_add_direntry_plus (req, buf, rem, name, &e, next);
    if (n > rem) {
      if (e.ino)
        view_forget_one (v, e.ino, 1);
      return 0;
    }
  }
  else {
    struct stat st;

    memset (&st, 0, sizeof st);
    st.st_ino = shown_ino;
    st.st_mode = type;
    n = fuse_add_direntry (req, buf, rem, name, &st, next);
    if (n > rem)
      return 0;
  }
  return n;
}

static uint64_t
root_shown_ino (struct view *v)
{
  if (v->root.kind == VINO_VROOT)
    return v->root.vino;
  return view_map_ino (v, v->root.dev, v->root.ino);
}

/* Virtual directories: entry i has offset i + 1; "." and ".." first. */
static const char *
virtual_dir_entry (struct view *v, struct vino *dir, size_t i,
                   uint64_t *ret_ino, mode_t *ret_type)
{
  *ret_type = S_IFDIR;
  if (i == 0) {
    *ret_ino = dir->vino;
    return ".";
  }
  if (i == 1) {
    if (dir->kind == VINO_VTREE && dir->vnode->parent)
      *ret_ino = view_vt_inode (v, dir->vnode->parent)->vino;
    else
      *ret_ino = root_shown_ino (v);
    return "..";
  }
  i -= 2;
  if (dir->kind == VINO_VROOT) {
    if (v->inspect) {
      if (i == 0) {
        *ret_ino = view_vt_inode (v, v->inspect)->vino;
        *ret_type = S_IFDIR;
        return VIEW_INSPECT_NAME;
      }
      i--;
    }
    if (i >= v->n_vroot_entries)
      return NULL;
    {
      const struct placement *p = &v->pl[v->vroot_entries[i]];
      *ret_ino = view_map_ino (v, p->st.st_dev, p->st.st_ino);
      *ret_type = S_IFDIR;
      return p->name;
    }
  }
  if (i >= dir->vnode->n_children)
    return NULL;
  {
    struct vnode *c = dir->vnode->children[i];
    *ret_ino = view_vt_inode (v, c)->vino;
    *ret_type = c->kind == VNODE_DIR ? S_IFDIR
                : c->kind == VNODE_LINK ? S_IFLNK : S_IFREG;
    return c->name;
  }
}

static void
do_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            struct fuse_file_info *fi, bool plus)
{
  struct view *v = req_view (req);
  struct vino *dir = view_inode (v, ino);
  _cleanup_free_ char *buf = NULL;
  size_t used = 0, n;
  bool is_root = dir == &v->root && v->inspect;
  off_t gpos;
  int err = 0;

  (void) fi;

  TRACE (v, "readdir%s %" PRIu64 " off %jd size %zu", plus ? "plus" : "",
         (uint64_t) ino, (intmax_t) off, size);
  if (size > 1024 * 1024)
    size = 1024 * 1024;
  buf = malloc (size);
  if (!buf) {
    fuse_reply_err (req, ENOMEM);
    return;
  }

  if (dir->kind != VINO_GUEST) {
    const char *name;
    uint64_t sino;
    mode_t type;

    for (size_t i = off < 0 ? 0 : (size_t) off;
         (name = virtual_dir_entry (v, dir, i, &sino, &type)) != NULL; i++) {
      n = add_entry (req, v, dir, plus, buf + used, size - used, name, sino,
                     type, (off_t) i + 1);
      if (n == 0)
        break;
      used += n;
    }
    fuse_reply_buf (req, buf, used);
    return;
  }
  if (dir->type != S_IFDIR) {
    fuse_reply_err (req, ENOTDIR);
    return;
  }

  pthread_mutex_lock (&dir->dir_lock);
  gpos = off;
  if (is_root) {
    if (off == 0) {
      uint64_t sino = view_vt_inode (v, v->inspect)->vino;
      n = add_entry (req, v, dir, plus, buf + used, size - used,
                     VIEW_INSPECT_NAME, sino, S_IFDIR, VIEW_INSPECT_OFF);
      used += n;
      if (n == 0)
        goto out;
    }
    else if (off == VIEW_INSPECT_OFF)
      gpos = 0;
  }
  /* The end, known from an earlier call: nothing to read. */
  if (dir->dir_end_known && gpos == dir->dir_end)
    goto out;
  if (!dir->dp) {
    int fd = openat (dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
      err = errno;
      goto out;
    }
    dir->dp = fdopendir (fd);
    if (!dir->dp) {
      err = errno;
      close (fd);
      goto out;
    }
    dir->dir_pos = 0;
  }
  if (gpos != dir->dir_pos) {
    if (gpos == 0)
      rewinddir (dir->dp);
    else
      seekdir (dir->dp, gpos);
    dir->dir_pos = gpos;
  }
  for (;;) {
    struct dirent *de;
    off_t prev = dir->dir_pos;

    errno = 0;
    de = readdir (dir->dp);
    if (!de) {
      err = errno;
      if (err == 0) {
        /* The kernel will ask once more, from here, and cache the
         * listing when that comes back empty: answer that without the
         * stream, which is not needed any more. */
        dir->dir_end = dir->dir_pos;
        dir->dir_end_known = true;
        closedir (dir->dp);
        dir->dp = NULL;
      }
      break;
    }
    dir->dir_pos = de->d_off;
    /* "." and ".." are listed (readdirplus gives them no attributes, as
     * the kernel expects, and counts no lookup for them). */
    if (is_root && strcmp (de->d_name, VIEW_INSPECT_NAME) == 0)
      continue;
    n = add_entry (req, v, dir, plus, buf + used, size - used, de->d_name,
                   view_map_ino (v, dir->dev, de->d_ino),
                   (mode_t) DTTOIF (de->d_type), de->d_off);
    if (n == 0) {
      /* Not delivered: make the next call start at this entry again. */
      seekdir (dir->dp, prev);
      dir->dir_pos = prev;
      break;
    }
    used += n;
  }
 out:
  pthread_mutex_unlock (&dir->dir_lock);
  /* An error after some entries: return those (their lookups are
   * counted); the next call will meet the error again. */
  if (err && used == 0)
    fuse_reply_err (req, err);
  else
    fuse_reply_buf (req, buf, used);
}

static void
view_op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, off, fi, false);
}

static void
view_op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, off, fi, true);
}

static void
view_op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct view *v = req_view (req);

  (void) fi;
  TRACE (v, "releasedir %" PRIu64, (uint64_t) ino);
  fuse_reply_err (req, 0);
}

static void
view_op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);
  char path[64];
  int fd;

  TRACE (v, "open %" PRIu64 " flags 0%o", (uint64_t) ino, fi->flags);
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
    fuse_reply_err (req, EROFS);
    return;
  }
  fi->keep_cache = 1;
  fi->noflush = 1;
  if (vi->kind != VINO_GUEST) {
    if (vi->kind == VINO_VROOT || vi->vnode->kind == VNODE_DIR) {
      fuse_reply_err (req, EISDIR);
      return;
    }
    fi->fh = UINT64_MAX;
    fuse_reply_open (req, fi);
    return;
  }
  if (vi->type != S_IFREG) {
    /* The kernel opens special files itself; never block on a guest
     * FIFO in a worker. */
    fuse_reply_err (req, vi->type == S_IFDIR ? EISDIR : EACCES);
    return;
  }
  /* An O_PATH fd cannot be read: reopen the very same inode through its
   * /proc/self/fd link (no path walk in the guest tree happens). */
  snprintf (path, sizeof path, "/proc/self/fd/%d", vi->fd);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY
             | (fi->flags & O_DIRECT));
  if (fd < 0) {
    fuse_reply_err (req, errno);
    return;
  }
  fi->fh = (uint64_t) fd;
  if (fuse_reply_open (req, fi) == -ENOENT)
    close (fd);         /* interrupted: no release will come */
}

static void
view_op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);

  TRACE (v, "read %" PRIu64 " %zu@%jd", (uint64_t) ino, size, (intmax_t) off);
  if (off < 0) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  if (vi->kind == VINO_VTREE) {
    const struct vnode *n = vi->vnode;
    if ((uint64_t) off >= n->len) {
      fuse_reply_buf (req, NULL, 0);
      return;
    }
    if (size > n->len - (size_t) off)
      size = n->len - (size_t) off;
    fuse_reply_buf (req, n->data + off, size);
    return;
  }
  {
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT (size);

    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = (int) fi->fh;
    bv.buf[0].pos = off;
    fuse_reply_data (req, &bv, FUSE_BUF_SPLICE_MOVE);
  }
}

static void
view_op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct view *v = req_view (req);

  TRACE (v, "release %" PRIu64, (uint64_t) ino);
  if (view_inode (v, ino)->kind == VINO_GUEST && fi->fh <= INT_MAX)
    close ((int) fi->fh);
  fuse_reply_err (req, 0);
}

static void
view_op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync,
               struct fuse_file_info *fi)
{
  (void) ino; (void) datasync; (void) fi;
  fuse_reply_err (req, 0);      /* nothing is ever dirty */
}

static void
view_op_statfs (fuse_req_t req, fuse_ino_t ino)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);
  struct statvfs sv;

  TRACE (v, "statfs %" PRIu64, (uint64_t) ino);
  if (vi->kind == VINO_GUEST) {
    if (fstatvfs (vi->fd, &sv) < 0) {
      fuse_reply_err (req, errno);
      return;
    }
  }
  else {
    memset (&sv, 0, sizeof sv);
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_namemax = 255;
  }
  sv.f_flag |= ST_RDONLY;
  fuse_reply_statfs (req, &sv);
}

static void
view_op_getxattr (fuse_req_t req, fuse_ino_t ino, const char *name,
                  size_t size)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);
  _cleanup_free_ char *buf = NULL;
  char path[64];
  ssize_t n;

  TRACE (v, "getxattr %" PRIu64 " \"%s\" %zu", (uint64_t) ino, name, size);
  if (vi->kind != VINO_GUEST) {
    fuse_reply_err (req, ENODATA);
    return;
  }
  if (vi->type == S_IFLNK) {
    /* No race-free way to reach a symlink's own xattrs from an O_PATH fd
     * (getxattr would act on the link's target). */
    fuse_reply_err (req, ENOTSUP);
    return;
  }
  snprintf (path, sizeof path, "/proc/self/fd/%d", vi->fd);
  if (size == 0) {
    n = getxattr (path, name, NULL, 0);
    if (n < 0)
      fuse_reply_err (req, errno);
    else
      fuse_reply_xattr (req, (size_t) n);
    return;
  }
  if (size > XATTR_SIZE_MAX)
    size = XATTR_SIZE_MAX;
  buf = malloc (size);
  if (!buf) {
    fuse_reply_err (req, ENOMEM);
    return;
  }
  n = getxattr (path, name, buf, size);
  if (n < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_buf (req, buf, (size_t) n);
}

static void
view_op_listxattr (fuse_req_t req, fuse_ino_t ino, size_t size)
{
  struct view *v = req_view (req);
  struct vino *vi = view_inode (v, ino);
  _cleanup_free_ char *buf = NULL;
  char path[64];
  ssize_t n;

  TRACE (v, "listxattr %" PRIu64 " %zu", (uint64_t) ino, size);
  if (vi->kind != VINO_GUEST || vi->type == S_IFLNK) {
    /* Virtual nodes have none; symlinks: see getxattr. */
    if (size == 0)
      fuse_reply_xattr (req, 0);
    else
      fuse_reply_buf (req, NULL, 0);
    return;
  }
  snprintf (path, sizeof path, "/proc/self/fd/%d", vi->fd);
  if (size == 0) {
    n = listxattr (path, NULL, 0);
    if (n < 0)
      fuse_reply_err (req, errno);
    else
      fuse_reply_xattr (req, (size_t) n);
    return;
  }
  if (size > XATTR_LIST_MAX)
    size = XATTR_LIST_MAX;
  buf = malloc (size);
  if (!buf) {
    fuse_reply_err (req, ENOMEM);
    return;
  }
  n = listxattr (path, buf, size);
  if (n < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_buf (req, buf, (size_t) n);
}

static void
view_op_access (fuse_req_t req, fuse_ino_t ino, int mask)
{
  struct view *v = req_view (req);
  const struct fuse_ctx *ctx = fuse_req_ctx (req);
  struct stat st;
  mode_t bits;
  int r;

  TRACE (v, "access %" PRIu64 " 0%o", (uint64_t) ino, mask);
  if (mask & W_OK) {
    fuse_reply_err (req, EROFS);
    return;
  }
  r = view_stat (v, view_inode (v, ino), &st);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  if (mask == F_OK) {
    fuse_reply_err (req, 0);
    return;
  }
  if (ctx->uid == 0) {
    /* root may read anything, and execute what someone may execute */
    r = (mask & X_OK) && !S_ISDIR (st.st_mode) && !(st.st_mode & 0111)
          ? EACCES : 0;
    fuse_reply_err (req, r);
    return;
  }
  if (ctx->uid == st.st_uid)
    bits = (st.st_mode >> 6) & 7;
  else {
    bool in_group = ctx->gid == st.st_gid;
    if (!in_group) {
      gid_t groups[64];
      int ng = fuse_req_getgroups (req, 64, groups);
      for (int i = 0; i < ng && i < 64; i++)
        if (groups[i] == st.st_gid)
          in_group = true;
    }
    bits = in_group ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
  }
  r = 0;
  if ((mask & R_OK) && !(bits & 4))
    r = EACCES;
  if ((mask & X_OK) && !(bits & 1))
    r = EACCES;
  fuse_reply_err (req, r);
}

/* Every operation that would change something. */
static void
view_op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                 int to_set, struct fuse_file_info *fi)
{
  (void) ino; (void) attr; (void) to_set; (void) fi;
  fuse_reply_err (req, EROFS);
}

static void
view_op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, dev_t rdev)
{
  (void) parent; (void) name; (void) mode; (void) rdev;
  fuse_reply_err (req, EROFS);
}

static void
view_op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode)
{
  (void) parent; (void) name; (void) mode;
  fuse_reply_err (req, EROFS);
}

static void
view_op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  (void) parent; (void) name;
  fuse_reply_err (req, EROFS);
}

static void
view_op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent,
                 const char *name)
{
  (void) link; (void) parent; (void) name;
  fuse_reply_err (req, EROFS);
}

static void
view_op_rename (fuse_req_t req, fuse_ino_t parent, const char *name,
                fuse_ino_t newparent, const char *newname, unsigned flags)
{
  (void) parent; (void) name; (void) newparent; (void) newname; (void) flags;
  fuse_reply_err (req, EROFS);
}

static void
view_op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
              const char *newname)
{
  (void) ino; (void) newparent; (void) newname;
  fuse_reply_err (req, EROFS);
}

static void
view_op_write (fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
               off_t off, struct fuse_file_info *fi)
{
  (void) ino; (void) buf; (void) size; (void) off; (void) fi;
  fuse_reply_err (req, EROFS);
}

static void
view_op_create (fuse_req_t req, fuse_ino_t parent, const char *name,
                mode_t mode, struct fuse_file_info *fi)
{
  (void) parent; (void) name; (void) mode; (void) fi;
  fuse_reply_err (req, EROFS);
}

static void
view_op_setxattr (fuse_req_t req, fuse_ino_t ino, const char *name,
                  const char *value, size_t size, int flags)
{
  (void) ino; (void) name; (void) value; (void) size; (void) flags;
  fuse_reply_err (req, EROFS);
}

static void
view_op_removexattr (fuse_req_t req, fuse_ino_t ino, const char *name)
{
  (void) ino; (void) name;
  fuse_reply_err (req, EROFS);
}

static void
view_op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
                   off_t length, struct fuse_file_info *fi)
{
  (void) ino; (void) mode; (void) offset; (void) length; (void) fi;
  fuse_reply_err (req, EROFS);
}

static const struct fuse_lowlevel_ops view_ops = {
  .init = view_op_init,
  .lookup = view_op_lookup,
  .forget = view_op_forget,
  .forget_multi = view_op_forget_multi,
  .getattr = view_op_getattr,
  .readlink = view_op_readlink,
  .opendir = view_op_opendir,
  .readdir = view_op_readdir,
  .readdirplus = view_op_readdirplus,
  .releasedir = view_op_releasedir,
  .fsyncdir = view_op_fsync,
  .open = view_op_open,
  .read = view_op_read,
  .release = view_op_release,
  .fsync = view_op_fsync,
  .statfs = view_op_statfs,
  .getxattr = view_op_getxattr,
  .listxattr = view_op_listxattr,
  .access = view_op_access,
  .setattr = view_op_setattr,
  .mknod = view_op_mknod,
  .mkdir = view_op_mkdir,
  .unlink = view_op_unlink,
  .rmdir = view_op_unlink,
  .symlink = view_op_symlink,
  .rename = view_op_rename,
  .link = view_op_link,
  .write = view_op_write,
  .create = view_op_create,
  .setxattr = view_op_setxattr,
  .removexattr = view_op_removexattr,
  .fallocate = view_op_fallocate,
};

/* ------------------------------------------------------------------ */
/* Building the view. */

static size_t
vtree_count (const struct vnode *n)
{
  size_t c = 1;

  for (size_t i = 0; i < n->n_children; i++)
    c += vtree_count (n->children[i]);
  return c;
}

static void
vtree_collect (struct view *v, struct vnode *n)
{
  struct vino *vi = &v->vt[v->n_vt++];

  vi->kind = VINO_VTREE;
  vi->pinned = true;
  vi->fd = -1;
  vi->vnode = n;
  vi->vino = ((uint64_t) DEV_VIRTUAL << INO_BITS) | v->n_vt;
  for (size_t i = 0; i < n->n_children; i++)
    vtree_collect (v, n->children[i]);
}

/* Report a placement that cannot be applied: a warning when the caller
 * collects them, else the error. */
static int
placement_problem (const struct view_config *cfg, char **ret_msg, int err,
                   const char *path, const char *what)
{
  if (cfg->warnings) {
    strv_pushf (cfg->warnings, "%s: %s", path, what);
    return 0;
  }
  return set_errmsg (ret_msg, err, "%s: %s", path, what);
}

/* Split an absolute path into components, dropping empty ones and ".".
 * Returns the count, or -EINVAL for a ".." component or a relative path. */
static int
split_path (const char *path, char ***ret)
{
  _cleanup_free_ char *copy = xstrdup (path);
  struct strv comps = { 0 };
  char *save = NULL, *tok;

  if (path[0] != '/')
    return -EINVAL;
  for (tok = strtok_r (copy, "/", &save); tok;
       tok = strtok_r (NULL, "/", &save)) {
    if (strcmp (tok, ".") == 0)
      continue;
    if (strcmp (tok, "..") == 0) {
      strv_clear (&comps);
      return -EINVAL;
    }
    strv_push (&comps, xstrdup (tok));
  }
  *ret = comps.v;
  return (int) comps.n;
}

/* Walk comps from the composed root; returns the (dev, ino) the path ends
 * at.  Never follows symlinks. */
static int
walk_composed (struct view *v, char **comps, int n, struct stat *ret_st)
{
  _cleanup_close_ int fd = fcntl (v->root.fd, F_DUPFD_CLOEXEC, 3);
  struct stat st;

  if (fd < 0)
    return -errno;
  if (fstat (fd, &st) < 0)
    return -errno;
  for (int i = 0; i < n; i++) {
    int nfd, r;

    /* reserved even before view_set_inspect gives it contents */
    if (i == 0 && strcmp (comps[i], VIEW_INSPECT_NAME) == 0)
      return -EEXIST;
    nfd = openat (fd, comps[i], O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (nfd < 0)
      return -errno;
    close (fd);
    fd = nfd;
    if (fstat (fd, &st) < 0)
      return -errno;
    r = apply_covers (v, &fd, &st);
    if (r < 0)
      return r;
  }
  *ret_st = st;
  return 0;
}

static int
apply_placements (struct view *v, const struct view_config *cfg,
                  char **ret_msg)
{
  const struct view_placement *root = NULL;
  size_t root_index = 0;
  struct stat st;
  int r;

  for (size_t i = 0; i < cfg->n_placements; i++) {
    const char *path = cfg->placements[i].path;
    _cleanup_strv_free_ char **comps = NULL;
    if (path && split_path (path, &comps) == 0) {
      root = &cfg->placements[i];
      root_index = i;
      break;
    }
  }

  v->pl = xcalloc (cfg->n_placements ? cfg->n_placements : 1, sizeof *v->pl);
  if (root) {
    if (fstat (root->fd, &st) < 0 || !S_ISDIR (st.st_mode))
      return set_errmsg (ret_msg, -ENOTDIR, "/: the root filesystem is not "
                         "a directory");
    v->root.kind = VINO_GUEST;
    v->root.fd = fcntl (root->fd, F_DUPFD_CLOEXEC, 3);
    if (v->root.fd < 0)
      return set_errmsg (ret_msg, -errno, "/: %s", strerror (errno));
    v->root.dev = st.st_dev;
    v->root.ino = st.st_ino;
    v->root.type = S_IFDIR;
    if (!tsearch (&v->root, &v->table, vino_cmp))
      abort ();
    v->n_inodes++;
    view_map_ino (v, st.st_dev, st.st_ino);   /* index 0: the root fs */
  }
  else {
    v->root.kind = VINO_VROOT;
    v->root.fd = -1;
    v->root.vino = (uint64_t) DEV_VIRTUAL << INO_BITS;
  }

  for (size_t i = 0; i < cfg->n_placements; i++) {
    const struct view_placement *vp = &cfg->placements[i];
    const char *path = vp->path ? vp->path : "(null)";
    _cleanup_strv_free_ char **comps = NULL;
    struct placement *p;
    int n;

    if (root && i == root_index)
      continue;
    n = vp->path ? split_path (vp->path, &comps) : -EINVAL;
    if (n == 0) {
      r = placement_problem (cfg, ret_msg, -EEXIST, path,
                             "more than one filesystem placed at /");
      if (r < 0)
        return r;
      continue;
    }
    if (n < 0) {
      r = placement_problem (cfg, ret_msg, -EINVAL, path,
                             "not a valid mountpoint path");
      if (r < 0)
        return r;
      continue;
    }
    if (fstat (vp->fd, &st) < 0 || !S_ISDIR (st.st_mode)) {
      r = placement_problem (cfg, ret_msg, -ENOTDIR, path,
                             "the filesystem's root is not a directory");
      if (r < 0)
        return r;
      continue;
    }
    p = &v->pl[v->n_pl];
    if (!root) {
      bool dup = false;
      if (n != 1 || strcmp (comps[0], VIEW_INSPECT_NAME) == 0) {
        r = placement_problem (cfg, ret_msg, -EINVAL, path,
                               n != 1 ? "not a single path component"
                               : "hidden by /.inspect");
        if (r < 0)
          return r;
        continue;
      }
      for (size_t j = 0; j < v->n_vroot_entries; j++)
        if (strcmp (v->pl[v->vroot_entries[j]].name, comps[0]) == 0)
          dup = true;
      if (dup) {
        r = placement_problem (cfg, ret_msg, -EEXIST, path,
                               "placed twice");
        if (r < 0)
          return r;
        continue;
      }
    }
    else {
      struct stat covered = { 0 };

      r = walk_composed (v, comps, n, &covered);
      if (r < 0) {
        r = placement_problem (cfg, ret_msg, r == -ENOENT ? -ENOENT : r, path,
                               r == -ENOENT ? "mountpoint does not exist in "
                               "the guest"
                               : r == -ENOTDIR || r == -ELOOP
                               ? "mountpoint is not a directory in the guest"
                               : r == -EEXIST ? "hidden by /.inspect"
                               : "mountpoint cannot be reached in the guest");
        if (r < 0)
          return r;
        continue;
      }
      if (covered.st_dev == v->root.dev && covered.st_ino == v->root.ino) {
        r = placement_problem (cfg, ret_msg, -EEXIST, path,
                               "more than one filesystem placed at /");
        if (r < 0)
          return r;
        continue;
      }
      v->covers = xrealloc_array (v->covers, v->n_covers + 1,
                                  sizeof *v->covers);
      /* A later placement on the same path replaces the earlier one. */
      v->covers[v->n_covers++] = (struct cover) {
        .dev = covered.st_dev, .ino = covered.st_ino, .placement = v->n_pl,
      };
    }
    p->fd = fcntl (vp->fd, F_DUPFD_CLOEXEC, 3);
    if (p->fd < 0)
      return set_errmsg (ret_msg, -errno, "%s: %s", path, strerror (errno));
    p->st = st;
    p->path = xstrdup (path);
    if (!root) {
      p->name = xstrdup (comps[0]);
      v->vroot_entries = xrealloc_array (v->vroot_entries,
                                         v->n_vroot_entries + 1,
                                         sizeof *v->vroot_entries);
      v->vroot_entries[v->n_vroot_entries++] = v->n_pl;
    }
    v->n_pl++;
    log_debug (LOG_CAT_FUSE, "view: %s placed", path);
  }
  return 0;
}

void
view_set_inspect (struct view *v, struct vnode *inspect)
{
  vtree_free (v->inspect);
  free (v->vt);
  v->vt = NULL;
  v->n_vt = 0;
  v->inspect = inspect;
  if (inspect) {
    v->vt = xcalloc (vtree_count (inspect), sizeof *v->vt);
    vtree_collect (v, inspect);
    qsort (v->vt, v->n_vt, sizeof *v->vt, vt_cmp);
  }
}

int
view_new (const struct view_config *cfg, struct view **ret, char **ret_msg)
{
  struct view *v;
  int r;

  v = xcalloc (1, sizeof *v);
  v->trace = cfg->trace;
  v->root.pinned = true;
  v->root.fd = -1;
  pthread_mutex_init (&v->root.dir_lock, NULL);
  pthread_mutex_init (&v->lock, NULL);
  clock_gettime (CLOCK_REALTIME, &v->start);

  /* Every guest inode the kernel remembers holds an O_PATH fd here: a
   * listing of a large directory needs many.  Raise the soft limit to the
   * hard one (as passthrough_hp does). */
  {
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
        log_debug (LOG_CAT_FUSE, "view: RLIMIT_NOFILE: %s", strerror (errno));
    }
  }

  view_set_inspect (v, cfg->inspect);
  r = apply_placements (v, cfg, ret_msg);
  if (r < 0) {
    view_free (v);
    return r;
  }
  *ret = v;
  return 0;
}

/* Raise the read-ahead of the new FUSE mount's bdi (128 KiB by default):
 * sequential reads then arrive in large requests.  Best effort.  Must run
 * after the mount and before FUSE_INIT is answered: the kernel lowers it
 * to the max_readahead of the INIT reply (see view_op_init). */
static void
view_tune_readahead (const char *real)
{
  struct libmnt_table *tb = NULL;
  struct libmnt_fs *fs;
  _cleanup_free_ char *path = NULL;
  _cleanup_close_ int fd = -1;
  dev_t devno;

  if (!real)
    return;
  tb = mnt_new_table_from_file ("/proc/self/mountinfo");
  if (!tb)
    return;
  fs = mnt_table_find_target (tb, real, MNT_ITER_BACKWARD);
  if (!fs || strcmp (mnt_fs_get_fstype (fs) ? mnt_fs_get_fstype (fs) : "",
                     "fuse.nguestmount") != 0) {
    log_debug (LOG_CAT_FUSE, "view: %s: our mount is not in mountinfo (%s)",
               real, fs ? mnt_fs_get_fstype (fs) : "no entry");
    mnt_unref_table (tb);
    return;
  }
  devno = mnt_fs_get_devno (fs);
  mnt_unref_table (tb);
  path = xasprintf ("/sys/class/bdi/%u:%u/read_ahead_kb", major (devno),
                    minor (devno));
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, VIEW_READAHEAD_KB, strlen (VIEW_READAHEAD_KB)) < 0)
    log_debug (LOG_CAT_FUSE, "view: %s: %s", path, strerror (errno));
}

int
view_mount (struct view *v, const char *mountpoint, char *const *fuse_opts,
            char **ret_msg)
{
  struct fuse_args args = FUSE_ARGS_INIT (0, NULL);
  /* Resolved before mounting: once mounted, a stat of the mountpoint
   * would wait for this very server, which does not serve yet. */
  _cleanup_free_ char *real = realpath (mountpoint, NULL);
  int r = 0;

  if (fuse_opt_add_arg (&args, "nguestmount") < 0
      || fuse_opt_add_arg (&args, "-o") < 0
      || fuse_opt_add_arg (&args, "ro,default_permissions,"
                           "fsname=nguestmount,subtype=nguestmount") < 0) {
    r = -ENOMEM;
    goto out;
  }
  for (size_t i = 0; fuse_opts && fuse_opts[i]; i++)
    if (fuse_opt_add_arg (&args, "-o") < 0
        || fuse_opt_add_arg (&args, fuse_opts[i]) < 0) {
      r = -ENOMEM;
      goto out;
    }

  v->se = fuse_session_new (&args, &view_ops, sizeof view_ops, v);
  if (!v->se) {
    r = set_errmsg (ret_msg, -EINVAL, "cannot create the FUSE session "
                    "(check the -o options)");
    goto out;
  }
  if (fuse_set_signal_handlers (v->se) != 0) {
    r = set_errmsg (ret_msg, -EIO, "cannot install signal handlers");
    goto out;
  }
  v->signals = true;
  if (fuse_session_mount (v->se, mountpoint) != 0) {
    r = set_errmsg (ret_msg, -EIO, "cannot mount FUSE on %s (does it exist, "
                    "and is /dev/fuse usable?)", mountpoint);
    goto out;
  }
  view_tune_readahead (real);
  log_debug (LOG_CAT_FUSE, "view: mounted on %s", mountpoint);

 out:
  if (r == -ENOMEM)
    set_errmsg (ret_msg, r, "out of memory");
  fuse_opt_free_args (&args);
  return r;
}

int
view_loop (struct view *v)
{
  struct fuse_loop_config *cfg;
  int r;

  if (!v->se)
    return -EINVAL;
  cfg = fuse_loop_cfg_create ();
  if (!cfg)
    return -ENOMEM;
  fuse_loop_cfg_set_max_threads (cfg, VIEW_MAX_THREADS);
  /* clone_fd measured no better (and noisier) for sequential reads. */
  fuse_loop_cfg_set_clone_fd (cfg, 0);
  r = fuse_session_loop_mt (v->se, cfg);
  fuse_loop_cfg_destroy (cfg);
  log_debug (LOG_CAT_FUSE, "view: loop ended (%d)", r);
  /* > 0: ended by that signal, a normal way to stop. */
  return r < 0 ? r : 0;
}

static void
free_vino (void *p)
{
  struct vino *vi = p;

  if (vi->pinned)
    return;
  vino_free_guest (vi);
}

void
view_free (struct view *v)
{
  if (!v)
    return;
  if (v->se) {
    fuse_session_unmount (v->se);
    if (v->signals)
      fuse_remove_signal_handlers (v->se);
    fuse_session_destroy (v->se);
  }
  tdestroy (v->table, free_vino);
  vino_release (&v->root);
  for (size_t i = 0; i < v->n_pl; i++) {
    close (v->pl[i].fd);
    free (v->pl[i].path);
    free (v->pl[i].name);
  }
  free (v->pl);
  free (v->covers);
  free (v->vroot_entries);
  free (v->devs);
  free (v->vt);
  vtree_free (v->inspect);
  pthread_mutex_destroy (&v->lock);
  free (v);
}
