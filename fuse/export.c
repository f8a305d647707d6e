/* nguestmount: the block export (see export.h).
 *
 * Thread model:
 *   - export_start creates the detached FUSE mount and one session thread.
 *     That thread sets PR_SET_IO_FLUSHER and blocks every asynchronous
 *     signal (the daemon's signals belong to the view's threads), then runs
 *     fuse_session_loop_mt; the worker threads libfuse creates inherit both.
 *     export_start returns only once FUSE_INIT has been answered, so the
 *     first openat on the mount never waits for a server that is not there.
 *   - The workers call bdev_pread/bdev_pwrite/bdev_flush concurrently;
 *     bdevs are thread-safe (bdev.h).
 *   - The file table (e->files) is append-only while the export runs and is
 *     guarded by e->lock; each struct export_file is allocated once and
 *     never moves, so a worker only holds the lock to fetch the pointer.
 *   - export_stop marks the session exited and sends one STATFS through
 *     the mount so that a worker wakes up, sees the flag and ends the loop
 *     (libfuse then cancels the workers blocked reading /dev/fuse); then
 *     it closes the mount and joins the thread.  Whenever the loop ends
 *     (stop, or an error), the session thread at once releases /dev/fuse,
 *     so the kernel aborts the connection: no kernel request (that STATFS
 *     included) can wait for an answer that will never come.  The join
 *     can only block if a bdev operation in progress never returns (e.g. a
 *     hung NBD server); export_stop then waits for it.
 *
 * Nothing here is attached to any mount namespace: if the process dies, the
 * kernel drops the mount with the last fd, and loop devices on its files
 * (LO_FLAGS_AUTOCLEAR) go with their last opener.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fuse-api.h"

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "export.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

#define EXPORT_MAX_THREADS 8
#define EXPORT_MAX_IO (1024 * 1024)       /* max_write / max_readahead */
#define EXPORT_MAX_BACKGROUND 64
#define EXPORT_INIT_TIMEOUT 30            /* seconds to wait for FUSE_INIT */
#define EXPORT_TIMEOUT 86400.0            /* entry/attr: files never change */

struct export_file {
  struct bdev *bdev;
  char name[24];          /* decimal index: "0", "1", ... */
};

struct export {
  bool readonly;
  int fsfd;               /* fsopen ("fuse") context */
  int mntfd;              /* fsmount: the detached mount */
  struct fuse_session *se;        /* owns /dev/fuse once mounted */
  struct timespec start;

  pthread_t thread;
  bool thread_running;

  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool ready;             /* FUSE_INIT answered */
  bool loop_ended;        /* session thread returned */
  int loop_err;

  struct export_file **files;     /* nodeid = index + 2 */
  size_t n_files;
};

/* ------------------------------------------------------------------ */
/* Helpers for the FUSE ops. */

