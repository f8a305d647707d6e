/* nguestmount: installed applications (the counterpart of libguestfs's
 * inspect_list_applications2).
 *
 *   deb     /var/lib/dpkg/status: stanzas whose Status is "<want> ok
 *           installed"; Version split into epoch, version, release.
 *   rpm     the rpm database (rpmdb.sqlite, ndb Packages.db or BerkeleyDB
 *           Packages under /var/lib/rpm or /usr/lib/sysimage/rpm), copied
 *           into a private directory and read with librpm (apps-rpm.c).
 *   apk     /lib/apk/db/installed (P: V: A: U: T: o:).
 *   pacman  /var/lib/pacman/local/<package>/desc.
 *   Windows the Uninstall keys of the SOFTWARE hive (windows.c).
 *
 * Field mapping follows libguestfs, so the lists match virt-inspector's:
 * dpkg Description's first line is the summary and its continuation lines
 * the description; apk T: and pacman %DESC% are the description.  Beyond
 * libguestfs: apk's o: (origin) fills source_package, and a dpkg stanza at
 * the very end of the file without a final blank line still counts.
 *
 * Databases are streamed (never read whole), each line is cut at
 * APPS_LINE_MAX, each field at APPS_FIELD_MAX, and the list stops at
 * APPS_MAX applications or APPS_BYTES_MAX bytes, with a warning.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "inspect/apps.h"
#include "inspect/inspect.h"

/* ---------------------------------------------------------------------- */
/* The list. */

static void
app_clear (struct inspect_app *a)
{
  free (a->name);
  free (a->display_name);
  free (a->version);
  free (a->release);
  free (a->arch);
  free (a->install_path);
  free (a->publisher);
  free (a->url);
  free (a->source_package);
  free (a->summary);
  free (a->description);
  memset (a, 0, sizeof *a);
}

void
inspect_apps_free (struct inspect_app *apps, size_t n)
{
  for (size_t i = 0; i < n; i++)
    app_clear (&apps[i]);
  free (apps);
}

static size_t
slen (const char *s)
{
  return s ? strlen (s) + 1 : 0;
}

bool
apps_list_add (struct apps_list *l, struct inspect_app *app)
{
  size_t max = l->max ? l->max : APPS_MAX;
  size_t bytes = sizeof *app + slen (app->name) + slen (app->display_name)
                 + slen (app->version) + slen (app->release)
                 + slen (app->arch) + slen (app->install_path)
                 + slen (app->publisher) + slen (app->url)
                 + slen (app->source_package) + slen (app->summary)
                 + slen (app->description);
  if (!app->name || l->n >= max || l->bytes + bytes > APPS_BYTES_MAX) {
    if (app->name)
      l->truncated = true;
    app_clear (app);
    return false;
  }
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = xrealloc_array (l->v, l->cap, sizeof *l->v);
  }
  l->v[l->n++] = *app;
  l->bytes += bytes;
  memset (app, 0, sizeof *app);
  return true;
}

static int
compare_apps (const void *a, const void *b)
{
  const struct inspect_app *x = a, *y = b;
  int c = strcmp (x->name, y->name);
  if (c == 0)
    c = strcmp (x->arch ? x->arch : "", y->arch ? y->arch : "");
  if (c == 0)
    c = strcmp (x->version ? x->version : "", y->version ? y->version : "");
  if (c == 0)
    c = strcmp (x->release ? x->release : "", y->release ? y->release : "");
  return c;
}

void
apps_list_sort (struct apps_list *l)
{
  if (l->n > 1)
    qsort (l->v, l->n, sizeof *l->v, compare_apps);
}

void
apps_list_clear (struct apps_list *l)
{
  inspect_apps_free (l->v, l->n);
  memset (l, 0, sizeof *l);
}

/* ---------------------------------------------------------------------- */
/* Fields. */

