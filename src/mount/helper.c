/* nguestmount: filesystems mounted by a userspace (FUSE) driver.
 *
 * See helper.h.  The child's life:
 *
 *   fork (main thread) → PR_SET_PDEATHSIG(SIGKILL) → unshare(CLONE_NEWNS)
 *   → mount --make-rprivate / → tmpfs on /tmp (this namespace only)
 *   → mkdir /tmp/fs → stdin /dev/null, stdout+stderr a memfd
 *   → every other fd closed → execve driver (foreground) SOURCE /tmp/fs
 *
 * A close-on-exec pipe tells the parent that execve happened (EOF) or
 * why it failed (an errno).  The parent then waits for the driver's mount
 * to appear: /proc/<pid>/root/tmp/fs changes st_dev from the tmpfs's to the
 * FUSE mount's.  statx with AT_STATX_DONT_SYNC looks at it without sending
 * a FUSE request, so a driver that hangs cannot hang the daemon.
 *
 * Never "fuseblk": ntfs-3g makes a fuseblk mount when it is root, the
 * source is a block device and /proc/filesystems lists fuseblk.  The
 * kernel tears a fuseblk superblock down with a FUSE_DESTROY request and
 * waits for the answer.  When the driver is killed (kill -9 of the daemon
 * sends it SIGKILL through PR_SET_PDEATHSIG) it is the last process of its
 * mount namespace, so its own exit unmounts the filesystem and waits, in
 * D state and for ever, for an answer only it could give (seen here with
 * ntfs-3g 2022.10.3 on Linux 6.18).  A plain "fuse" superblock sends no
 * DESTROY, so the child shows the driver a /proc/filesystems (bound over
 * the real one, in its namespace only) that lists "fuse" and not
 * "fuseblk".  The drivers on libfuse 2 make fuseblk mounts only when asked
 * ("-o blkdev"), which they never are.
 *
 * No fd of the daemon reaches the driver: holding, say, the /dev/fuse fd
 * of the block export would keep that connection alive after the daemon
 * died, and a driver reading its disk through it would wait forever.
 *
 * Thread model: helper_mount and helper_stop_all run on the main thread
 * only (PR_SET_PDEATHSIG follows the thread that forked).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "mount/helper.h"

/* Where the driver mounts, inside its own namespace. */
#define HELPER_TMPFS "/tmp"
#define HELPER_DIR "/tmp/fs"

#define HELPER_READY_TIMEOUT_MS 10000
#define HELPER_STOP_TIMEOUT_MS 3000
#define HELPER_STDERR_MAX 4096

enum driver_style {
  STYLE_NTFS3G,    /* ntfs-3g -o OPTS,no_detach SOURCE DIR */
  STYLE_FUSE2_F,   /* prog -f -o OPTS SOURCE DIR (libfuse 2 command line) */
  STYLE_EXFAT,     /* mount.exfat-fuse -d -o OPTS SOURCE DIR */
};

struct driver {
  const char *fstype;     /* libblkid TYPE */
  const char *program;
  const char *package;    /* Debian package that has it */
  enum driver_style style;
};

static const struct driver drivers[] = {
  { "ntfs", "ntfs-3g", "ntfs-3g", STYLE_NTFS3G },
  { "vfat", "fusefat", "fusefat", STYLE_FUSE2_F },
  { "msdos", "fusefat", "fusefat", STYLE_FUSE2_F },
  { "exfat", "mount.exfat-fuse", "exfat-fuse", STYLE_EXFAT },
};

struct helper {
  pid_t pid;
  int pidfd;              /* -1 if pidfd_open failed */
  char *what;             /* "ntfs-3g on /dev/loop3", for debug */
  struct helper *next;
};

static struct helper *helpers;

static const struct driver *
find_driver (const char *fstype)
{
  if (!fstype)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE (drivers); i++)
    if (strcmp (drivers[i].fstype, fstype) == 0)
      return &drivers[i];
  return NULL;
}

bool
helper_fstype_supported (const char *fstype)
{
  return find_driver (fstype) != NULL;
}