static struct export *
req_export (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

/* The file behind nodeid, or NULL (root or unknown). */
static struct export_file *
export_file_get (struct export *e, fuse_ino_t ino)
{
  struct export_file *f = NULL;

  if (ino < 2)
    return NULL;
  pthread_mutex_lock (&e->lock);
  if (ino - 2 < e->n_files)
    f = e->files[ino - 2];
  pthread_mutex_unlock (&e->lock);
  return f;
}

static bool
file_readonly (const struct export *e, const struct export_file *f)
{
  return e->readonly || f->bdev->readonly;
}

static void
fill_stat (struct export *e, fuse_ino_t ino, const struct export_file *f,
           struct stat *st)
{
  memset (st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_uid = 0;
  st->st_gid = 0;
  st->st_blksize = 4096;
  st->st_atim = st->st_mtim = st->st_ctim = e->start;
  if (!f) {
    st->st_mode = S_IFDIR | 0500;
    st->st_nlink = 2;
    return;
  }
  st->st_mode = S_IFREG | (file_readonly (e, f) ? 0400 : 0600);
  st->st_nlink = 1;
  st->st_size = f->bdev->size > (uint64_t) INT64_MAX
                  ? INT64_MAX : (off_t) f->bdev->size;
  st->st_blocks = (blkcnt_t) ((f->bdev->size + 511) / 512);
}

/* ------------------------------------------------------------------ */
/* FUSE operations. */

static void
export_op_init (void *userdata, struct fuse_conn_info *conn)
{
  struct export *e = userdata;

  conn->max_background = EXPORT_MAX_BACKGROUND;
  conn->congestion_threshold = EXPORT_MAX_BACKGROUND * 3 / 4;
  conn->max_readahead = EXPORT_MAX_IO;
  if (conn->max_write > EXPORT_MAX_IO || conn->max_write == 0)
    conn->max_write = EXPORT_MAX_IO;
  /* The loop device above us sends direct I/O; several requests of one
   * direct I/O may be in flight at once. */
  if (conn->capable & FUSE_CAP_ASYNC_DIO)
    conn->want |= FUSE_CAP_ASYNC_DIO;
  /* No writeback cache: a write must reach the bdev before it is
   * acknowledged to the loop device. */
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  /* Splice was measured to bring nothing here: the data is produced in a
   * userspace buffer by bdev_pread, so there is nothing to move. */
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE
                  | FUSE_CAP_SPLICE_MOVE);

  pthread_mutex_lock (&e->lock);
  e->ready = true;
  pthread_cond_broadcast (&e->cond);
  pthread_mutex_unlock (&e->lock);
  log_debug (LOG_CAT_EXPORT, "export: FUSE_INIT answered (max_write %u)",
             conn->max_write);
}

static void
export_op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct export *e = req_export (req);
  struct fuse_entry_param ep;
  struct export_file *f = NULL;
  fuse_ino_t ino = 0;

  if (parent != FUSE_ROOT_ID) {
    fuse_reply_err (req, ENOTDIR);
    return;
  }
  pthread_mutex_lock (&e->lock);
  for (size_t i = 0; i < e->n_files; i++)
    if (strcmp (e->files[i]->name, name) == 0) {
      f = e->files[i];
      ino = i + 2;
      break;
    }
  pthread_mutex_unlock (&e->lock);
  if (!f) {
    fuse_reply_err (req, ENOENT);
    return;
  }
  memset (&ep, 0, sizeof ep);
  ep.ino = ino;
  ep.generation = 1;
  ep.attr_timeout = EXPORT_TIMEOUT;
  ep.entry_timeout = EXPORT_TIMEOUT;
  fill_stat (e, ino, f, &ep.attr);
  fuse_reply_entry (req, &ep);
}

static void
export_op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  struct export_file *f = export_file_get (e, ino);
  struct stat st;

  (void) fi;
  if (!f && ino != FUSE_ROOT_ID) {
    fuse_reply_err (req, ENOENT);
    return;
  }
  fill_stat (e, ino, f, &st);
  fuse_reply_attr (req, &st, EXPORT_TIMEOUT);
}

static void
export_op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                   int to_set, struct fuse_file_info *fi)
{
  (void) ino; (void) attr; (void) to_set; (void) fi;
  /* The size of a block device cannot change, nor its owner or mode. */
  fuse_reply_err (req, req_export (req)->readonly ? EROFS : EPERM);
}

static void
export_op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  _cleanup_free_ char *buf = NULL;
  size_t used = 0;

  (void) fi;
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err (req, ENOTDIR);
    return;
  }
  if (size > 128 * 1024)
    size = 128 * 1024;
  buf = malloc (size);
  if (!buf) {
    fuse_reply_err (req, ENOMEM);
    return;
  }
  pthread_mutex_lock (&e->lock);
  /* Offsets: entry i has offset i + 1, the offset of the next entry. */
  for (size_t i = off < 0 ? 0 : (size_t) off; i < e->n_files; i++) {
    struct stat st;
    size_t n;

    memset (&st, 0, sizeof st);
    st.st_ino = i + 2;
    st.st_mode = S_IFREG;
    n = fuse_add_direntry (req, buf + used, size - used, e->files[i]->name,
                           &st, (off_t) i + 1);
    if (n > size - used)
      break;
    used += n;
  }
  pthread_mutex_unlock (&e->lock);
  fuse_reply_buf (req, buf, used);
}

