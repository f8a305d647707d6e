/* nguestmount: small helpers shared by every module (see util.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

int
set_errmsg (char **ret_msg, int err, const char *fmt, ...)
{
  if (ret_msg) {
    va_list ap;
    char *m = NULL;
    va_start (ap, fmt);
    if (vasprintf (&m, fmt, ap) < 0)
      m = NULL;
    va_end (ap);
    free (*ret_msg);
    *ret_msg = m;
  }
  return err;
}

static void
oom (void)
{
  fputs ("nguestmount: out of memory\n", stderr);
  abort ();
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *s;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    oom ();
  va_end (ap);
  return s;
}

char *
xstrdup (const char *s)
{
  if (!s)
    return NULL;
  char *r = strdup (s);
  if (!r)
    oom ();
  return r;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (!p)
    oom ();
  return p;
}

void *
xrealloc_array (void *p, size_t n, size_t size)
{
  void *r = reallocarray (p, n ? n : 1, size ? size : 1);
  if (!r)
    oom ();
  return r;
}

void
strv_push (struct strv *s, char *str)
{
  s->v = xrealloc_array (s->v, s->n + 2, sizeof (char *));
  s->v[s->n++] = str;
  s->v[s->n] = NULL;
}

void
strv_pushf (struct strv *s, const char *fmt, ...)
{
  va_list ap;
  char *m;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    oom ();
  va_end (ap);
  strv_push (s, m);
}

bool
strv_contains (const struct strv *s, const char *str)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp (s->v[i], str) == 0)
      return true;
  return false;
}

char *
strv_join (const struct strv *s, const char *sep)
{
  size_t len = 1, seplen = strlen (sep);
  for (size_t i = 0; i < s->n; i++)
    len += strlen (s->v[i]) + (i ? seplen : 0);
  char *out = xcalloc (len, 1), *p = out;
  for (size_t i = 0; i < s->n; i++) {
    if (i)
      p = stpcpy (p, sep);
    p = stpcpy (p, s->v[i]);
  }
  return out;
}

void
strv_clear (struct strv *s)
{
  strv_free (s->v);
  s->v = NULL;
  s->n = 0;
}

int
open_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  /* The guest path is always taken relative to the root. */
  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  long fd = syscall (SYS_openat2, rootfd, path, &how, sizeof how);
  if (fd < 0)
    return -errno;
  return (int) fd;
}

int
stat_in_root (int rootfd, const char *path, struct stat *st)
{
  _cleanup_close_ int fd = open_in_root (rootfd, path, O_PATH);
  if (fd < 0)
    return fd;
  if (fstat (fd, st) < 0)
    return -errno;
  return 0;
}

bool
is_dir_in_root (int rootfd, const char *path)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0 && S_ISDIR (st.st_mode);
}

bool
is_file_in_root (int rootfd, const char *path)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0 && S_ISREG (st.st_mode);
}

bool
exists_in_root (int rootfd, const char *path)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0;
}

int
fd_check_regular (int fd, struct stat *ret_st)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -errno;
  if (!S_ISREG (st.st_mode))
    return -EINVAL;
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0)
    return -errno;
  if ((fl & O_NONBLOCK) && fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return -errno;
  if (ret_st)
    *ret_st = st;
  return 0;
}

int
read_fd_capped (int fd, size_t max, char **ret, size_t *ret_len)
{
  struct stat st;
  int rc = fd_check_regular (fd, &st);
  if (rc < 0)
    return rc;
  if ((uint64_t) st.st_size > max)
    return -EFBIG;

  size_t cap = (size_t) st.st_size + 1, len = 0;
  _cleanup_free_ char *buf = xcalloc (cap + 1, 1);
  for (;;) {
    if (len == cap) {
      /* The file grew (cannot happen on our read-only mounts, but never
       * trust it): stop at the cap. */
      if (cap > max)
        return -EFBIG;
      cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      buf = xrealloc_array (buf, cap + 1, 1);
    }
    ssize_t r = read (fd, buf + len, cap - len);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      break;
    len += (size_t) r;
  }
  if (len > max)
    return -EFBIG;
  buf[len] = '\0';
  if (ret_len)
    *ret_len = len;
  *ret = TAKE_PTR (buf);
  return 0;
}