/* A guest value made safe: at most APPS_FIELD_MAX bytes, cut at a NUL,
 * valid UTF-8 without control characters (newlines kept when multiline),
 * surrounding white space removed; NULL when nothing is left. */
static char *
clean_field (const char *s, size_t len, bool multiline)
{
  if (!s)
    return NULL;
  if (len > APPS_FIELD_MAX)
    len = APPS_FIELD_MAX;
  _cleanup_free_ char *raw = strndup (s, len);
  if (!raw)
    abort ();
  char *out;
  if (!multiline)
    out = sanitize_string (raw, len);
  else {
    size_t n = strlen (raw);
    out = xcalloc (n + 1, 1);
    size_t o = 0;
    char *save = NULL;
    for (char *p = raw;; p = NULL) {
      char *line = strtok_r (p, "\n", &save);
      if (!line)
        break;
      _cleanup_free_ char *clean = sanitize_string (line, n);
      size_t cl = strlen (clean);
      if (o > 0)
        out[o++] = '\n';
      /* sanitize_string never grows a string. */
      memcpy (out + o, clean, cl);
      o += cl;
    }
    out[o] = '\0';
  }
  strstrip (out);
  if (!*out) {
    free (out);
    return NULL;
  }
  return out;
}

static char *
clean_str (const char *s)
{
  return s ? clean_field (s, strlen (s), false) : NULL;
}

/* A decimal epoch that fits an int; -1 if it is not one. */
static int
parse_epoch (const char *s, size_t len)
{
  if (len == 0 || len > 9)
    return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int
apps_split_version (const char *s, int *ret_epoch, char **ret_version,
                    char **ret_release)
{
  *ret_epoch = 0;
  *ret_version = *ret_release = NULL;
  if (!s)
    return -EINVAL;
  const char *colon = strchr (s, ':');
  int epoch = 0;
  if (colon) {
    epoch = parse_epoch (s, (size_t) (colon - s));
    if (epoch < 0)
      return -EINVAL;
    s = colon + 1;
  }
  const char *dash = strchr (s, '-');
  size_t vlen = dash ? (size_t) (dash - s) : strlen (s);
  *ret_epoch = epoch;
  *ret_version = clean_field (s, vlen, false);
  *ret_release = dash ? clean_str (dash + 1) : NULL;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Lines, from a buffer or streamed from a file. */

typedef bool (*line_fn) (void *state, const char *line, size_t len);

struct line_feed {
  char *buf;          /* the line being assembled */
  size_t len;
  bool cut;           /* the line was longer than APPS_LINE_MAX */
  bool stopped;       /* the consumer asked to stop */
  line_fn fn;
  void *state;
};

static void
feed_emit (struct line_feed *lf)
{
  if (!lf->stopped && !lf->fn (lf->state, lf->buf ? lf->buf : "", lf->len))
    lf->stopped = true;
  lf->len = 0;
  lf->cut = false;
}

static void
feed_append (struct line_feed *lf, const char *p, size_t n)
{
  if (lf->cut)
    return;
  if (lf->len + n > APPS_LINE_MAX) {
    n = APPS_LINE_MAX - lf->len;
    lf->cut = true;
  }
  if (!lf->buf)
    lf->buf = xcalloc (APPS_LINE_MAX + 1, 1);
  memcpy (lf->buf + lf->len, p, n);
  lf->len += n;
  lf->buf[lf->len] = '\0';
}

static void
feed_bytes (struct line_feed *lf, const char *p, size_t n)
{
  while (n > 0 && !lf->stopped) {
    const char *nl = memchr (p, '\n', n);
    size_t k = nl ? (size_t) (nl - p) : n;
    feed_append (lf, p, k);
    if (!nl)
      return;
    feed_emit (lf);
    p += k + 1;
    n -= k + 1;
  }
}

/* Ends the input: a last line without a newline is still a line; then one
 * empty line, so stanza parsers flush. */
static void
feed_finish (struct line_feed *lf)
{
  if (lf->len > 0)
    feed_emit (lf);
  feed_emit (lf);
  free (lf->buf);
  lf->buf = NULL;
}

static void
feed_buffer (const char *buf, size_t len, line_fn fn, void *state)
{
  struct line_feed lf = { .fn = fn, .state = state };
  feed_bytes (&lf, buf ? buf : "", buf ? len : 0);
  feed_finish (&lf);
}

/* Stream a regular file into fn, at most max bytes.  Returns 0, 1 when the
 * file was longer than max (the rest is ignored), or -errno. */
static int
feed_fd (int fd, uint64_t max, line_fn fn, void *state)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -errno;
  if (!S_ISREG (st.st_mode))
    return -EINVAL;
  struct line_feed lf = { .fn = fn, .state = state };
  _cleanup_free_ char *chunk = xcalloc (65536, 1);
  uint64_t total = 0;
  int ret = 0;
  while (!lf.stopped) {
    if (total >= max) {
      char c;
      if (read (fd, &c, 1) == 1)
        ret = 1;
      break;
    }
    size_t want = 65536;
    if (max - total < want)
      want = (size_t) (max - total);
    ssize_t r = read (fd, chunk, want);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      ret = -errno;
      break;
    }
    if (r == 0)
      break;
    total += (uint64_t) r;
    feed_bytes (&lf, chunk, (size_t) r);
  }
  feed_finish (&lf);
  return ret;
}