static void
export_op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  struct export_file *f = export_file_get (e, ino);

  if (!f) {
    fuse_reply_err (req, ino == FUSE_ROOT_ID ? EISDIR : ENOENT);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY && file_readonly (e, f)) {
    fuse_reply_err (req, EROFS);
    return;
  }
  if (fi->flags & O_TRUNC) {
    fuse_reply_err (req, file_readonly (e, f) ? EROFS : EPERM);
    return;
  }
  /* Page cache: the loop device reads with direct I/O and bypasses it;
   * buffered readers (libblkid) use it.  When the export is read-only the
   * bytes cannot change, so the cache may survive across opens.  When it
   * is writable, another file of the export may alias the same bytes (a
   * disk and its partition), so drop the cache at each open. */
  fi->keep_cache = file_readonly (e, f) ? 1 : 0;
  fi->direct_io = 0;
  /* No FUSE_FLUSH on close.  This process holds fds of its own export;
   * if it is killed, the kernel closes them while tearing the process
   * down, and a FLUSH sent to a server that is already dead (but whose
   * /dev/fuse fd is not yet closed) would wait forever, leaving the
   * process stuck in D state with every resource held.  Durability is
   * fsync's job (export_op_fsync), and teardown flushes each bdev. */
  fi->noflush = 1;
  fuse_reply_open (req, fi);
}

/* Each worker thread keeps its read buffer from one request to the next.
 * A fresh malloc of a megabyte per request is an mmap that the read then
 * faults in and the kernel zeroes page by page: measured at several per
 * cent of the CPU time of a cold sequential read, on a path that is
 * CPU-bound.  The buffer goes with its thread (libfuse ends idle workers). */
struct read_buf {
  void *p;
  size_t size;
};

static pthread_key_t read_buf_key;
static pthread_once_t read_buf_once = PTHREAD_ONCE_INIT;
static bool read_buf_key_ok;

static void
read_buf_free (void *arg)
{
  struct read_buf *rb = arg;

  free (rb->p);
  free (rb);
}

static void
read_buf_init (void)
{
  read_buf_key_ok = pthread_key_create (&read_buf_key, read_buf_free) == 0;
}

/* A buffer of at least size bytes owned by the calling thread, or NULL if
 * out of memory.  Without thread-specific data it is a plain allocation,
 * also stored in *ret_owned for the caller to free. */
static void *
read_buf_get (size_t size, void **ret_owned)
{
  struct read_buf *rb;

  *ret_owned = NULL;
  pthread_once (&read_buf_once, read_buf_init);
  if (!read_buf_key_ok)
    return *ret_owned = malloc (size);
  rb = pthread_getspecific (read_buf_key);
  if (!rb) {
    rb = calloc (1, sizeof *rb);
    if (!rb)
      return NULL;
    if (pthread_setspecific (read_buf_key, rb) != 0) {
      free (rb);
      return *ret_owned = malloc (size);
    }
  }
  if (rb->size < size) {
    free (rb->p);
    rb->size = 0;
    rb->p = malloc (size);
    if (!rb->p)
      return NULL;
    rb->size = size;
  }
  return rb->p;
}

static void
export_op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  struct export_file *f = export_file_get (e, ino);
  _cleanup_free_ void *owned = NULL;
  void *buf;
  uint64_t bsize;
  int r;

  (void) fi;
  if (!f) {
    fuse_reply_err (req, EBADF);
    return;
  }
  bsize = f->bdev->size;
  if (off < 0) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  if ((uint64_t) off >= bsize || size == 0) {
    fuse_reply_buf (req, NULL, 0);
    return;
  }
  if (size > bsize - (uint64_t) off)
    size = bsize - (uint64_t) off;
  if (size > EXPORT_MAX_IO * 4)     /* never more than the kernel asks */
    size = EXPORT_MAX_IO * 4;
  buf = read_buf_get (size, &owned);
  if (!buf) {
    fuse_reply_err (req, ENOMEM);
    return;
  }
  r = bdev_pread (f->bdev, buf, size, (uint64_t) off);
  if (r < 0) {
    log_debug (LOG_CAT_EXPORT, "export: read %s [%zu@%jd]: %s",
               f->bdev->name, size, (intmax_t) off, strerror (-r));
    fuse_reply_err (req, -r);
    return;
  }
  fuse_reply_buf (req, buf, size);
}

