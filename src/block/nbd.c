/* nguestmount: a bdev served by a qemu-nbd child, spoken to with libnbd.
 *
 * We start qemu-nbd ourselves with systemd-style socket activation: the
 * listening AF_UNIX socket is created and bound here, in a private mkdtemp
 * directory (mode 0700), and handed to the child as fd 3 with LISTEN_PID
 * and LISTEN_FDS.  Every client connection is made (connect(2) completes
 * against the listen backlog even before qemu-nbd runs) before the first
 * handshake, and then the socket file and its directory are removed at
 * once: no other process can ever connect, and nothing is left on disk
 * even if we are killed with SIGKILL a moment later.
 *
 * The child gets PR_SET_PDEATHSIG(SIGTERM), so it dies with us.  The kernel
 * sends that signal when the *thread* that forked exits, not the process:
 * bdev_nbd_open must therefore be called from the main thread (or another
 * thread that lives until the bdev is destroyed).
 *
 * Thread model: the libnbd handles are thread-safe, but a synchronous
 * command holds its handle while it waits, so with multi-conn the reads
 * are spread over the handles round-robin (an atomic counter).  Everything
 * else in struct nbdnode is immutable after open.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

#include "block/bdev.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

extern char **environ;

/* libnbd refuses requests above 64 MiB; qemu-nbd advertises 32 MiB. */
#define NBD_REQUEST_DEFAULT (32u * 1024 * 1024)
#define NBD_REQUEST_CAP (64u * 1024 * 1024)
#define NBD_MAX_CONN 16
/* How much of qemu-nbd's stderr we keep for an error message. */
#define STDERR_MAX 4096
/* How long qemu-nbd gets to exit by itself once its clients are gone. */
#define CHILD_EXIT_TIMEOUT_MS 5000

/* Cache mode: "writeback" (qemu-nbd's default, buffered I/O) rather than
 * "none" (O_DIRECT).  Measured here (256 MiB qcow2, one connection,
 * sequential reads): 1 MiB reads 660-690 MB/s buffered vs 350-390 MB/s
 * with O_DIRECT, 4 KiB reads 23-60 vs 13-21 MB/s; the host page cache
 * gives readahead to the small reads FUSE and the loop device pass down and
 * keeps a second mount of the same image fast.  O_DIRECT is also refused by
 * some file systems images live on (tmpfs before Linux 6.6, several FUSE
 * and network file systems).  The guest's data is cached a second time by
 * the guest file system above us, but inspection reads little.  With --rw,
 * flush still reaches the disk. */
#define QEMU_NBD_CACHE "--cache=writeback"

struct nbdnode {
  struct nbd_handle *h[NBD_MAX_CONN];
  unsigned nh;
  unsigned next;          /* round-robin counter, atomic */
  uint64_t max_request;   /* largest single request */
  pid_t pid;              /* qemu-nbd child, or -1 once reaped */
  int pidfd;              /* pidfd of the child, or -1 */
};

/* AIO mode: threads.  io_uring was measured faster here (2 vCPU VM, ext4,
 * 256 MiB qcow2, cold page cache, one connection reading sequentially,
 * three runs each: 4 KiB reads 28-38 MB/s with threads, 59-109 MB/s with
 * io_uring; 128 KiB reads 200-300 vs 265-400 MB/s), but qemu-nbd 7.2 with
 * --aio=io_uring hangs for good, ignoring SIGTERM (so PR_SET_PDEATHSIG
 * cannot end it), when a read runs past the end of a host file inside a
 * declared extent: a vmdk descriptor whose FLAT extent is longer than its
 * file, which any hostile image can be (tests/unit/test-block.c has one).
 * A wedged child is worse than slower small reads; the block export reads
 * in larger chunks, where the gap is narrower. */
#define QEMU_NBD_AIO "--aio=threads"

/* How long qemu-nbd may take to open the image and answer the handshake
 * (a hung network file system or a pathological image must not hang us). */
