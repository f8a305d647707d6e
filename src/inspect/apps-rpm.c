/* nguestmount: the rpm database, read with librpm.
 *
 * The database files are a private copy of the guest's (apps.c), so librpm
 * never opens a guest or host database in place.  librpm runs in a child
 * process: a hostile database that crashes or hangs sqlite, ndb or the
 * BerkeleyDB reader only costs the child, the macro changes (_dbpath,
 * _db_backend) never touch this process's librpm state, and the child is
 * killed after RPM_CHILD_TIMEOUT seconds, or once it has written nothing
 * for RPM_CHILD_IDLE seconds (bdb_ro loops for ever on an overflow page
 * that names itself as the next one; reading a header never takes long:
 * the copy is at most APPS_DB_MAX bytes).
 *
 * The child writes one record per header: RPM_NFIELDS strings, each ended
 * by a NUL (header strings cannot contain one); the parent reads at most
 * APPS_BYTES_MAX bytes and APPS_MAX records, and cleans every field.
 *
 * A damaged database does not always make the iterator fail: bdb_ro and
 * sqlite end the iteration early and only say so through rpmlog at error
 * level.  The child counts those messages and then exits with
 * CHILD_DAMAGED, so the packages read so far are kept and the caller still
 * gets an error to warn about.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "inspect/apps.h"

#define RPM_CHILD_TIMEOUT 120   /* seconds, in all */
#define RPM_CHILD_IDLE 15       /* seconds without a byte of output */

/* Exit codes of the child besides 0. */
enum { CHILD_CONFIG = 2, CHILD_TS, CHILD_OPEN, CHILD_ITERATE, CHILD_WRITE,
       CHILD_DAMAGED };

enum { F_NAME, F_EPOCH, F_VERSION, F_RELEASE, F_ARCH, F_URL, F_SUMMARY,
       F_DESCRIPTION, RPM_NFIELDS };

/* ---------------------------------------------------------------------- */
/* Child. */

static unsigned rpm_errors;   /* rpmlog messages at error level or worse */

static int
rpm_log_quiet (rpmlogRec rec, rpmlogCallbackData data)
{
  if (rpmlogRecPriority (rec) <= RPMLOG_ERR)
    rpm_errors++;
  return 0;   /* handled: nothing reaches stderr */
}

static int
write_all (int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write (fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t) w;
  }
  return 0;
}

/* Write the records; returns the exit status for the child. */
static int
child_list (int out, const char *dbdir, const char *backend)
{
  rpmlogSetCallback (rpm_log_quiet, NULL);
  if (rpmReadConfigFiles (NULL, NULL) != 0)
    return CHILD_CONFIG;
  rpmPushMacro (NULL, "_dbpath", NULL, dbdir, RMIL_CMDLINE);
  rpmPushMacro (NULL, "_db_backend", NULL, backend, RMIL_CMDLINE);

  rpmts ts = rpmtsCreate ();
  if (!ts)
    return CHILD_TS;
  rpmtsSetRootDir (ts, "/");
  rpmtsSetVSFlags (ts, RPMVSF_MASK_NODIGESTS | RPMVSF_MASK_NOSIGNATURES
                           | RPMVSF_NOHDRCHK);
  if (rpmtsOpenDB (ts, O_RDONLY) != 0) {
    rpmtsFree (ts);
    return CHILD_OPEN;
  }
  rpmdbMatchIterator mi = rpmtsInitIterator (ts, RPMDBI_PACKAGES, NULL, 0);
  if (!mi) {
    rpmtsFree (ts);
    return CHILD_ITERATE;
  }
  Header h;
  int status = 0;
  while ((h = rpmdbNextIterator (mi)) != NULL) {
    char epoch[16] = "";
    if (headerIsEntry (h, RPMTAG_EPOCH))
      snprintf (epoch, sizeof epoch, "%llu",
                (unsigned long long) headerGetNumber (h, RPMTAG_EPOCH));
    const char *f[RPM_NFIELDS] = {
      [F_NAME] = headerGetString (h, RPMTAG_NAME),
      [F_EPOCH] = epoch,
      [F_VERSION] = headerGetString (h, RPMTAG_VERSION),
      [F_RELEASE] = headerGetString (h, RPMTAG_RELEASE),
      [F_ARCH] = headerGetString (h, RPMTAG_ARCH),
      [F_URL] = headerGetString (h, RPMTAG_URL),
      [F_SUMMARY] = headerGetString (h, RPMTAG_SUMMARY),
      [F_DESCRIPTION] = headerGetString (h, RPMTAG_DESCRIPTION),
    };
    for (size_t i = 0; i < RPM_NFIELDS && status == 0; i++) {
      const char *v = f[i] ? f[i] : "";
      if (write_all (out, v, strlen (v) + 1) < 0)
        status = CHILD_WRITE;
    }
    if (status)
      break;
  }
  rpmdbFreeIterator (mi);
  rpmtsFree (ts);
  if (status == 0 && rpm_errors > 0)
    status = CHILD_DAMAGED;
  return status;
}