static void
export_op_write (fuse_req_t req, fuse_ino_t ino, const char *buf,
                 size_t size, off_t off, struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  struct export_file *f = export_file_get (e, ino);
  uint64_t bsize;
  int r;

  (void) fi;
  if (!f) {
    fuse_reply_err (req, EBADF);
    return;
  }
  if (file_readonly (e, f)) {
    fuse_reply_err (req, EROFS);
    return;
  }
  bsize = f->bdev->size;
  if (off < 0) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  if (size == 0) {
    fuse_reply_write (req, 0);
    return;
  }
  /* A block device cannot grow: clip at its end, fail beyond it. */
  if ((uint64_t) off >= bsize) {
    fuse_reply_err (req, ENOSPC);
    return;
  }
  if (size > bsize - (uint64_t) off)
    size = bsize - (uint64_t) off;
  r = bdev_pwrite (f->bdev, buf, size, (uint64_t) off);
  if (r < 0) {
    log_debug (LOG_CAT_EXPORT, "export: write %s [%zu@%jd]: %s",
               f->bdev->name, size, (intmax_t) off, strerror (-r));
    fuse_reply_err (req, -r);
    return;
  }
  fuse_reply_write (req, size);
}

static void
export_op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  struct export_file *f = export_file_get (e, ino);
  int r = 0;

  (void) fi;
  if (!f) {
    fuse_reply_err (req, EBADF);
    return;
  }
  /* flush comes with every close(): only a writable file has anything to
   * push to the image. */
  if (!file_readonly (e, f))
    r = bdev_flush (f->bdev);
  fuse_reply_err (req, r < 0 ? -r : 0);
}

static void
export_op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync,
                 struct fuse_file_info *fi)
{
  struct export *e = req_export (req);
  struct export_file *f = export_file_get (e, ino);
  int r = 0;

  (void) datasync; (void) fi;
  if (!f) {
    fuse_reply_err (req, EBADF);
    return;
  }
  if (!file_readonly (e, f))
    r = bdev_flush (f->bdev);
  fuse_reply_err (req, r < 0 ? -r : 0);
}

static void
export_op_statfs (fuse_req_t req, fuse_ino_t ino)
{
  struct export *e = req_export (req);
  struct statvfs sv;
  uint64_t total = 0;

  (void) ino;
  pthread_mutex_lock (&e->lock);
  for (size_t i = 0; i < e->n_files; i++)
    total += (e->files[i]->bdev->size + 4095) / 4096;
  memset (&sv, 0, sizeof sv);
  sv.f_bsize = 4096;
  sv.f_frsize = 4096;
  sv.f_blocks = total;
  sv.f_files = e->n_files + 1;
  sv.f_namemax = 255;
  pthread_mutex_unlock (&e->lock);
  fuse_reply_statfs (req, &sv);
}

static const struct fuse_lowlevel_ops export_ops = {
  .init = export_op_init,
  .lookup = export_op_lookup,
  .getattr = export_op_getattr,
  .setattr = export_op_setattr,
  .readdir = export_op_readdir,
  .open = export_op_open,
  .read = export_op_read,
  .write = export_op_write,
  .flush = export_op_flush,
  .fsync = export_op_fsync,
  .statfs = export_op_statfs,
};

/* ------------------------------------------------------------------ */
/* Session thread. */