#define HANDSHAKE_TIMEOUT_MS 60000

static int
nbdnode_errno (void)
{
  int e = nbd_get_errno ();
  return e > 0 ? -e : -EIO;
}

static struct nbd_handle *
pick_handle (struct nbdnode *d)
{
  if (d->nh == 1)
    return d->h[0];
  unsigned i = __atomic_fetch_add (&d->next, 1, __ATOMIC_RELAXED);
  return d->h[i % d->nh];
}

static int
nbdnode_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct nbdnode *d = b->data;
  char *p = buf;

  while (count > 0) {
    size_t n = count < d->max_request ? count : (size_t) d->max_request;
    if (nbd_pread (pick_handle (d), p, n, offset, 0) < 0) {
      int r = nbdnode_errno ();
      log_debug (LOG_CAT_BLOCK, "%s: nbd_pread %zu at %" PRIu64 ": %s",
                 b->name, n, offset, nbd_get_error ());
      return r;
    }
    p += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static int
nbdnode_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  struct nbdnode *d = b->data;
  const char *p = buf;

  while (count > 0) {
    size_t n = count < d->max_request ? count : (size_t) d->max_request;
    if (nbd_pwrite (pick_handle (d), p, n, offset, 0) < 0) {
      int r = nbdnode_errno ();
      log_debug (LOG_CAT_BLOCK, "%s: nbd_pwrite %zu at %" PRIu64 ": %s",
                 b->name, n, offset, nbd_get_error ());
      return r;
    }
    p += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static int
nbdnode_flush (struct bdev *b)
{
  struct nbdnode *d = b->data;

  /* With multi-conn, a flush on one connection covers the writes completed
   * on all of them; without it there is only one connection. */
  if (nbd_flush (d->h[0], 0) < 0) {
    int r = nbdnode_errno ();
    log_debug (LOG_CAT_BLOCK, "%s: nbd_flush: %s", b->name, nbd_get_error ());
    return r;
  }
  return 0;
}

/* Wait for the child to exit, at most timeout_ms, then SIGKILL it and wait
 * for good.  Never leaves a process or a zombie behind. */
static void
reap_child (pid_t pid, int pidfd, int timeout_ms)
{
  int status;

  if (pid <= 0)
    return;
  if (pidfd >= 0) {
    struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
    int r;
    do
      r = poll (&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      log_debug (LOG_CAT_BLOCK, "qemu-nbd %d did not exit, killing it",
                 (int) pid);
      pidfd_send_signal (pidfd, SIGKILL, NULL, 0);
    }
  }
  else {
    /* No pidfd (should not happen on the kernels we support): poll. */
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      pid_t w = waitpid (pid, &status, WNOHANG);
      if (w == pid || (w < 0 && errno == ECHILD))
        return;
      usleep (10000);
    }
    kill (pid, SIGKILL);
  }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
}

static void
nbdnode_destroy (struct bdev *b)
{
  struct nbdnode *d = b->data;

  if (!d)
    return;
  for (unsigned i = 0; i < d->nh; i++) {
    if (d->h[i]) {
      nbd_shutdown (d->h[i], 0);
      nbd_close (d->h[i]);
      d->h[i] = NULL;
    }
  }
  /* qemu-nbd exits by itself once its last client has gone. */
  reap_child (d->pid, d->pidfd, CHILD_EXIT_TIMEOUT_MS);
  if (d->pidfd >= 0)
    close (d->pidfd);
  free (d);
}

static const struct bdev_ops nbdnode_ops_ro = {
  .kind = "nbd",
  .pread = nbdnode_pread,
  .destroy = nbdnode_destroy,
};

static const struct bdev_ops nbdnode_ops_rw = {
  .kind = "nbd",
  .pread = nbdnode_pread,
  .pwrite = nbdnode_pwrite,
  .flush = nbdnode_flush,
  .destroy = nbdnode_destroy,
};

/* Read what qemu-nbd wrote to stderr and turn it into one line: the first
 * non-empty line, without the "qemu-nbd: " prefix, control characters
 * replaced.  NULL when it wrote nothing. */
static char *
child_message (int memfd)
{
  char buf[STDERR_MAX + 1];
  ssize_t n;

  do
    n = pread (memfd, buf, STDERR_MAX, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';

  char *save = NULL;
  for (char *line = strtok_r (buf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    /* qemu prefixes its messages with the program name (or path). */
    char *msg = strstr (line, "qemu-nbd: ");
    if (msg)
      line = msg + strlen ("qemu-nbd: ");
    strstrip (line);
    if (*line)
      return sanitize_string (line, 1024);
  }
  return NULL;
}

/* Write the decimal value of v at p (async-signal-safe). */
static void
put_decimal (char *p, long v)
{
  char tmp[24];
  int n = 0;

  do {
    tmp[n++] = (char) ('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < (int) sizeof tmp);
  while (n > 0)
    *p++ = tmp[--n];
  *p = '\0';
}

/* In the child, after fork: only async-signal-safe calls from here on
 * (the parent may be multi-threaded).  Never returns. */
static void __attribute__ ((noreturn))
child_exec (pid_t parent, const char *prog, char **argv, char **envp,
            char *listen_pid, int lfd, int nullfd, int errfd)
{
  sigset_t all;

  if (prctl (PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid () != parent)
    _exit (126);

  /* Signal mask and ignored signals survive execve: reset them. */
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  signal (SIGPIPE, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  signal (SIGHUP, SIG_DFL);

  /* Move the fds we keep out of the way first, so that none of them can be
   * one of the targets 0-3 (the parent may run with 0-2 closed). */
  int l = fcntl (lfd, F_DUPFD, 10);
  int nl = fcntl (nullfd, F_DUPFD, 10);
  int e = fcntl (errfd, F_DUPFD, 10);
  if (l < 0 || nl < 0 || e < 0)
    _exit (126);
  if (dup2 (nl, 0) < 0 || dup2 (nl, 1) < 0 || dup2 (e, 2) < 0
      || dup2 (l, 3) < 0)
    _exit (126);
  if (close_range (4, ~0U, 0) < 0)
    for (int fd = 4; fd < 65536; fd++)
      close (fd);

  put_decimal (listen_pid + strlen ("LISTEN_PID="), (long) getpid ());
  execve (prog, argv, envp);

  static const char msg[] = "qemu-nbd: cannot execute qemu-nbd\n";
  ssize_t ignored = write (2, msg, sizeof msg - 1);
  (void) ignored;
  _exit (127);
}

/* Build the child's environment in the parent (no allocation after fork):
 * ours minus any LISTEN_* variables, plus LISTEN_FDS=1 and a LISTEN_PID=
 * slot (listen_pid) the child fills with its own pid. */
static char **
child_environ (char *listen_pid)
{
  struct strv env = { 0 };

  for (char **e = environ; e && *e; e++) {
    if (str_has_prefix (*e, "LISTEN_PID=") || str_has_prefix (*e, "LISTEN_FDS=")
        || str_has_prefix (*e, "LISTEN_FDNAMES="))
      continue;
    strv_push (&env, xstrdup (*e));
  }
  strv_push (&env, xstrdup ("LISTEN_FDS=1"));
  /* The one entry not owned by the vector: it lives in the caller's frame.
   * child_environ_free() knows to skip it (it is the last entry). */
  strv_push (&env, listen_pid);
  return env.v;
}

static void
child_environ_free (char **envp)
{
  if (!envp)
    return;
  size_t n = 0;
  while (envp[n])
    n++;
  for (size_t i = 0; i + 1 < n; i++)    /* the last one is listen_pid */
    free (envp[i]);
  free (envp);
}

/* The private socket directory, removed on every path out of open. */
struct sockdir {
  char dir[sizeof ((struct sockaddr_un *) 0)->sun_path];
  char sock[sizeof ((struct sockaddr_un *) 0)->sun_path];
  bool have_dir, have_sock;
};

static void
sockdir_remove (struct sockdir *s)
{
  if (s->have_sock && unlink (s->sock) < 0)
    log_debug (LOG_CAT_BLOCK, "unlink %s: %m", s->sock);
  s->have_sock = false;
  if (s->have_dir && rmdir (s->dir) < 0)
    log_debug (LOG_CAT_BLOCK, "rmdir %s: %m", s->dir);
  s->have_dir = false;
}

/* Create the private directory and a listening socket in it.  Returns the
 * listening fd or -errno. */
static int
sockdir_listen (struct sockdir *s, unsigned backlog)
{
  const char *tmp = getenv ("TMPDIR");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int fd = -1;

  if (!tmp || *tmp != '/')
    tmp = "/tmp";
  /* sun_path is short (108 bytes): fall back to /tmp for a long TMPDIR. */
  if (strlen (tmp) + sizeof "/nguestmount-XXXXXX/nbd.sock"
      > sizeof addr.sun_path)
    tmp = "/tmp";
  snprintf (s->dir, sizeof s->dir, "%s/nguestmount-XXXXXX", tmp);
  if (!mkdtemp (s->dir))
    return -errno;
  s->have_dir = true;
  if (snprintf (s->sock, sizeof s->sock, "%s/nbd.sock", s->dir)
      >= (int) sizeof s->sock)
    return -ENAMETOOLONG;
  memcpy (addr.sun_path, s->sock, strlen (s->sock) + 1);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return -errno;
  s->have_sock = true;
  if (listen (fd, (int) backlog) < 0)
    return -errno;
  return TAKE_FD (fd);
}

static int
sockdir_connect (const struct sockdir *s)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -errno;
  memcpy (addr.sun_path, s->sock, strlen (s->sock) + 1);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return -errno;
  return TAKE_FD (fd);
}

/* Connect h over sock and finish the handshake before the deadline
 * (CLOCK_MONOTONIC).  Returns 0, -ETIMEDOUT, or -errno with the libnbd
 * error set. */
static int
connect_with_deadline (struct nbd_handle *h, int sock,
                       const struct timespec *deadline)
{
  if (nbd_aio_connect_socket (h, sock) < 0)
    return nbdnode_errno ();
  while (nbd_aio_is_ready (h) != 1) {
    if (nbd_aio_is_dead (h) == 1 || nbd_aio_is_closed (h) == 1)
      return nbdnode_errno ();
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    int64_t left = (int64_t) (deadline->tv_sec - now.tv_sec) * 1000
                   + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    if (left <= 0)
      return -ETIMEDOUT;
    int r = nbd_poll (h, (int) (left > INT_MAX ? INT_MAX : left));
    if (r < 0)
      return nbdnode_errno ();
  }
  return 0;
}

/* Start qemu-nbd with the given AIO mode and connect to it. */
static int
nbdnode_start (const char *path, const char *prog, const char *abspath,
               const char *format, bool readonly, unsigned nconn,
               const char *name, struct bdev **ret, char **ret_msg)
{
  _cleanup_close_ int lfd = -1, nullfd = -1, errfd = -1;
  int socks[NBD_MAX_CONN];
  struct sockdir sd = { .have_dir = false, .have_sock = false };
  struct nbdnode *d = NULL;
  char listen_pid[32] = "LISTEN_PID=";
  char **envp = NULL;
  struct strv args = { 0 };
  pid_t parent = getpid ();
  int r;

  for (unsigned i = 0; i < NBD_MAX_CONN; i++)
    socks[i] = -1;

  strv_push (&args, xstrdup ("qemu-nbd"));
  strv_pushf (&args, "--format=%s", format);
  if (readonly)
    strv_push (&args, xstrdup ("--read-only"));
  strv_pushf (&args, "--shared=%u", nconn);
  strv_push (&args, xstrdup (QEMU_NBD_CACHE));
  strv_push (&args, xstrdup (QEMU_NBD_AIO));
  strv_push (&args, xstrdup ("--"));
  strv_push (&args, xstrdup (abspath));
  envp = child_environ (listen_pid);

  lfd = sockdir_listen (&sd, nconn);
  if (lfd < 0) {
    r = set_errmsg (ret_msg, lfd, "cannot attach %s: private socket: %s",
                    path, strerror (-lfd));
    goto out;
  }
  nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (nullfd < 0) {
    r = set_errmsg (ret_msg, -errno, "cannot attach %s: /dev/null: %m", path);
    goto out;
  }
  errfd = memfd_create ("qemu-nbd-stderr", MFD_CLOEXEC);
  if (errfd < 0) {
    r = set_errmsg (ret_msg, -errno, "cannot attach %s: memfd_create: %m",
                    path);
    goto out;
  }

  d = xcalloc (1, sizeof *d);
  d->pidfd = -1;
  d->pid = fork ();
  if (d->pid < 0) {
    r = set_errmsg (ret_msg, -errno, "cannot attach %s: fork: %m", path);
    d->pid = -1;
    goto out;
  }
  if (d->pid == 0)
    child_exec (parent, prog, args.v, envp, listen_pid, lfd, nullfd, errfd);

  d->pidfd = pidfd_open (d->pid, 0);
  log_debug (LOG_CAT_BLOCK,
             "%s: qemu-nbd pid %d on %s (%s, %s, %u conn)", name,
             (int) d->pid, abspath, format,
             readonly ? "read-only" : "read-write", nconn);

  /* Connect every client now: connect(2) on a unix socket completes as soon
   * as it is queued on the listen backlog.  Then the path goes. */
  for (unsigned i = 0; i < nconn; i++) {
    socks[i] = sockdir_connect (&sd);
    if (socks[i] < 0) {
      r = set_errmsg (ret_msg, socks[i], "cannot attach %s: connect: %s",
                      path, strerror (-socks[i]));
      goto out;
    }
  }
  sockdir_remove (&sd);
  /* Only the child holds the listening socket now: if qemu-nbd exits, the
   * queued connections are reset instead of waiting forever. */
  close (TAKE_FD (lfd));

  struct timespec deadline;
  clock_gettime (CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += HANDSHAKE_TIMEOUT_MS / 1000;
  for (unsigned i = 0; i < nconn; i++) {
    struct nbd_handle *h = nbd_create ();
    if (!h) {
      r = set_errmsg (ret_msg, nbdnode_errno (), "cannot attach %s: %s", path,
                      nbd_get_error ());
      goto out;
    }
    d->h[d->nh++] = h;
    /* qemu-nbd tells its request alignment as the minimum block size;
     * its block layer copes with unaligned requests itself, so let
     * libnbd send them. */
    int strict = nbd_get_strict_mode (h);
    if (strict >= 0)
      nbd_set_strict_mode (h, (uint32_t) strict & ~LIBNBD_STRICT_ALIGN);
    /* libnbd zeroes every read buffer first by default, in case a caller
     * uses it after a failed read; ours never do, and on the export's read
     * path the memset was measurable CPU time. */
    nbd_set_pread_initialize (h, false);
    /* libnbd owns the socket from now on, even on failure. */
    int err = connect_with_deadline (h, TAKE_FD (socks[i]), &deadline);
    if (err < 0) {
      _cleanup_free_ char *lib
          = err == -ETIMEDOUT
                ? xasprintf ("qemu-nbd did not answer within %d s",
                             HANDSHAKE_TIMEOUT_MS / 1000)
                : xstrdup (nbd_get_error ());
      /* qemu-nbd's own words are better than the handshake error: reap it
       * (it has exited or will not serve us) and read its stderr. */
      for (unsigned j = 0; j < d->nh; j++)
        nbd_close (d->h[j]);
      d->nh = 0;
      for (unsigned j = i + 1; j < nconn; j++)
        if (socks[j] >= 0)
          close (TAKE_FD (socks[j]));
      reap_child (d->pid, d->pidfd, 1000);
      d->pid = -1;
      _cleanup_free_ char *msg = child_message (errfd);
      log_debug (LOG_CAT_BLOCK, "%s: handshake: %s", name, lib);
      r = set_errmsg (ret_msg, err, "cannot attach %s: %s", path,
                      msg ? msg : lib ? lib : "qemu-nbd failed");
      goto out;
    }
    if (i == 0 && nconn > 1 && nbd_can_multi_conn (h) != 1) {
      log_debug (LOG_CAT_BLOCK, "%s: server has no multi-conn, 1 connection",
                 name);
      for (unsigned j = 1; j < nconn; j++)
        close (TAKE_FD (socks[j]));
      break;
    }
  }

  int64_t size = nbd_get_size (d->h[0]);
  if (size < 0) {
    r = set_errmsg (ret_msg, nbdnode_errno (), "cannot attach %s: %s", path,
                    nbd_get_error ());
    goto out;
  }
  if (size == 0) {
    r = set_errmsg (ret_msg, -EINVAL, "cannot attach %s: the image is empty",
                    path);
    goto out;
  }
  int64_t max = nbd_get_block_size (d->h[0], LIBNBD_SIZE_MAXIMUM);
  d->max_request = max > 0 ? (uint64_t) max : NBD_REQUEST_DEFAULT;
  if (d->max_request > NBD_REQUEST_CAP)
    d->max_request = NBD_REQUEST_CAP;
  if (!readonly && nbd_is_read_only (d->h[0]) == 1) {
    log_debug (LOG_CAT_BLOCK, "%s: export is read-only", name);
    readonly = true;
  }

  struct bdev *b = bdev_new (readonly ? &nbdnode_ops_ro : &nbdnode_ops_rw, name,
                             (uint64_t) size, readonly, d);
  log_debug (LOG_CAT_BLOCK,
             "%s: nbd ready, %" PRId64 " bytes, %u connection(s), max "
             "request %" PRIu64,
             b->name, size, d->nh, d->max_request);
  d = NULL;
  *ret = b;
  r = 0;

out:
  sockdir_remove (&sd);
  for (unsigned i = 0; i < NBD_MAX_CONN; i++)
    if (socks[i] >= 0)
      close (socks[i]);
  if (d) {
    /* Closing our connections makes qemu-nbd exit; then reap it. */
    if (lfd >= 0)
      close (TAKE_FD (lfd));
    for (unsigned i = 0; i < d->nh; i++)
      nbd_close (d->h[i]);
    d->nh = 0;
    reap_child (d->pid, d->pidfd, 1000);
    if (d->pidfd >= 0)
      close (d->pidfd);
    free (d);
  }
  child_environ_free (envp);
  strv_clear (&args);
  return r;
}

int
bdev_nbd_open (const char *path, const char *format, bool readonly,
               unsigned nconn, const char *name, struct bdev **ret,
               char **ret_msg)
{
  _cleanup_free_ char *prog = NULL;
  _cleanup_free_ char *abspath = NULL;

  if (!format || !*format)
    return set_errmsg (ret_msg, -EINVAL, "cannot attach %s: no format given",
                       path);
  if (nconn == 0)
    nconn = 1;
  if (nconn > NBD_MAX_CONN)
    nconn = NBD_MAX_CONN;
  if (!find_program (QEMU_NBD_DEFAULT, &prog))
    return set_errmsg (ret_msg, -ENOENT,
                       "cannot attach %s: qemu-nbd not found (install "
                       "qemu-utils)",
                       path);
  /* An absolute path: qemu never mistakes "/..." for a protocol prefix
   * such as "nbd:" or "json:". */
  abspath = realpath (path, NULL);
  if (!abspath) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }

  return nbdnode_start (path, prog, abspath, format, readonly, nconn, name,
                        ret, ret_msg);
}