/* "Key: value" → key and value (value with leading and trailing blanks
 * removed).  False when the line has no ':'. */
static bool
split_field (const char *line, size_t len, size_t *ret_klen,
             const char **ret_val, size_t *ret_vlen)
{
  const char *colon = memchr (line, ':', len);
  if (!colon)
    return false;
  const char *v = colon + 1, *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  *ret_klen = (size_t) (colon - line);
  *ret_val = v;
  *ret_vlen = (size_t) (end - v);
  return true;
}

static bool
key_is (const char *line, size_t klen, const char *key)
{
  return strlen (key) == klen && strncasecmp (line, key, klen) == 0;
}

static void
set_field (char **field, const char *v, size_t vlen)
{
  free (*field);
  *field = clean_field (v, vlen, false);
}

/* ---------------------------------------------------------------------- */
/* dpkg. */

struct deb_state {
  struct apps_list *l;
  char *name, *version, *arch, *url, *source, *summary;
  char *desc;          /* continuation lines of Description */
  size_t desc_len;
  bool in_desc;
  bool installed;
};

static void
deb_reset (struct deb_state *d)
{
  free (d->name);
  free (d->version);
  free (d->arch);
  free (d->url);
  free (d->source);
  free (d->summary);
  free (d->desc);
  struct apps_list *l = d->l;
  memset (d, 0, sizeof *d);
  d->l = l;
}

static bool
deb_flush (struct deb_state *d)
{
  bool ok = true;
  if (d->name && d->installed && d->version) {
    struct inspect_app a = { 0 };
    if (apps_split_version (d->version, &a.epoch, &a.version, &a.release) < 0
        || !a.version) {
      d->l->invalid++;
      app_clear (&a);
    }
    else {
      a.name = clean_str (d->name);
      a.arch = clean_str (d->arch);
      a.url = clean_str (d->url);
      a.source_package = clean_str (d->source);
      a.summary = clean_str (d->summary);
      a.description = d->desc ? clean_field (d->desc, d->desc_len, true) : NULL;
      if (!a.name) {
        d->l->invalid++;
        app_clear (&a);
      }
      else
        ok = apps_list_add (d->l, &a);
    }
  }
  deb_reset (d);
  return ok;
}

/* Status: "<want> <flag> <status>"; the package is there when the status
 * word is exactly "installed" (so not half-installed, config-files, ...). */