static void *
export_thread (void *arg)
{
  struct export *e = arg;
  struct fuse_loop_config *cfg;
  sigset_t all;
  int r;

  /* Our workers write back the loop device's dirty pages: they must not
   * be throttled by the very writeback they serve. */
  if (prctl (PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
    log_debug (LOG_CAT_EXPORT, "export: PR_SET_IO_FLUSHER: %s",
               strerror (errno));
  /* Leave the daemon's signals to the other threads. */
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, NULL);

  cfg = fuse_loop_cfg_create ();
  if (!cfg)
    r = -ENOMEM;
  else {
    fuse_loop_cfg_set_max_threads (cfg, EXPORT_MAX_THREADS);
    fuse_loop_cfg_set_clone_fd (cfg, 0);
    r = fuse_session_loop_mt (e->se, cfg);
    fuse_loop_cfg_destroy (cfg);
    if (r > 0)
      r = -EIO;
  }
  log_debug (LOG_CAT_EXPORT, "export: session loop ended (%d)", r);

  /* Nobody reads /dev/fuse any more.  libfuse may have read a request at
   * the very end and dropped it unanswered, and the kernel would wait for
   * that answer (and for every later request) forever, in D state.
   * Release our /dev/fuse file now (replacing the descriptor, which the
   * session still owns and closes in fuse_session_destroy, by /dev/null):
   * the kernel then aborts the connection and fails every pending and
   * future request at once. */
  {
    int nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
    if (nullfd < 0 || dup3 (nullfd, fuse_session_fd (e->se), O_CLOEXEC) < 0)
      log_debug (LOG_CAT_EXPORT, "export: cannot release /dev/fuse: %s",
                 strerror (errno));
    if (nullfd >= 0)
      close (nullfd);
  }

  pthread_mutex_lock (&e->lock);
  e->loop_ended = true;
  e->loop_err = r;
  pthread_cond_broadcast (&e->cond);
  pthread_mutex_unlock (&e->lock);
  return NULL;
}

/* Wait until FUSE_INIT was answered or the loop ended; bounded. */
static int
export_wait_ready (struct export *e)
{
  struct timespec deadline;
  int r = 0;

  clock_gettime (CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += EXPORT_INIT_TIMEOUT;
  pthread_mutex_lock (&e->lock);
  while (!e->ready && !e->loop_ended && r == 0)
    r = pthread_cond_timedwait (&e->cond, &e->lock, &deadline);
  if (e->ready)
    r = 0;
  else if (e->loop_ended)
    r = e->loop_err < 0 ? e->loop_err : -ENOTCONN;
  else
    r = -r;   /* ETIMEDOUT */
  pthread_mutex_unlock (&e->lock);
  return r;
}

static int
fsconfig_str (int fsfd, const char *key, const char *value)
{
  if (fsconfig (fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0)
    return -errno;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Public interface. */

int
export_start (bool readonly, struct export **ret, char **ret_msg)
{
  static const char *const argv[] = { "nguestmount-export", NULL };
  struct fuse_args args = FUSE_ARGS_INIT (1, (char **) argv);
  struct export *e;
  pthread_condattr_t ca;
  _cleanup_close_ int devfd = -1;
  char num[32];
  int r;

  e = xcalloc (1, sizeof *e);
  e->readonly = readonly;
  e->fsfd = -1;
  e->mntfd = -1;
  clock_gettime (CLOCK_REALTIME, &e->start);
  pthread_mutex_init (&e->lock, NULL);
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&e->cond, &ca);
  pthread_condattr_destroy (&ca);

  devfd = open ("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (devfd < 0) {
    r = -errno;
    set_errmsg (ret_msg, r, "cannot open /dev/fuse: %s (is the fuse module "
                "available?)", strerror (-r));
    goto fail;
  }

  e->fsfd = fsopen ("fuse", FSOPEN_CLOEXEC);
  if (e->fsfd < 0) {
    r = -errno;
    set_errmsg (ret_msg, r, "cannot create the block export: fsopen fuse: %s",
                strerror (-r));
    goto fail;
  }
  snprintf (num, sizeof num, "%d", devfd);
  if ((r = fsconfig_str (e->fsfd, "fd", num)) < 0
      || (r = fsconfig_str (e->fsfd, "rootmode", "40000")) < 0
      || (r = fsconfig_str (e->fsfd, "user_id", "0")) < 0
      || (r = fsconfig_str (e->fsfd, "group_id", "0")) < 0
      || (r = fsconfig (e->fsfd, FSCONFIG_SET_FLAG, "default_permissions",
                        NULL, 0) < 0 ? -errno : 0) < 0
      || (r = fsconfig (e->fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0
                ? -errno : 0) < 0) {
    set_errmsg (ret_msg, r, "cannot create the block export: fsconfig fuse: %s",
                strerror (-r));
    goto fail;
  }
  e->mntfd = fsmount (e->fsfd, FSMOUNT_CLOEXEC,
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
                      | (readonly ? MOUNT_ATTR_RDONLY : 0));
  if (e->mntfd < 0) {
    r = -errno;
    set_errmsg (ret_msg, r, "cannot create the block export: fsmount: %s",
                strerror (-r));
    goto fail;
  }
  /* The context is not needed any more; dropping it early also drops any
   * reference it might keep to /dev/fuse. */
  close (e->fsfd);
  e->fsfd = -1;

  e->se = fuse_session_new (&args, &export_ops, sizeof export_ops, e);
  fuse_opt_free_args (&args);
  if (!e->se) {
    r = set_errmsg (ret_msg, -ENOMEM, "cannot create the block export: "
                    "fuse_session_new failed");
    goto fail;
  }
  /* libfuse takes an open /dev/fuse as "/dev/fd/N" and mounts nothing;
   * from here on the session owns devfd. */
  snprintf (num, sizeof num, "/dev/fd/%d", devfd);
  if (fuse_session_mount (e->se, num) != 0) {
    r = set_errmsg (ret_msg, -EIO, "cannot create the block export: "
                    "libfuse refused the /dev/fuse descriptor");
    goto fail;
  }
  devfd = -1;

  r = -pthread_create (&e->thread, NULL, export_thread, e);
  if (r < 0) {
    set_errmsg (ret_msg, r, "cannot start the block export thread: %s",
                strerror (-r));
    goto fail;
  }
  e->thread_running = true;

  r = export_wait_ready (e);
  if (r < 0) {
    set_errmsg (ret_msg, r, "the block export did not start: %s",
                strerror (-r));
    goto fail;
  }
  log_debug (LOG_CAT_EXPORT, "export: serving (%s)",
             readonly ? "read-only" : "read-write");
  *ret = e;
  return 0;

 fail:
  export_stop (e);
  return r;
}

int
export_add (struct export *e, struct bdev *b, int *ret_fd, char **ret_msg)
{
  struct export_file *f;
  bool ro;
  int fd, r;

  if (!e || !b)
    return set_errmsg (ret_msg, -EINVAL, "export_add: invalid arguments");

  f = xcalloc (1, sizeof *f);
  f->bdev = bdev_ref (b);
  pthread_mutex_lock (&e->lock);
  snprintf (f->name, sizeof f->name, "%zu", e->n_files);
  e->files = xrealloc_array (e->files, e->n_files + 1, sizeof *e->files);
  e->files[e->n_files++] = f;
  pthread_mutex_unlock (&e->lock);

  /* The file stays published even if this open fails: the table is
   * append-only, and the export keeps its reference until export_stop. */
  ro = file_readonly (e, f);
  fd = openat (e->mntfd, f->name, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    r = -errno;
    return set_errmsg (ret_msg, r, "cannot open %s through the block "
                       "export: %s", b->name ? b->name : "bdev",
                       strerror (-r));
  }
  log_debug (LOG_CAT_EXPORT, "export: %s published as file %s (%" PRIu64
             " bytes, %s)", b->name ? b->name : "?", f->name, b->size,
             ro ? "ro" : "rw");
  *ret_fd = fd;
  return 0;
}

void
export_stop (struct export *e)
{
  if (!e)
    return;

  if (e->thread_running) {
    struct statfs sfs;
    bool wake;

    fuse_session_exit (e->se);
    /* Wake one worker: it answers this request (or libfuse drops it),
     * sees the exit flag and ends the loop, which cancels the workers
     * still blocked on /dev/fuse.  The request cannot hang: once the loop
     * has ended, export_thread releases /dev/fuse and the kernel fails
     * whatever is pending.  Skipped when FUSE_INIT was never answered
     * (no file can be open then, so closing the mount below aborts the
     * connection and ends the loop by ENODEV). */
    pthread_mutex_lock (&e->lock);
    wake = e->ready && !e->loop_ended;
    pthread_mutex_unlock (&e->lock);
    if (wake && e->mntfd >= 0 && fstatfs (e->mntfd, &sfs) < 0)
      log_debug (LOG_CAT_EXPORT, "export: wake-up statfs: %s",
                 strerror (errno));
  }
  if (e->mntfd >= 0)
    close (e->mntfd);
  if (e->fsfd >= 0)
    close (e->fsfd);
  e->mntfd = e->fsfd = -1;

  if (e->thread_running) {
    pthread_join (e->thread, NULL);
    e->thread_running = false;
  }
  /* Closes /dev/fuse: anything still queued by the kernel (a loop device
   * the caller forgot) is answered with ENOTCONN. */
  if (e->se)
    fuse_session_destroy (e->se);

  for (size_t i = 0; i < e->n_files; i++) {
    bdev_unref (e->files[i]->bdev);
    free (e->files[i]);
  }
  free (e->files);
  pthread_cond_destroy (&e->cond);
  pthread_mutex_destroy (&e->lock);
  free (e);
  log_debug (LOG_CAT_EXPORT, "export: stopped");
}
