/* nguestmount: process lifetime (see daemon.h).
 *
 * Processes:
 *   parent   parses and checks, forks, waits on the status pipe, exits 0
 *            only once the daemon says the mountpoint serves.
 *   daemon   does all the work; reports "ready" or failure through the
 *            status pipe (error messages themselves it prints on the
 *            inherited stderr, before detaching from it).
 *   watchdog a child of the daemon forked before it takes any resource;
 *            it blocks reading a pipe whose write end only the daemon
 *            holds.  A 'd' byte means the daemon tore down cleanly; EOF
 *            without it means the daemon died, and the watchdog lazily
 *            unmounts the user's FUSE mount if it is still ours.
 * Everything else (guest mounts, loop devices, the block export, qemu-nbd)
 * is released by the kernel when the daemon dies: detached mounts, loop
 * autoclear, PR_SET_PDEATHSIG.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon.h"

static int status_fd = -1;      /* daemon side of the status pipe */
static int watchdog_fd = -1;    /* daemon side of the watchdog pipe */
static pid_t watchdog_pid = -1;
static bool keep_stderr;

/* The parent: wait for one status byte.  '0' ready, '1' failed; EOF
 * means the daemon died before it could say. */
static void __attribute__ ((noreturn))
parent_wait (int fd, pid_t child)
{
  char c;
  ssize_t r;
  do
    r = read (fd, &c, 1);
  while (r < 0 && errno == EINTR);
  if (r == 1 && c == '0')
    _exit (EXIT_SUCCESS);
  if (r != 1) {
    int status;
    if (waitpid (child, &status, 0) == child && WIFSIGNALED (status))
      log_error ("the daemon was killed by signal %d before it was ready",
                 WTERMSIG (status));
    else if (r != 1)
      log_error ("the daemon exited before it was ready");
  }
  _exit (EXIT_FAILURE);
}

int
daemon_fork (bool no_fork, bool verbose)
{
  keep_stderr = verbose;
  if (no_fork)
    return 0;

  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -errno;
  /* Flush stdio so the child does not repeat buffered output. */
  fflush (stdout);
  fflush (stderr);
  pid_t pid = fork ();
  if (pid < 0) {
    int e = errno;
    close (p[0]);
    close (p[1]);
    return -e;
  }
  if (pid > 0) {
    close (p[1]);
    parent_wait (p[0], pid);
  }
  close (p[0]);
  status_fd = p[1];
  /* The daemon keeps the caller's session (and so /dev/tty, for LUKS
   * passphrase prompts) until it is ready; daemon_ready detaches. */
  return 0;
}

static void
redirect_stdio (bool keep_err)
{
  int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return;
  dup2 (fd, STDIN_FILENO);
  dup2 (fd, STDOUT_FILENO);
  if (!keep_err)
    dup2 (fd, STDERR_FILENO);
  close (fd);
}

/* Is mountpoint currently a FUSE mount of ours?  Looks for fstype
 * "fuse.nguestmount" at that path in our mountinfo. */
static bool
our_mount_at (const char *mountpoint)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (!f)
    return false;
  char *line = NULL;
  size_t n = 0;
  bool found = false;
  while (getline (&line, &n, f) > 0) {
    /* id parent maj:min root mountpoint options ... - fstype source ... */
    char mp[4096], fstype[256];
    const char *dash = strstr (line, " - ");
    if (!dash || sscanf (line, "%*s %*s %*s %*s %4095s", mp) != 1
        || sscanf (dash + 3, "%255s", fstype) != 1)
      continue;
    /* mountinfo escapes space, tab, newline and backslash as \ooo. */
    char un[4096];
    size_t o = 0;
    for (size_t i = 0; mp[i] && o + 1 < sizeof un; i++) {
      if (mp[i] == '\\' && mp[i + 1] >= '0' && mp[i + 1] <= '7' && mp[i + 2]
          && mp[i + 3]) {
        un[o++] = (char) (((mp[i + 1] - '0') << 6) | ((mp[i + 2] - '0') << 3)
                          | (mp[i + 3] - '0'));
        i += 3;
      }
      else
        un[o++] = mp[i];
    }
    un[o] = '\0';
    if (strcmp (un, mountpoint) == 0 && strcmp (fstype, "fuse.nguestmount") == 0)
      found = true;
  }
  free (line);
  return found;
}

int
daemon_watchdog_start (const char *mountpoint)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -errno;
  pid_t pid = fork ();
  if (pid < 0) {
    int e = errno;
    close (p[0]);
    close (p[1]);
    return -e;
  }
  if (pid == 0) {
    /* Watchdog.  Hold nothing but the read end of its pipe. */
    close (p[1]);
    if (status_fd >= 0)
      close (status_fd);
    redirect_stdio (false);
    signal (SIGINT, SIG_IGN);
    signal (SIGTERM, SIG_IGN);
    signal (SIGHUP, SIG_IGN);
    prctl (PR_SET_NAME, "ngm-watchdog");
    char c = 0;
    ssize_t r;
    do
      r = read (p[0], &c, 1);
    while (r < 0 && errno == EINTR);
    if (r == 1 && c == 'd')
      _exit (EXIT_SUCCESS);
    /* The daemon died: release the user's mountpoint if it is still ours. */
    if (our_mount_at (mountpoint))
      umount2 (mountpoint, MNT_DETACH);
    _exit (EXIT_SUCCESS);
  }
  close (p[0]);
  watchdog_fd = p[1];
  watchdog_pid = pid;
  return 0;
}

void
daemon_watchdog_disarm (void)
{
  if (watchdog_fd >= 0) {
    ssize_t r = write (watchdog_fd, "d", 1);
    (void) r;
    close (watchdog_fd);
    watchdog_fd = -1;
  }
  if (watchdog_pid > 0) {
    while (waitpid (watchdog_pid, NULL, 0) < 0 && errno == EINTR)
      ;
    watchdog_pid = -1;
  }
}

void
daemon_ready (const char *errmsg)
{
  if (errmsg)
    log_error ("%s", errmsg);
  if (status_fd < 0)
    return;
  /* Let go of the caller's terminal or pipe before the parent exits, so
   * `x=$(nguestmount ...)` does not wait for the daemon. */
  if (!errmsg) {
    redirect_stdio (keep_stderr);
    if (setsid () < 0)
      log_debug (LOG_CAT_MAIN, "setsid: %m");
  }
  ssize_t r = write (status_fd, errmsg ? "1" : "0", 1);
  (void) r;
  close (status_fd);
  status_fd = -1;
}
