/* nguestmount: LUKS keys from --key, --keys-from-stdin and the terminal
 * (see keys.h).
 *
 * Thread model: a key_store belongs to one thread (the one discovering
 * the stack).  The terminal prompt installs process-wide signal handlers
 * for its duration only, so run it from one thread at a time.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "keys.h"

/* ---- secret strings --------------------------------------------------- */

/* A candidate is allocated with its length in front of it, so it can hold
 * any bytes and be wiped completely. */
struct secret_hdr {
  size_t len;
};

static char *
secret_new (const void *data, size_t len)
{
  struct secret_hdr *h = malloc (sizeof *h + len + 1);
  if (!h)
    abort ();
  h->len = len;
  char *s = (char *)(h + 1);
  if (len)
    memcpy (s, data, len);
  s[len] = '\0';
  return s;
}

static void
secret_free (char *s)
{
  if (!s)
    return;
  struct secret_hdr *h = (struct secret_hdr *)s - 1;
  explicit_bzero (h, sizeof *h + h->len + 1);
  free (h);
}

size_t
keys_candidate_len (const char *c)
{
  if (!c)
    return 0;
  return ((const struct secret_hdr *)c - 1)->len;
}

static void
wipe_str_free (char *s)
{
  if (s) {
    explicit_bzero (s, strlen (s));
    free (s);
  }
}

/* ---- selectors --------------------------------------------------------- */

void
key_spec_clear (struct key_spec *ks)
{
  if (!ks)
    return;
  free (ks->id);
  wipe_str_free (ks->value);
  memset (ks, 0, sizeof *ks);
}

int
keys_parse_selector (const char *arg, struct key_spec *ret, char **ret_msg)
{
  static const char usage[]
      = "expected ID:key:PASSPHRASE or ID:file:FILENAME, where ID is a device "
        "name, a LUKS UUID or 'all'";

  if (!arg || !*arg)
    return set_errmsg (ret_msg, -EINVAL, "empty --key selector (%s)", usage);

  const char *c1 = strchr (arg, ':');
  if (!c1)
    return set_errmsg (ret_msg, -EINVAL,
                       "invalid --key selector: no ':' "
                       "in it (%s)",
                       usage);
  if (c1 == arg)
    return set_errmsg (ret_msg, -EINVAL,
                       "invalid --key selector: the ID "
                       "before the first ':' is empty (%s)",
                       usage);

  const char *type = c1 + 1;
  const char *c2 = strchr (type, ':');
  size_t type_len = c2 ? (size_t)(c2 - type) : strlen (type);
  _cleanup_free_ char *id = strndup (arg, (size_t)(c1 - arg));
  if (!id)
    abort ();

  if (!c2 && strcmp (type, "clevis") == 0)
    return set_errmsg (ret_msg, -ENOTSUP,
                       "--key %s:clevis: Clevis (network "
                       "bound) keys are not supported",
                       id);
  if (!c2 || (type_len == 3 && strncmp (type, "key", 3) != 0)
      || (type_len == 4 && strncmp (type, "file", 4) != 0)
      || (type_len != 3 && type_len != 4))
    /* Do not echo anything: with a typo the "ID" may be the passphrase. */
    return set_errmsg (ret_msg, -EINVAL,
                       "invalid --key selector: the part "
                       "after the first ':' must be 'key:' or 'file:' (%s)",
                       usage);

  bool is_file = type_len == 4;
  const char *value = c2 + 1;
  if (!*value)
    return set_errmsg (ret_msg, -EINVAL, "--key %s:%s: the %s is empty", id,
                       is_file ? "file" : "key",
                       is_file ? "file name" : "passphrase");

  ret->id = TAKE_PTR (id);
  ret->is_file = is_file;
  ret->value = xstrdup (value);
  return 0;
}

void
keys_add (struct key_store *ks, struct key_spec *spec)
{
  ks->specs = xrealloc_array (ks->specs, ks->n + 1, sizeof *ks->specs);
  ks->specs[ks->n++] = *spec;
  memset (spec, 0, sizeof *spec);
}