unsigned
helper_count (void)
{
  unsigned n = 0;
  for (struct helper *h = helpers; h; h = h->next)
    n++;
  return n;
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pid to exit for at most timeout_ms (0: do not wait); returns
 * true once it has exited and was reaped (*ret_status set). */
static bool
reap_within (pid_t pid, int pidfd, int timeout_ms, int *ret_status)
{
  int status = 0;
  int64_t end = now_ms () + timeout_ms;

  for (;;) {
    pid_t w = waitpid (pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno == ECHILD)) {
      if (ret_status)
        *ret_status = w == pid ? status : 0;
      return true;
    }
    int64_t left = end - now_ms ();
    if (left <= 0)
      return false;
    if (pidfd >= 0) {
      struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
      if (poll (&pfd, 1, (int) left) < 0 && errno != EINTR)
        usleep (10000);
    }
    else
      usleep (10000);
  }
}

static void
kill_and_reap (pid_t pid, int pidfd, int term_timeout_ms)
{
  if (term_timeout_ms > 0) {
    kill (pid, SIGTERM);
    if (reap_within (pid, pidfd, term_timeout_ms, NULL))
      return;
    log_debug (LOG_CAT_MOUNT, "helper %d ignored SIGTERM, killing it",
               (int) pid);
  }
  kill (pid, SIGKILL);
  int status;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
}

/* The driver's stderr as one printable line: the first line that starts
 * with "<program>: " (how ntfs-3g and fusefat state their reason, before a
 * banner), else the last non-empty line that is not libfuse debug
 * chatter.  NULL if none. */