/* ---------------------------------------------------------------------- */
/* Parent. */

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
child_error (int code)
{
  switch (code) {
  case CHILD_CONFIG: return "librpm cannot read its configuration";
  case CHILD_TS: return "librpm cannot create a transaction set";
  case CHILD_OPEN: return "librpm cannot open the database";
  case CHILD_ITERATE: return "librpm cannot iterate the database";
  case CHILD_WRITE: return "the listing was cut short";
  default: return "librpm failed";
  }
}

static void
parse_records (const char *buf, size_t len, struct apps_list *l)
{
  const char *f[RPM_NFIELDS];
  size_t k = 0;
  const char *p = buf, *end = buf + len;
  while (p < end) {
    const char *nul = memchr (p, '\0', (size_t) (end - p));
    if (!nul)
      break;   /* an unfinished record */
    f[k++] = p;
    p = nul + 1;
    if (k < RPM_NFIELDS)
      continue;
    k = 0;
    struct inspect_app a = { 0 };
    int epoch = 0;
    if (*f[F_EPOCH]) {
      char *e;
      errno = 0;
      long v = strtol (f[F_EPOCH], &e, 10);
      epoch = (errno || *e || v < 0 || v > INT32_MAX) ? -1 : (int) v;
    }
    if (!*f[F_NAME] || epoch < 0) {
      l->invalid++;
      continue;
    }
    a.name = sanitize_string (f[F_NAME], APPS_FIELD_MAX);
    a.epoch = epoch;
#define S(field, idx)                                                      \
    a.field = *f[idx] ? sanitize_string (f[idx], APPS_FIELD_MAX) : NULL
    S (version, F_VERSION);
    S (release, F_RELEASE);
    S (arch, F_ARCH);
    S (url, F_URL);
    S (summary, F_SUMMARY);
#undef S
    if (*f[F_DESCRIPTION]) {
      /* Keep the newlines of the description, clean each line. */
      size_t n = strnlen (f[F_DESCRIPTION], APPS_FIELD_MAX);
      _cleanup_free_ char *d = strndup (f[F_DESCRIPTION], n);
      if (!d)
        abort ();
      char *out = xcalloc (n + 1, 1);
      size_t o = 0;
      char *save = NULL;
      for (char *t = strtok_r (d, "\n", &save); t;
           t = strtok_r (NULL, "\n", &save)) {
        _cleanup_free_ char *c = sanitize_string (t, n);
        if (o)
          out[o++] = '\n';
        memcpy (out + o, c, strlen (c));
        o += strlen (c);
      }
      a.description = out;
    }
    if (!apps_list_add (l, &a))
      break;
  }
}