static bool
deb_status_installed (const char *v, size_t len)
{
  _cleanup_free_ char *s = strndup (v, len);
  if (!s)
    abort ();
  char *save = NULL, *w[4] = { NULL };
  size_t n = 0;
  for (char *t = strtok_r (s, " \t", &save); t && n < 4;
       t = strtok_r (NULL, " \t", &save))
    w[n++] = t;
  return n == 3 && strcmp (w[2], "installed") == 0;
}

static bool
deb_line (void *state, const char *line, size_t len)
{
  struct deb_state *d = state;

  if (len == 0)
    return deb_flush (d);
  if (line[0] == ' ' || line[0] == '\t') {
    if (d->in_desc && d->desc_len < APPS_FIELD_MAX) {
      size_t n = len - 1;
      if (d->desc_len + n + 1 > APPS_FIELD_MAX)
        n = APPS_FIELD_MAX - d->desc_len - 1;
      d->desc = xrealloc_array (d->desc, d->desc_len + n + 2, 1);
      if (d->desc_len > 0)
        d->desc[d->desc_len++] = '\n';
      memcpy (d->desc + d->desc_len, line + 1, n);
      d->desc_len += n;
      d->desc[d->desc_len] = '\0';
    }
    return true;
  }
  d->in_desc = false;

  size_t klen, vlen;
  const char *v;
  if (!split_field (line, len, &klen, &v, &vlen))
    return true;
  if (key_is (line, klen, "Package"))
    set_field (&d->name, v, vlen);
  else if (key_is (line, klen, "Status"))
    d->installed = deb_status_installed (v, vlen);
  else if (key_is (line, klen, "Version"))
    set_field (&d->version, v, vlen);
  else if (key_is (line, klen, "Architecture"))
    set_field (&d->arch, v, vlen);
  else if (key_is (line, klen, "Homepage"))
    set_field (&d->url, v, vlen);
  else if (key_is (line, klen, "Source")) {
    /* "Source: name (version)": the name only. */
    const char *sp = memchr (v, ' ', vlen);
    set_field (&d->source, v, sp ? (size_t) (sp - v) : vlen);
  }
  else if (key_is (line, klen, "Description")) {
    set_field (&d->summary, v, vlen);
    free (d->desc);
    d->desc = NULL;
    d->desc_len = 0;
    d->in_desc = true;
  }
  return true;
}

void
apps_parse_dpkg_status (const char *buf, size_t len, struct apps_list *l)
{
  struct deb_state d = { .l = l };
  feed_buffer (buf, len, deb_line, &d);
  deb_reset (&d);
}

/* ---------------------------------------------------------------------- */
/* apk. */

struct apk_state {
  struct apps_list *l;
  char *name, *version, *arch, *url, *desc, *origin;
};

static void
apk_reset (struct apk_state *s)
{
  free (s->name);
  free (s->version);
  free (s->arch);
  free (s->url);
  free (s->desc);
  free (s->origin);
  struct apps_list *l = s->l;
  memset (s, 0, sizeof *s);
  s->l = l;
}

static bool
apk_flush (struct apk_state *s)
{
  bool ok = true;
  if (s->name && s->version) {
    struct inspect_app a = { 0 };
    if (apps_split_version (s->version, &a.epoch, &a.version, &a.release) < 0
        || !a.version) {
      s->l->invalid++;
      app_clear (&a);
    }
    else {
      /* apk releases are "r<N>": keep N, as libguestfs does. */
      if (a.release && a.release[0] == 'r') {
        char *r = a.release[1] ? xstrdup (a.release + 1) : NULL;
        free (a.release);
        a.release = r;
      }
      a.name = TAKE_PTR (s->name);
      a.arch = TAKE_PTR (s->arch);
      a.url = TAKE_PTR (s->url);
      a.description = TAKE_PTR (s->desc);
      a.source_package = TAKE_PTR (s->origin);
      ok = apps_list_add (s->l, &a);
    }
  }
  apk_reset (s);
  return ok;
}