/* ---- stdin ------------------------------------------------------------- */

int
keys_read_stdin (struct key_store *ks, FILE *in)
{
  char *line = malloc (KEYS_MAX_LINE);
  char **keys = NULL;
  size_t n_keys = 0, len = 0;
  bool too_long = false;
  int r = 0;

  if (!line)
    return -ENOMEM;
  for (;;) {
    int c = fgetc (in);
    if (c == EOF || c == '\n') {
      if (too_long) {
        r = -E2BIG;
        break;
      }
      if (len > 0) {
        if (n_keys >= KEYS_MAX_STDIN) {
          r = -E2BIG;
          break;
        }
        keys = xrealloc_array (keys, n_keys + 1, sizeof *keys);
        keys[n_keys++] = secret_new (line, len);
      }
      len = 0;
      if (c == EOF)
        break;
      continue;
    }
    if (len >= KEYS_MAX_LINE)
      too_long = true;
    else
      line[len++] = (char)c;
  }
  if (r == 0 && ferror (in))
    r = -EIO;
  explicit_bzero (line, KEYS_MAX_LINE);
  free (line);

  if (r < 0) {
    for (size_t i = 0; i < n_keys; i++)
      secret_free (keys[i]);
    free (keys);
    return r;
  }
  ks->stdin_keys = xrealloc_array (ks->stdin_keys, ks->n_stdin + n_keys + 1,
                                   sizeof *ks->stdin_keys);
  for (size_t i = 0; i < n_keys; i++)
    ks->stdin_keys[ks->n_stdin++] = keys[i];
  ks->stdin_keys[ks->n_stdin] = NULL;
  free (keys);
  ks->from_stdin_done = true;
  log_debug (LOG_CAT_MAIN, "read %zu key(s) from stdin", n_keys);
  return 0;
}

/* ---- the terminal prompt ----------------------------------------------- */

static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static struct sigaction prompt_old[ARRAY_SIZE (prompt_signals)];
static struct termios prompt_saved;
static volatile sig_atomic_t prompt_fd = -1;
static volatile sig_atomic_t prompt_echo_off;

static void
prompt_restore (void)
{
  if (prompt_fd >= 0 && prompt_echo_off) {
    tcsetattr (prompt_fd, TCSAFLUSH, &prompt_saved);
    prompt_echo_off = 0;
  }
}

static void
prompt_on_signal (int sig)
{
  int saved = errno;
  prompt_restore ();
  /* Hand the signal to whoever had it before: restore that disposition
   * and raise again (delivered when this handler returns). */
  for (size_t i = 0; i < ARRAY_SIZE (prompt_signals); i++)
    if (prompt_signals[i] == sig)
      sigaction (sig, &prompt_old[i], NULL);
  raise (sig);
  errno = saved;
}