int
read_file_in_root (int rootfd, const char *path, size_t max, char **ret,
                   size_t *ret_len)
{
  _cleanup_close_ int fd = open_in_root (rootfd, path,
                                         O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return fd;
  return read_fd_capped (fd, max, ret, ret_len);
}

ssize_t
read_head_in_root (int rootfd, const char *path, void *buf, size_t max)
{
  _cleanup_close_ int fd = open_in_root (rootfd, path,
                                         O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return fd;
  int rc = fd_check_regular (fd, NULL);
  if (rc < 0)
    return rc;
  size_t len = 0;
  while (len < max) {
    ssize_t r = read (fd, (char *) buf + len, max - len);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      break;
    len += (size_t) r;
  }
  return (ssize_t) len;
}

char *
strstrip (char *s)
{
  char *p = s;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v'
         || *p == '\f')
    p++;
  size_t n = strlen (p);
  while (n > 0
         && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n'
             || p[n - 1] == '\r' || p[n - 1] == '\v' || p[n - 1] == '\f'))
    n--;
  memmove (s, p, n);
  s[n] = '\0';
  return s;
}

/* Length of a valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t
utf8_seq_len (const unsigned char *s, size_t avail)
{
  size_t n;
  uint32_t cp;
  if (s[0] < 0x80)
    return 1;
  else if ((s[0] & 0xe0) == 0xc0) {
    n = 2;
    cp = s[0] & 0x1f;
  }
  else if ((s[0] & 0xf0) == 0xe0) {
    n = 3;
    cp = s[0] & 0x0f;
  }
  else if ((s[0] & 0xf8) == 0xf0) {
    n = 4;
    cp = s[0] & 0x07;
  }
  else
    return 0;
  if (n > avail)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  /* Reject overlong forms, surrogates and out-of-range values. */
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
      || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

char *
sanitize_string (const char *s, size_t max_len)
{
  size_t len = strnlen (s, max_len);
  char *out = xcalloc (len + 1, 1);
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    const unsigned char c = (unsigned char) s[i];
    size_t n = utf8_seq_len ((const unsigned char *) s + i, len - i);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
      out[o++] = '?';
      i++;
    }
    else {
      memcpy (out + o, s + i, n);
      o += n;
      i += n;
    }
  }
  out[o] = '\0';
  return out;
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

int
pread_full (int fd, void *buf, size_t count, uint64_t offset)
{
  char *p = buf;
  while (count > 0) {
    ssize_t r = pread (fd, p, count, (off_t) offset);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return -EIO;
    p += r;
    count -= (size_t) r;
    offset += (uint64_t) r;
  }
  return 0;
}

int
pwrite_full (int fd, const void *buf, size_t count, uint64_t offset)
{
  const char *p = buf;
  while (count > 0) {
    ssize_t r = pwrite (fd, p, count, (off_t) offset);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return -EIO;
    p += r;
    count -= (size_t) r;
    offset += (uint64_t) r;
  }
  return 0;
}

bool
find_program (const char *name, char **ret_path)
{
  if (strchr (name, '/')) {
    if (access (name, X_OK) == 0) {
      if (ret_path)
        *ret_path = xstrdup (name);
      return true;
    }
    return false;
  }
  const char *path = getenv ("PATH");
  if (!path || !*path)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  _cleanup_free_ char *copy = xstrdup (path);
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir;
       dir = strtok_r (NULL, ":", &save)) {
    _cleanup_free_ char *full = xasprintf ("%s/%s", *dir ? dir : ".", name);
    if (access (full, X_OK) == 0) {
      if (ret_path)
        *ret_path = TAKE_PTR (full);
      return true;
    }
  }
  return false;
}