static bool
apk_line (void *state, const char *line, size_t len)
{
  struct apk_state *s = state;
  if (len == 0)
    return apk_flush (s);
  if (len < 2 || line[1] != ':')
    return true;
  const char *v = line + 2;
  size_t vlen = len - 2;
  switch (line[0]) {
  case 'P': set_field (&s->name, v, vlen); break;
  case 'V': set_field (&s->version, v, vlen); break;
  case 'A': set_field (&s->arch, v, vlen); break;
  case 'U': set_field (&s->url, v, vlen); break;
  case 'T': set_field (&s->desc, v, vlen); break;
  case 'o': set_field (&s->origin, v, vlen); break;
  default: break;
  }
  return true;
}

void
apps_parse_apk_installed (const char *buf, size_t len, struct apps_list *l)
{
  struct apk_state s = { .l = l };
  feed_buffer (buf, len, apk_line, &s);
  apk_reset (&s);
}

/* ---------------------------------------------------------------------- */
/* pacman. */

struct pacman_state {
  char **key;          /* the field the next line fills */
  char *name, *version, *arch, *url, *desc;
};

static bool
pacman_line (void *state, const char *line, size_t len)
{
  struct pacman_state *s = state;
  if (len == 0) {
    s->key = NULL;
    return true;
  }
  if (s->key) {
    set_field (s->key, line, len);
    s->key = NULL;
    return true;
  }
  static const char *const keys[]
      = { "%NAME%", "%VERSION%", "%ARCH%", "%URL%", "%DESC%" };
  char **fields[] = { &s->name, &s->version, &s->arch, &s->url, &s->desc };
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    if (len == strlen (keys[i]) && memcmp (line, keys[i], len) == 0)
      s->key = fields[i];
  return true;
}

void
apps_parse_pacman_desc (const char *buf, size_t len, struct apps_list *l)
{
  struct pacman_state s = { 0 };
  feed_buffer (buf, len, pacman_line, &s);

  struct inspect_app a = { 0 };
  /* Name, version with a release, and arch are mandatory in pacman. */
  if (!s.name || !s.version || !s.arch
      || apps_split_version (s.version, &a.epoch, &a.version, &a.release) < 0
      || !a.version || !a.release)
    l->invalid++;
  else {
    a.name = TAKE_PTR (s.name);
    a.arch = TAKE_PTR (s.arch);
    a.url = TAKE_PTR (s.url);
    a.description = TAKE_PTR (s.desc);
    apps_list_add (l, &a);
  }
  app_clear (&a);
  free (s.name);
  free (s.version);
  free (s.arch);
  free (s.url);
  free (s.desc);
}

/* ---------------------------------------------------------------------- */
/* Reading from the guest: each path from the filesystem mounted at the
 * longest matching mountpoint. */

struct apps_src {
  const char *device;            /* for warnings */
  struct strv *warnings;
  size_t n;
  const char *prefix[64];        /* "/", "/var", "/usr" */
  int fd[64];
};

static int
src_open (const struct apps_src *s, const char *path, int flags)
{
  size_t best = SIZE_MAX, best_len = 0;
  for (size_t i = 0; i < s->n; i++) {
    const char *p = s->prefix[i];
    size_t pl = strcmp (p, "/") == 0 ? 0 : strlen (p);
    if (strncmp (path, p, pl) == 0 && (path[pl] == '/' || path[pl] == '\0')
        && (best == SIZE_MAX || pl > best_len)) {
      best = i;
      best_len = pl;
    }
  }
  if (best == SIZE_MAX)
    return -ENOENT;
  const char *rest = path + best_len;
  return open_in_root (s->fd[best], *rest ? rest : "/", flags);
}