static int
prompt_tty (const char *device, const char *uuid, bool echo, char **ret)
{
  _cleanup_close_ int fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return -errno;

  _cleanup_free_ char *prompt
      = uuid && *uuid ? xasprintf ("Enter key for %s (%s): ", device, uuid)
                      : xasprintf ("Enter key for %s: ", device);
  size_t plen = strlen (prompt);
  if (write (fd, prompt, plen) != (ssize_t)plen)
    return -EIO;

  struct sigaction sa = { 0 };
  sa.sa_handler = prompt_on_signal;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: read returns EINTR */

  if (!echo) {
    struct termios t;
    if (tcgetattr (fd, &t) < 0)
      return -errno;
    prompt_saved = t;
    prompt_fd = fd;
    for (size_t i = 0; i < ARRAY_SIZE (prompt_signals); i++)
      sigaction (prompt_signals[i], &sa, &prompt_old[i]);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    t.c_lflag |= ECHONL;
    prompt_echo_off = 1;
    if (tcsetattr (fd, TCSAFLUSH, &t) < 0) {
      int e = -errno;
      prompt_echo_off = 0;
      for (size_t i = 0; i < ARRAY_SIZE (prompt_signals); i++)
        sigaction (prompt_signals[i], &prompt_old[i], NULL);
      prompt_fd = -1;
      return e;
    }
  }

  char *buf = malloc (KEYS_MAX_LINE);
  size_t len = 0;
  bool too_long = false;
  int r = 0;
  if (!buf)
    r = -ENOMEM;
  while (r == 0) {
    char c;
    ssize_t n = read (fd, &c, 1);
    if (n < 0) {
      r = -errno; /* EINTR: a signal; give up */
      break;
    }
    if (n == 0 || c == '\n')
      break;
    if (len >= KEYS_MAX_LINE)
      too_long = true;
    else
      buf[len++] = c;
  }

  if (!echo) {
    prompt_restore ();
    for (size_t i = 0; i < ARRAY_SIZE (prompt_signals); i++)
      sigaction (prompt_signals[i], &prompt_old[i], NULL);
    prompt_fd = -1;
  }
  if (r == 0 && too_long)
    r = -E2BIG;
  if (r == 0)
    *ret = secret_new (buf, len);
  if (buf) {
    explicit_bzero (buf, KEYS_MAX_LINE);
    free (buf);
  }
  return r;
}

/* ---- candidates ------------------------------------------------------- */

struct cands {
  char **v;
  size_t n;
};

static void
cands_push (struct cands *c, char *s)
{
  c->v = xrealloc_array (c->v, c->n + 2, sizeof *c->v);
  c->v[c->n++] = s;
  c->v[c->n] = NULL;
}

void
keys_free_candidates (char **v)
{
  if (!v)
    return;
  for (char **p = v; *p; p++)
    secret_free (*p);
  free (v);
}

static bool
id_matches (const char *id, const char *device, const char *uuid)
{
  if (device) {
    if (strcmp (id, device) == 0)
      return true;
    /* "sda2" for "/dev/sda2" */
    if (str_has_prefix (device, "/dev/") && strcmp (id, device + 5) == 0)
      return true;
  }
  if (uuid && *uuid && strcasecmp (id, uuid) == 0)
    return true;
  return false;
}