static char *
driver_message (int memfd, const char *program)
{
  char buf[HELPER_STDERR_MAX + 1];
  ssize_t n;
  struct stat st;

  if (fstat (memfd, &st) < 0)
    return NULL;
  /* The end of the output is where a driver explains why it gave up. */
  off_t off = st.st_size > HELPER_STDERR_MAX ? st.st_size - HELPER_STDERR_MAX
                                             : 0;
  do
    n = pread (memfd, buf, HELPER_STDERR_MAX, off);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';

  char *best = NULL;
  char *save = NULL;
  for (char *line = strtok_r (buf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    strstrip (line);
    if (!*line)
      continue;
    /* libfuse debug lines ("unique: 1, opcode: INIT ...", "   INIT: 7.x"). */
    if (str_has_prefix (line, "unique:") || str_has_prefix (line, "INIT:")
        || str_has_prefix (line, "flags=") || str_has_prefix (line, "max_")
        || str_has_prefix (line, "FUSE library version")
        || str_has_prefix (line, "FUSE exfat") || str_has_prefix (line, "Version "))
      continue;
    size_t pl = strlen (program);
    if (strncmp (line, program, pl) == 0 && line[pl] == ':') {
      line += pl + 1;
      strstrip (line);
      if (*line)
        return sanitize_string (line, 1024);
    }
    best = line;
  }
  return best ? sanitize_string (best, 1024) : NULL;
}

/* In the child, after fork: only async-signal-safe calls from here on
 * (the daemon may be multi-threaded).  Reports failure as an errno on
 * errpipe.  Never returns. */
static void __attribute__ ((noreturn))
child_run (pid_t parent, const char *prog, char **argv, char **envp,
           int nullfd, int outfd, int errpipe)
{
  sigset_t all;
  int e;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (126);

  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  signal (SIGPIPE, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  signal (SIGHUP, SIG_DFL);

  if (unshare (CLONE_NEWNS) < 0)
    goto fail;
  /* Nothing mounted from here on may propagate back to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    goto fail;
  if (mount ("ngm-helper", HELPER_TMPFS, "tmpfs",
             MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k") < 0)
    goto fail;
  if (mkdir (HELPER_DIR, 0700) < 0)
    goto fail;
  /* "fuse" without "fuseblk" (see the top of the file). */
  static const char fs_list[] = "nodev\tfuse\n";
  int ff = open (HELPER_TMPFS "/filesystems",
                 O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (ff < 0)
    goto fail;
  if (write (ff, fs_list, sizeof fs_list - 1) != (ssize_t) (sizeof fs_list - 1)) {
    close (ff);
    goto fail;
  }
  close (ff);
  if (mount (HELPER_TMPFS "/filesystems", "/proc/filesystems", NULL, MS_BIND,
             NULL) < 0)
    goto fail;

  /* Move the fds we keep above the targets first (0-2 may be closed in
   * the daemon, so an fd we keep could be one of them). */
  int nl = fcntl (nullfd, F_DUPFD, 10);
  int out = fcntl (outfd, F_DUPFD, 10);
  int ep = fcntl (errpipe, F_DUPFD_CLOEXEC, 10);
  if (nl < 0 || out < 0 || ep < 0)
    goto fail;
  errpipe = ep;
  if (dup2 (nl, 0) < 0 || dup2 (out, 1) < 0 || dup2 (out, 2) < 0)
    goto fail;
  /* Everything else is closed at execve (the pipe included, which is
   * how the parent learns that execve succeeded). */
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = 3; fd < 65536; fd++)
      if (fd != errpipe)
        close (fd);
  }

  execve (prog, argv, envp);

fail:
  e = errno;
  ssize_t ignored = write (errpipe, &e, sizeof e);
  (void) ignored;
  _exit (127);
}

static void
build_argv (const struct driver *d, const char *prog, const char *source,
            const char *opts, struct strv *argv)
{
  strv_push (argv, xstrdup (prog));
  switch (d->style) {
  case STYLE_NTFS3G:
    strv_push (argv, xstrdup ("-o"));
    strv_push (argv, xasprintf ("%s,no_detach", opts));
    break;
  case STYLE_FUSE2_F:
    strv_push (argv, xstrdup ("-f"));
    strv_push (argv, xstrdup ("-o"));
    strv_push (argv, xstrdup (opts));
    break;
  case STYLE_EXFAT:
    /* -d is its only way to stay in the foreground. */
    strv_push (argv, xstrdup ("-d"));
    strv_push (argv, xstrdup ("-o"));
    strv_push (argv, xstrdup (opts));
    break;
  }
  strv_push (argv, xstrdup (source));
  strv_push (argv, xstrdup (HELPER_DIR));
}

/* Wait until the driver serves its mount.  Returns 0, -ETIMEDOUT, or
 * -ECHILD when the driver exited (*ret_status set, child reaped). */
static int
wait_ready (pid_t pid, int pidfd, int *ret_status)
{
  _cleanup_free_ char *dir = xasprintf ("/proc/%d/root" HELPER_DIR, (int) pid);
  _cleanup_free_ char *tmpfs = xasprintf ("/proc/%d/root" HELPER_TMPFS,
                                          (int) pid);
  struct statx base, cur;
  int64_t end = now_ms () + HELPER_READY_TIMEOUT_MS;
  int delay_ms = 2;

  /* The tmpfs is in place (execve happened after it was mounted). */
  if (statx (AT_FDCWD, tmpfs, AT_STATX_DONT_SYNC, STATX_TYPE, &base) < 0) {
    int e = -errno;
    /* Gone already (its /proc/<pid>/root with it)? */
    if (reap_within (pid, pidfd, 1000, ret_status))
      return -ECHILD;
    return e;
  }
  for (;;) {
    if (statx (AT_FDCWD, dir, AT_STATX_DONT_SYNC, STATX_TYPE, &cur) == 0
        && (cur.stx_dev_major != base.stx_dev_major
            || cur.stx_dev_minor != base.stx_dev_minor))
      return 0;
    if (reap_within (pid, pidfd, 0, ret_status))
      return -ECHILD;
    if (now_ms () >= end)
      return -ETIMEDOUT;
    usleep ((useconds_t) delay_ms * 1000);
    if (delay_ms < 50)
      delay_ms *= 2;
  }
}

int
helper_mount (const char *source, const char *fstype, bool readonly,
              int *ret_rootfd, char **ret_used, char **ret_msg)
{
  const struct driver *d = find_driver (fstype);
  _cleanup_free_ char *prog = NULL, *root = NULL, *opts = NULL;
  _cleanup_close_ int nullfd = -1, outfd = -1, pidfd = -1;
  int pipefd[2] = { -1, -1 };
  struct strv argv = { 0 };
  int r;

  if (!d)
    return set_errmsg (ret_msg, -EPROTONOSUPPORT,
                       "no userspace driver for %s filesystems",
                       fstype ? fstype : "unknown");
  if (!find_program (d->program, &prog))
    return set_errmsg (ret_msg, -ENOENT,
                       "%s not found (install %s to mount %s filesystems)",
                       d->program, d->package, fstype);

  /* The options the driver gets: nosuid,nodev always; a guest cannot
   * choose anything here. */
  if (!readonly && d->style == STYLE_FUSE2_F)
    opts = xstrdup ("rw+,nosuid,nodev");   /* fusefat: ro unless rw+ */
  else
    opts = xasprintf ("%s,nosuid,nodev", readonly ? "ro" : "rw");
  build_argv (d, prog, source, opts, &argv);
  char *envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                   (char *) "LC_ALL=C", NULL };

  nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (nullfd < 0) {
    r = set_errmsg (ret_msg, -errno, "cannot open /dev/null: %m");
    goto out;
  }
  outfd = memfd_create ("ngm-helper-stderr", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (outfd < 0) {
    r = set_errmsg (ret_msg, -errno, "memfd_create: %m");
    goto out;
  }
  if (pipe2 (pipefd, O_CLOEXEC) < 0) {
    r = set_errmsg (ret_msg, -errno, "pipe: %m");
    goto out;
  }

  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0) {
    r = set_errmsg (ret_msg, -errno, "fork: %m");
    goto out;
  }
  if (pid == 0)
    child_run (parent, prog, argv.v, envp, nullfd, outfd, pipefd[1]);

  close (pipefd[1]);
  pipefd[1] = -1;
  pidfd = pidfd_open (pid, 0);

  /* execve happened (EOF) or the child says why not. */
  int child_errno = 0;
  ssize_t n;
  do
    n = read (pipefd[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t) sizeof child_errno) {
    kill_and_reap (pid, pidfd, 0);
    r = set_errmsg (ret_msg, -child_errno, "cannot start %s: %s", d->program,
                    strerror (child_errno));
    goto out;
  }

  int status = 0;
  r = wait_ready (pid, pidfd, &status);
  if (r < 0) {
    _cleanup_free_ char *why = driver_message (outfd, d->program);
    if (r == -ECHILD) {
      r = -EIO;
      if (why)
        set_errmsg (ret_msg, r, "%s: %s", d->program, why);
      else if (WIFSIGNALED (status))
        set_errmsg (ret_msg, r, "%s was killed by signal %d", d->program,
                    WTERMSIG (status));
      else
        set_errmsg (ret_msg, r, "%s exited with status %d", d->program,
                    WEXITSTATUS (status));
    }
    else {
      kill_and_reap (pid, pidfd, HELPER_STOP_TIMEOUT_MS);
      if (r == -ETIMEDOUT)
        set_errmsg (ret_msg, r, "%s did not mount %s within %d s%s%s",
                    d->program, source, HELPER_READY_TIMEOUT_MS / 1000,
                    why ? ": " : "", why ? why : "");
      else
        set_errmsg (ret_msg, r, "cannot watch %s: %s", d->program,
                    strerror (-r));
    }
    goto out;
  }

  /* Ready.  From now on the driver's stderr is not read: stop it from
   * growing (a chatty driver then gets EPERM on write, which it ignores). */
  if (fcntl (outfd, F_ADD_SEALS, F_SEAL_GROW) < 0)
    log_debug (LOG_CAT_MOUNT, "cannot seal the stderr of %s: %m", d->program);

  root = xasprintf ("/proc/%d/root" HELPER_DIR, (int) pid);
  int fd = open (root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    r = set_errmsg (ret_msg, -errno, "cannot open the %s mount: %m",
                    d->program);
    kill_and_reap (pid, pidfd, HELPER_STOP_TIMEOUT_MS);
    goto out;
  }

  struct helper *h = xcalloc (1, sizeof *h);
  h->pid = pid;
  h->pidfd = TAKE_FD (pidfd);
  h->what = xasprintf ("%s on %s", d->program, source);
  h->next = helpers;
  helpers = h;
  log_debug (LOG_CAT_MOUNT, "%s (pid %d) serves %s with %s", d->program,
             (int) pid, source, opts);

  *ret_rootfd = fd;
  if (ret_used)
    *ret_used = TAKE_PTR (opts);
  r = 0;

out:
  if (pipefd[0] >= 0)
    close (pipefd[0]);
  if (pipefd[1] >= 0)
    close (pipefd[1]);
  strv_clear (&argv);
  return r;
}

void
helper_stop_all (void)
{
  while (helpers) {
    struct helper *h = helpers;
    helpers = h->next;
    log_debug (LOG_CAT_MOUNT, "stopping %s (pid %d)", h->what, (int) h->pid);
    kill_and_reap (h->pid, h->pidfd, HELPER_STOP_TIMEOUT_MS);
    if (h->pidfd >= 0)
      close (h->pidfd);
    free (h->what);
    free (h);
  }
}