static bool
host_error (int err)
{
  return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

static void
warn_read (const struct apps_src *s, const char *path, int err)
{
  if (err == -EINVAL)
    strv_pushf (s->warnings, "%s: %s: not a regular file, applications not listed",
                s->device, path);
  else
    strv_pushf (s->warnings, "%s: %s: %s, applications not listed", s->device,
                path, strerror (-err));
}

/* Stream one database file.  Returns 1 when read, 0 when absent or unusable
 * (with a warning unless absent), -errno on host failure. */
static int
src_feed (const struct apps_src *s, const char *path, line_fn fn, void *state)
{
  _cleanup_close_ int fd = src_open (s, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (host_error (fd))
      return fd;
    if (fd != -ENOENT && fd != -ENOTDIR)
      warn_read (s, path, fd);
    return 0;
  }
  int r = fd_check_regular (fd, NULL);
  if (r == 0)
    r = feed_fd (fd, APPS_DB_MAX, fn, state);
  if (r < 0) {
    if (host_error (r))
      return r;
    warn_read (s, path, r);
    return 0;
  }
  if (r == 1)
    strv_pushf (s->warnings, "%s: %s: larger than %llu MiB, only the start was read",
                s->device, path, APPS_DB_MAX / (1024 * 1024));
  return 1;
}

static int
list_deb (const struct apps_src *s, struct apps_list *l)
{
  struct deb_state d = { .l = l };
  int r = src_feed (s, "/var/lib/dpkg/status", deb_line, &d);
  deb_reset (&d);
  return r < 0 ? r : 0;
}

static int
list_apk (const struct apps_src *s, struct apps_list *l)
{
  struct apk_state a = { .l = l };
  int r = src_feed (s, "/lib/apk/db/installed", apk_line, &a);
  apk_reset (&a);
  return r < 0 ? r : 0;
}

/* Read a small guest file whole (at most max bytes). */
static int
src_read_small (const struct apps_src *s, const char *path, size_t max,
                char **ret, size_t *ret_len)
{
  _cleanup_close_ int fd = src_open (s, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return fd;
  return read_fd_capped (fd, max, ret, ret_len);
}

#define PACMAN_DESC_MAX (64u * 1024)

static int
list_pacman (const struct apps_src *s, struct apps_list *l)
{
  static const char dir[] = "/var/lib/pacman/local";
  int fd = src_open (s, dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    if (host_error (fd))
      return fd;
    if (fd != -ENOENT && fd != -ENOTDIR)
      warn_read (s, dir, fd);
    return 0;
  }
  DIR *d = fdopendir (fd);
  if (!d) {
    int r = -errno;
    close (fd);
    return r;
  }
  size_t seen = 0, skipped = 0;
  struct dirent *e;
  while ((e = readdir (d)) != NULL) {
    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0
        || strcmp (e->d_name, "ALPM_DB_VERSION") == 0)
      continue;
    if (++seen > APPS_MAX) {
      l->truncated = true;
      break;
    }
    _cleanup_free_ char *path = xasprintf ("%s/%s/desc", dir, e->d_name);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    int r = src_read_small (s, path, PACMAN_DESC_MAX, &buf, &len);
    if (r < 0) {
      if (host_error (r)) {
        closedir (d);
        return r;
      }
      skipped++;
      continue;
    }
    apps_parse_pacman_desc (buf, len, l);
  }
  closedir (d);
  if (skipped)
    strv_pushf (s->warnings,
                "%s: %s: %zu package entries without a readable desc file skipped",
                s->device, dir, skipped);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* rpm: copy the database files into a private directory, then librpm. */

struct rpm_layout {
  const char *backend;
  const char *files[4];    /* files[0] must exist; the others are copied
                            * when present */
};

static const struct rpm_layout rpm_layouts[] = {
  { "sqlite", { "rpmdb.sqlite", "rpmdb.sqlite-wal", NULL } },
  { "ndb", { "Packages.db", "Index.db", NULL } },
  { "bdb_ro", { "Packages", NULL } },
};

/* Copy one guest file into dirfd/name, refusing to copy more than *budget
 * bytes in total.  Returns 0, -ENOENT when absent, -EFBIG over budget,
 * other -errno. */
static int
copy_guest_file (const struct apps_src *s, const char *path, int dirfd,
                 const char *name, uint64_t *budget)
{
  _cleanup_close_ int in = src_open (s, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (in < 0)
    return in;
  struct stat st;
  int r0 = fd_check_regular (in, &st);
  if (r0 < 0)
    return r0;
  if ((uint64_t) st.st_size > *budget)
    return -EFBIG;
  _cleanup_close_ int out
      = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
  if (out < 0)
    return -errno;
  _cleanup_free_ char *chunk = xcalloc (1 << 20, 1);
  for (;;) {
    ssize_t r = read (in, chunk, 1 << 20);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      break;
    if ((uint64_t) r > *budget)
      return -EFBIG;   /* the file grew under us */
    *budget -= (uint64_t) r;
    size_t off = 0;
    while (off < (size_t) r) {
      ssize_t w = write (out, chunk + off, (size_t) r - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -errno;
      off += (size_t) w;
    }
  }
  return 0;
}

static void
remove_dir (const char *dir)
{
  DIR *d = opendir (dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir (d)) != NULL)
      if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
        unlinkat (dirfd (d), e->d_name, 0);
    closedir (d);
  }
  rmdir (dir);
}

static int
list_rpm (const struct apps_src *s, struct apps_list *l)
{
  static const char *const dirs[] = { "/var/lib/rpm", "/usr/lib/sysimage/rpm" };
  const struct rpm_layout *layout = NULL;
  const char *dbdir = NULL;

  for (size_t i = 0; i < ARRAY_SIZE (dirs) && !layout; i++)
    for (size_t j = 0; j < ARRAY_SIZE (rpm_layouts) && !layout; j++) {
      _cleanup_free_ char *p
          = xasprintf ("%s/%s", dirs[i], rpm_layouts[j].files[0]);
      _cleanup_close_ int fd = src_open (s, p, O_PATH);
      if (fd >= 0) {
        layout = &rpm_layouts[j];
        dbdir = dirs[i];
      }
      else if (host_error (fd))
        return fd;
    }
  if (!layout) {
    log_debug (LOG_CAT_INSPECT, "%s: no rpm database found", s->device);
    return 0;
  }

  const char *tmp = getenv ("TMPDIR");
  _cleanup_free_ char *tmpdir
      = xasprintf ("%s/nguestmount-rpmdb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp (tmpdir))
    return -errno;
  int r = 0;
  _cleanup_close_ int dfd = open (tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    r = -errno;
    remove_dir (tmpdir);
    return r;
  }

  uint64_t budget = APPS_DB_MAX;
  bool ok = true;
  for (size_t k = 0; k < ARRAY_SIZE (layout->files) && layout->files[k]; k++) {
    _cleanup_free_ char *p = xasprintf ("%s/%s", dbdir, layout->files[k]);
    int c = copy_guest_file (s, p, dfd, layout->files[k], &budget);
    if (c == -ENOENT && k > 0)
      continue;
    if (c < 0) {
      if (host_error (c) || c == -ENOSPC || c == -EDQUOT) {
        r = c;
        strv_pushf (s->warnings, "%s: cannot copy %s: %s, applications not listed",
                    s->device, p, strerror (-c));
      }
      else if (c == -EFBIG)
        strv_pushf (s->warnings,
                    "%s: %s: the rpm database is larger than %llu MiB, applications not listed",
                    s->device, dbdir, APPS_DB_MAX / (1024 * 1024));
      else
        warn_read (s, p, c);
      ok = false;
      break;
    }
  }

  if (ok) {
    _cleanup_free_ char *msg = NULL;
    int q = apps_rpm_read_db (tmpdir, layout->backend, l, &msg);
    if (q < 0) {
      if (host_error (q))
        r = q;
      strv_pushf (s->warnings, "%s: %s: cannot read the rpm database: %s",
                  s->device, dbdir, msg ? msg : strerror (-q));
    }
  }
  remove_dir (tmpdir);
  return r;
}

/* ---------------------------------------------------------------------- */

static int
list_into_os (const struct apps_src *s, struct inspect_os *os)
{
  struct apps_list l = { 0 };
  const char *fmt = os->package_format ? os->package_format : "unknown";
  int r = 0;

  if (strcmp (fmt, "deb") == 0)
    r = list_deb (s, &l);
  else if (strcmp (fmt, "rpm") == 0)
    r = list_rpm (s, &l);
  else if (strcmp (fmt, "apk") == 0)
    r = list_apk (s, &l);
  else if (strcmp (fmt, "pacman") == 0)
    r = list_pacman (s, &l);
  if (r < 0) {
    apps_list_clear (&l);
    return r;
  }
  if (l.truncated)
    strv_pushf (s->warnings,
                "%s: more than %d applications or %u MiB of package data: the rest was not listed",
                s->device, APPS_MAX, APPS_BYTES_MAX / (1024 * 1024));
  if (l.invalid)
    log_debug (LOG_CAT_INSPECT, "%s: %zu malformed package entries skipped",
               s->device, l.invalid);
  apps_list_sort (&l);
  inspect_apps_free (os->apps, os->n_apps);
  os->apps = TAKE_PTR (l.v);
  os->n_apps = l.n;
  log_debug (LOG_CAT_INSPECT, "%s: %zu applications (%s)", s->device,
             os->n_apps, fmt);
  return 0;
}

static bool
is_windows (const struct inspect_os *os)
{
  return os->type && strcmp (os->type, "windows") == 0;
}

int
inspect_applications (int rootfd, struct inspect_os *os,
                      struct strv *warnings)
{
  if (is_windows (os))
    return inspect_windows_applications (rootfd, os, warnings);
  struct apps_src s = { .device = os->root_device ? os->root_device : "?",
                        .warnings = warnings,
                        .n = 1,
                        .prefix = { "/" },
                        .fd = { rootfd } };
  return list_into_os (&s, os);
}

int
inspect_applications_all (struct inspection *insp)
{
  for (size_t k = 0; k < insp->n_os; k++) {
    struct inspect_os *os = &insp->os[k];
    /* Windows: read from the SOFTWARE hive by inspect_windows_root. */
    if (is_windows (os))
      continue;
    struct apps_src s = { .device = os->root_device ? os->root_device : "?",
                          .warnings = &insp->warnings };
    /* The root first, then what the guest's fstab mounts. */
    for (size_t i = 0; i < insp->n_fs; i++)
      if (insp->fs[i].rootfd >= 0 && os->root_device
          && strcmp (insp->fs[i].device, os->root_device) == 0) {
        s.prefix[0] = "/";
        s.fd[0] = insp->fs[i].rootfd;
        s.n = 1;
      }
    if (s.n == 0)
      continue;
    for (size_t m = 0; m < os->n_mountpoints && s.n < ARRAY_SIZE (s.fd); m++) {
      const struct inspect_mountpoint *mp = &os->mountpoints[m];
      if (!mp->mountpoint || mp->mountpoint[0] != '/'
          || strcmp (mp->mountpoint, "/") == 0 || !mp->device)
        continue;
      for (size_t i = 0; i < insp->n_fs; i++)
        if (insp->fs[i].rootfd >= 0
            && strcmp (insp->fs[i].device, mp->device) == 0) {
          s.prefix[s.n] = mp->mountpoint;
          s.fd[s.n++] = insp->fs[i].rootfd;
          break;
        }
    }
    int r = list_into_os (&s, os);
    if (r < 0)
      return r;
  }
  return 0;
}