int
apps_rpm_read_db (const char *dbdir, const char *backend, struct apps_list *l,
                  char **ret_msg)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return set_errmsg (ret_msg, -errno, "pipe: %s", strerror (errno));
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0) {
    int e = errno;
    close (p[0]);
    close (p[1]);
    return set_errmsg (ret_msg, -e, "fork: %s", strerror (e));
  }
  if (pid == 0) {
    close (p[0]);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    int nul = open ("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2 (nul, STDIN_FILENO);
      dup2 (nul, STDERR_FILENO);
    }
    _exit (child_list (p[1], dbdir, backend));
  }
  close (p[1]);
  _cleanup_close_ int in = p[0];

  size_t cap = 1 << 20, len = 0;
  _cleanup_free_ char *buf = xcalloc (cap, 1);
  const int64_t start = now_ms ();
  int64_t last = start;   /* when the child last wrote */
  enum { END_EOF, END_TIMEOUT, END_IDLE, END_TOO_BIG, END_ERROR } end;
  int read_err = 0;
  for (;;) {
    int64_t t = now_ms ();
    int64_t left = start + RPM_CHILD_TIMEOUT * 1000 - t;
    int64_t idle_left = last + RPM_CHILD_IDLE * 1000 - t;
    if (left <= 0) {
      end = END_TIMEOUT;
      break;
    }
    if (idle_left <= 0) {
      end = END_IDLE;
      break;
    }
    struct pollfd pfd = { .fd = in, .events = POLLIN };
    int pr = poll (&pfd, 1, (int) (left < idle_left ? left : idle_left));
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr < 0) {
      read_err = errno;
      end = END_ERROR;
      break;
    }
    if (pr == 0)
      continue;   /* the limits are checked above */
    if (len == cap) {
      if (cap >= APPS_BYTES_MAX) {
        end = END_TOO_BIG;
        break;
      }
      cap *= 2;
      buf = xrealloc_array (buf, cap, 1);
    }
    ssize_t r = read (in, buf + len, cap - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      read_err = errno;
      end = END_ERROR;
      break;
    }
    if (r == 0) {
      end = END_EOF;
      break;
    }
    len += (size_t) r;
    last = now_ms ();
  }
  if (end != END_EOF)
    kill (pid, SIGKILL);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;

  if (end == END_ERROR)
    return set_errmsg (ret_msg, -read_err, "reading from librpm: %s",
                       strerror (read_err));
  if (end == END_TIMEOUT || end == END_IDLE) {
    /* Keep what was listed before librpm got stuck. */
    size_t before = l->n;
    parse_records (buf, len, l);
    if (end == END_TIMEOUT)
      return set_errmsg (ret_msg, -ETIMEDOUT,
                         "librpm did not finish within %d seconds "
                         "(%zu packages read)",
                         RPM_CHILD_TIMEOUT, l->n - before);
    return set_errmsg (ret_msg, -ETIMEDOUT,
                       "librpm made no progress for %d seconds "
                       "(%zu packages read)",
                       RPM_CHILD_IDLE, l->n - before);
  }
  bool too_big = end == END_TOO_BIG;
  if (!too_big && WIFSIGNALED (status))
    return set_errmsg (ret_msg, -EIO, "librpm crashed (signal %d)",
                       WTERMSIG (status));
  int code = !too_big && WIFEXITED (status) ? WEXITSTATUS (status) : 0;
  if (code != 0 && code != CHILD_WRITE && code != CHILD_DAMAGED)
    return set_errmsg (ret_msg, -EIO, "%s", child_error (code));
  size_t before = l->n;
  parse_records (buf, len, l);
  if (too_big)
    l->truncated = true;
  log_debug (LOG_CAT_INSPECT, "rpm (%s): %zu bytes of records, %zu applications%s",
             backend, len, l->n - before,
             code == CHILD_DAMAGED ? ", librpm reported errors" : "");
  if (code == CHILD_DAMAGED)
    return set_errmsg (ret_msg, -EIO,
                       "librpm found it damaged (%zu packages read before that)",
                       l->n - before);
  return 0;
}