static int
read_key_file (const char *path, char **ret)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -errno;
  if (S_ISDIR (st.st_mode))
    return -EISDIR;
  if (S_ISREG (st.st_mode) && (uint64_t)st.st_size > KEYS_MAX_LEN)
    return -EFBIG;

  /* Read at most KEYS_MAX_LEN + 1 bytes (also for pipes and devices). */
  size_t cap = 4096, len = 0;
  char *buf = malloc (cap);
  if (!buf)
    return -ENOMEM;
  for (;;) {
    if (len == cap) {
      if (cap > KEYS_MAX_LEN) {
        explicit_bzero (buf, len);
        free (buf);
        return -EFBIG;
      }
      size_t ncap = cap * 2;
      char *nbuf = malloc (ncap);
      if (!nbuf) {
        explicit_bzero (buf, len);
        free (buf);
        return -ENOMEM;
      }
      memcpy (nbuf, buf, len);
      explicit_bzero (buf, len);
      free (buf);
      buf = nbuf;
      cap = ncap;
    }
    ssize_t n = read (fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = -errno;
      explicit_bzero (buf, len);
      free (buf);
      return e;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  if (len > KEYS_MAX_LEN) {
    explicit_bzero (buf, len);
    free (buf);
    return -EFBIG;
  }
  *ret = secret_new (buf, len);
  explicit_bzero (buf, len);
  free (buf);
  return 0;
}

static int
add_spec (struct cands *c, const struct key_spec *s, const char *device,
          char **ret_msg)
{
  if (!s->is_file) {
    cands_push (c, secret_new (s->value, strlen (s->value)));
    return 0;
  }
  char *k = NULL;
  int r = read_key_file (s->value, &k);
  if (r < 0) {
    _cleanup_free_ char *shown = sanitize_string (s->value, 256);
    return set_errmsg (ret_msg, r, "cannot read key file %s for %s: %s", shown,
                       device ? device : "?",
                       r == -EFBIG ? "larger than 8 MiB" : strerror (-r));
  }
  if (keys_candidate_len (k) == 0) {
    secret_free (k);
    _cleanup_free_ char *shown = sanitize_string (s->value, 256);
    return set_errmsg (ret_msg, -EINVAL, "key file %s for %s is empty", shown,
                       device ? device : "?");
  }
  cands_push (c, k);
  return 0;
}

int
keys_candidates_full (struct key_store *ks, const char *device,
                      const char *uuid, char ***ret, char **ret_msg)
{
  struct cands c = { 0 };
  int r = 0;

  cands_push (&c, NULL); /* an empty, NULL-terminated vector */
  c.n = 0;

  for (size_t i = 0; r == 0 && i < ks->n; i++)
    if (strcmp (ks->specs[i].id, "all") != 0
        && id_matches (ks->specs[i].id, device, uuid))
      r = add_spec (&c, &ks->specs[i], device, ret_msg);
  for (size_t i = 0; r == 0 && i < ks->n; i++)
    if (strcmp (ks->specs[i].id, "all") == 0)
      r = add_spec (&c, &ks->specs[i], device, ret_msg);
  for (size_t i = 0; r == 0 && i < ks->n_stdin; i++)
    cands_push (&c, secret_new (ks->stdin_keys[i],
                                keys_candidate_len (ks->stdin_keys[i])));

  if (r == 0 && c.n == 0 && ks->interactive) {
    char *k = NULL;
    r = prompt_tty (device ? device : "?", uuid, ks->echo, &k);
    if (r < 0)
      set_errmsg (ret_msg, r,
                  "cannot ask for the key of %s on the "
                  "terminal: %s",
                  device ? device : "?", strerror (-r));
    else if (keys_candidate_len (k) == 0)
      secret_free (k); /* just Enter: no key */
    else
      cands_push (&c, k);
  }

  if (r < 0) {
    keys_free_candidates (c.v);
    return r;
  }
  log_debug (LOG_CAT_MAIN, "%zu key candidate(s) for %s", c.n,
             device ? device : "?");
  *ret = c.v;
  return 0;
}

int
keys_candidates (struct key_store *ks, const char *device, const char *uuid,
                 char ***ret)
{
  return keys_candidates_full (ks, device, uuid, ret, NULL);
}

void
key_store_clear (struct key_store *ks)
{
  if (!ks)
    return;
  for (size_t i = 0; i < ks->n; i++)
    key_spec_clear (&ks->specs[i]);
  free (ks->specs);
  for (size_t i = 0; i < ks->n_stdin; i++)
    secret_free (ks->stdin_keys[i]);
  free (ks->stdin_keys);
  ks->specs = NULL;
  ks->n = 0;
  ks->stdin_keys = NULL;
  ks->n_stdin = 0;
  ks->from_stdin_done = false;
}

/* ---- argv -------------------------------------------------------------- */

static void
scrub_selector (char *s)
{
  char *c1 = strchr (s, ':');
  if (c1 && c1 != s) {
    char *type = c1 + 1;
    if (str_has_prefix (type, "file:") || strcmp (type, "clevis") == 0)
      return;
    if (str_has_prefix (type, "key:")) {
      char *pass = type + 4;
      memset (pass, 0, strlen (pass));
      return;
    }
  }
  memset (s, 0, strlen (s));
}

void
keys_scrub_argv (int argc, char **argv)
{
  for (int i = 1; i < argc && argv[i]; i++) {
    char *a = argv[i];
    if (strcmp (a, "--") == 0)
      break;
    if (strcmp (a, "--key") == 0 || strcmp (a, "-key") == 0) {
      if (i + 1 < argc && argv[i + 1])
        scrub_selector (argv[++i]);
    }
    else if (str_has_prefix (a, "--key="))
      scrub_selector (a + 6);
    else if (str_has_prefix (a, "-key="))
      scrub_selector (a + 5);
  }
}
