/* nguestmount: opening disk images: format probing, the check with
 * `qemu-img info`, and the rule that an image may only refer to host files
 * (backing files, vmdk extents, qcow2 external data files) inside its own
 * directory unless --allow-backing is given.
 *
 * The image is hostile: a qcow2 whose backing file is /etc/shadow would
 * otherwise show a host file to the user as guest data.  Every name an
 * image refers to is checked before qemu-nbd opens anything, and the format
 * of every file in the chain is passed to qemu explicitly or, where the
 * image leaves it open, is what qemu itself probes (we ask qemu-img).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "block/bdev.h"
#include "block/image.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

extern char **environ;

#define BACKING_DEPTH_MAX 16
#define QEMU_IMG_OUT_MAX (1024 * 1024)
#define QEMU_IMG_ERR_MAX 4096
#define QEMU_IMG_TIMEOUT_MS 60000
#define PROBE_HEAD 1024
#define PROBE_TAIL 512

static const char *const formats[] = {
  "raw", "qcow2", "vmdk", "vhdx", "vpc", "vdi",
};

bool
image_format_supported (const char *format)
{
  if (!format)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE (formats); i++)
    if (strcmp (format, formats[i]) == 0)
      return true;
  return false;
}

const char *
image_supported_formats (void)
{
  return "raw, qcow2, vmdk, vhdx, vpc, vdi";
}

static bool
has_magic (const void *buf, size_t len, size_t off, const char *magic,
           size_t mlen)
{
  return buf && len >= off + mlen && memcmp ((const char *) buf + off, magic,
                                             mlen)
                                         == 0;
}

const char *
image_probe_buffer (const void *buf, size_t len, const void *tail,
                    size_t tail_len)
{
  static const char vmdk_text[] = "# Disk DescriptorFile";
  const unsigned char *p = buf;

  if (has_magic (buf, len, 0, "QFI\xfb", 4))
    return "qcow2";
  if (has_magic (buf, len, 0, "KDMV", 4)
      || has_magic (buf, len, 0, vmdk_text, sizeof vmdk_text - 1))
    return "vmdk";
  if (has_magic (buf, len, 0, "vhdxfile", 8))
    return "vhdx";
  /* VDI: the signature 0xbeda107f, little-endian, at 0x40. */
  if (p && len >= 0x44 && p[0x40] == 0x7f && p[0x41] == 0x10
      && p[0x42] == 0xda && p[0x43] == 0xbe)
    return "vdi";
  /* VHD: dynamic disks begin with a copy of the footer; fixed disks only
   * have the footer, in the last 512 bytes. */
  if (has_magic (buf, len, 0, "conectix", 8))
    return "vpc";
  if (tail && tail_len >= 512
      && has_magic (tail, tail_len, tail_len - 512, "conectix", 8))
    return "vpc";
  /* Not one we support, but better refused by name than shown as raw
   * bytes: qed has backing files of its own. */
  if (has_magic (buf, len, 0, "QED\0", 4))
    return "qed";
  return "raw";
}

/* qemu reads "proto:rest" as a protocol when the colon comes before any
 * slash ("nbd:...", "json:{...}", "http://..."). */
static bool
looks_like_protocol (const char *name)
{
  const char *colon = strchr (name, ':');
  const char *slash = strchr (name, '/');
  return colon && (!slash || colon < slash);
}

int
image_backing_allowed (const char *image_dir, const char *backing)
{
  _cleanup_free_ char *dir = NULL, *joined = NULL, *resolved = NULL;

  if (!image_dir || !backing || !*backing)
    return -EINVAL;
  if (looks_like_protocol (backing))
    return -EPERM;
  dir = realpath (image_dir, NULL);
  if (!dir)
    return -errno;
  if (backing[0] == '/')
    joined = xstrdup (backing);
  else
    joined = xasprintf ("%s/%s", dir, backing);
  resolved = realpath (joined, NULL);
  if (!resolved)
    return -errno;

  /* Strictly below dir: "dir/..." (the root directory contains every
   * path). */
  size_t n = strlen (dir);
  if (strcmp (dir, "/") == 0)
    return strcmp (resolved, "/") == 0 ? -EPERM : 0;
  if (strncmp (resolved, dir, n) == 0 && resolved[n] == '/'
      && resolved[n + 1] != '\0')
    return 0;
  return -EPERM;
}

/* Read up to max bytes of a memfd from its start into a NUL-terminated
 * string. */
static char *
read_memfd (int fd, size_t max)
{
  char *buf = xcalloc (1, max + 1);
  size_t got = 0;

  while (got < max) {
    ssize_t n = pread (fd, buf + got, max - got, (off_t) got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t) n;
  }
  buf[got] = '\0';
  return buf;
}

/* First non-empty line of a program's stderr, without "prog: ", safe to
 * print. */
static char *
first_line (const char *text, const char *prog)
{
  _cleanup_free_ char *copy = xstrdup (text);
  _cleanup_free_ char *prefix = xasprintf ("%s: ", prog);
  char *save = NULL;

  for (char *line = strtok_r (copy, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *m = strstr (line, prefix);
    if (m)
      line = m + strlen (prefix);
    strstrip (line);
    if (*line)
      return sanitize_string (line, 1024);
  }
  return NULL;
}

/* Run prog argv with stdin /dev/null, stdout and stderr captured in memfds
 * (no pipe can fill up and block it).  Returns the exit status (>= 0,
 * 128+signal when killed), or -errno when it could not run. */
static int
run_capture (const char *prog, char *const argv[], char **ret_out,
             char **ret_err)
{
  _cleanup_close_ int outfd = -1, errfd = -1, pidfd = -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, dfl;
  pid_t pid;
  int r, status;

  outfd = memfd_create ("qemu-img-stdout", MFD_CLOEXEC);
  errfd = memfd_create ("qemu-img-stderr", MFD_CLOEXEC);
  if (outfd < 0 || errfd < 0)
    return -errno;

  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, outfd, 1);
  posix_spawn_file_actions_adddup2 (&fa, errfd, 2);
  posix_spawn_file_actions_addclosefrom_np (&fa, 3);
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  sigemptyset (&dfl);
  sigaddset (&dfl, SIGPIPE);
  sigaddset (&dfl, SIGTERM);
  sigaddset (&dfl, SIGINT);
  sigaddset (&dfl, SIGHUP);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &dfl);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK
                                     | POSIX_SPAWN_SETSIGDEF);
  r = posix_spawn (&pid, prog, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (r != 0)
    return -r;

  /* qemu-img info reads a few headers; a minute means something is
   * badly wrong (e.g. a hung network file system). */
  pidfd = pidfd_open (pid, 0);
  if (pidfd >= 0) {
    struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
    int p;
    do
      p = poll (&pfd, 1, QEMU_IMG_TIMEOUT_MS);
    while (p < 0 && errno == EINTR);
    if (p == 0) {
      log_debug (LOG_CAT_BLOCK, "%s did not finish, killing it", prog);
      pidfd_send_signal (pidfd, SIGKILL, NULL, 0);
    }
  }
  while (waitpid (pid, &status, 0) < 0) {
    if (errno != EINTR)
      return -errno;
  }

  *ret_out = read_memfd (outfd, QEMU_IMG_OUT_MAX);
  *ret_err = read_memfd (errfd, QEMU_IMG_ERR_MAX);
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  return 128 + (WIFSIGNALED (status) ? WTERMSIG (status) : 0);
}

/* `qemu-img info --output=json [-f fmt] -- file`.  qemu-img opens the file
 * alone (never its backing file).  On failure ret_msg gets "cannot attach
 * PATH: <qemu-img's first line>". */
static int
qemu_img_info (const char *qemu_img, const char *user_path, const char *file,
               const char *fmt, json_object **ret, char **ret_msg)
{
  _cleanup_free_ char *out = NULL, *err = NULL;
  struct strv args = { 0 };
  int r;

  strv_push (&args, xstrdup ("qemu-img"));
  strv_push (&args, xstrdup ("info"));
  strv_push (&args, xstrdup ("--output=json"));
  if (fmt)
    strv_pushf (&args, "--format=%s", fmt);
  strv_push (&args, xstrdup ("--"));
  strv_push (&args, xstrdup (file));
  r = run_capture (qemu_img, args.v, &out, &err);
  strv_clear (&args);
  if (r < 0)
    return set_errmsg (ret_msg, r, "cannot attach %s: cannot run qemu-img: %s",
                       user_path, strerror (-r));
  if (r != 0) {
    _cleanup_free_ char *line = first_line (err, "qemu-img");
    log_debug (LOG_CAT_BLOCK, "qemu-img info %s exited with %d", file, r);
    return set_errmsg (ret_msg, -EINVAL, "cannot attach %s: %s", user_path,
                       line ? line : "qemu-img info failed");
  }

  json_tokener *tok = json_tokener_new ();
  if (!tok)
    return set_errmsg (ret_msg, -ENOMEM, "cannot attach %s: out of memory",
                       user_path);
  json_object *obj = json_tokener_parse_ex (tok, out, (int) strlen (out));
  enum json_tokener_error jerr = json_tokener_get_error (tok);
  json_tokener_free (tok);
  if (!obj || jerr != json_tokener_success
      || !json_object_is_type (obj, json_type_object)) {
    json_object_put (obj);
    return set_errmsg (ret_msg, -EINVAL,
                       "cannot attach %s: cannot parse the output of "
                       "qemu-img info",
                       user_path);
  }
  *ret = obj;
  return 0;
}

static const char *
json_string_field (json_object *obj, const char *key)
{
  json_object *v;
  if (!obj || !json_object_object_get_ex (obj, key, &v)
      || !json_object_is_type (v, json_type_string))
    return NULL;
  return json_object_get_string (v);
}

/* A host file the image refers to (written as name, relative to ref_dir,
 * the directory of the image that names it) must lie inside top_dir.  On
 * success *ret_resolved (optional) is its real path. */
static int
check_reference (const char *user_path, const char *top_dir,
                 const char *ref_dir, const char *what, const char *name,
                 char **ret_resolved, char **ret_msg)
{
  _cleanup_free_ char *shown = sanitize_string (name, 1024);
  _cleanup_free_ char *abs = NULL;
  int r;

  if (looks_like_protocol (name))
    r = -EPERM;
  else {
    abs = name[0] == '/' ? xstrdup (name) : xasprintf ("%s/%s", ref_dir, name);
    r = image_backing_allowed (top_dir, abs);
  }
  if (r == -EPERM)
    return set_errmsg (ret_msg, r,
                       "cannot attach %s: %s %s is outside the image's "
                       "directory (use --allow-backing to allow it)",
                       user_path, what, shown);
  if (r < 0)
    return set_errmsg (ret_msg, r, "cannot attach %s: %s %s: %s", user_path,
                       what, shown, strerror (-r));
  if (ret_resolved) {
    *ret_resolved = realpath (abs, NULL);
    if (!*ret_resolved)
      return set_errmsg (ret_msg, -errno, "cannot attach %s: %s %s: %m",
                         user_path, what, shown);
  }
  return 0;
}

/* Names of other host files a format-specific block mentions: vmdk
 * extents (a monolithic sparse vmdk lists itself, which passes) and a qcow2
 * external data file. */
static int
check_format_specific (json_object *info, const char *user_path,
                       const char *top_dir, const char *ref_dir,
                       char **ret_msg)
{
  json_object *fs, *data, *v;
  int r;

  if (!json_object_object_get_ex (info, "format-specific", &fs)
      || !json_object_object_get_ex (fs, "data", &data)
      || !json_object_is_type (data, json_type_object))
    return 0;

  const char *data_file = json_string_field (data, "data-file");
  if (data_file) {
    r = check_reference (user_path, top_dir, ref_dir, "data file", data_file,
                         NULL, ret_msg);
    if (r < 0)
      return r;
  }
  if (json_object_object_get_ex (data, "extents", &v)
      && json_object_is_type (v, json_type_array)) {
    size_t n = json_object_array_length (v);
    for (size_t i = 0; i < n; i++) {
      const char *f
          = json_string_field (json_object_array_get_idx (v, i), "filename");
      if (!f)
        continue;
      r = check_reference (user_path, top_dir, ref_dir, "extent file", f,
                           NULL, ret_msg);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

/* Walk the chain with qemu-img info, one file at a time, checking every
 * host file each one names.  With allow_backing only the top image is
 * checked by qemu-img (corrupt images are still caught). */
static int
check_chain (const char *qemu_img, const char *user_path, const char *abspath,
             const char *format, bool allow_backing, char **ret_msg)
{
  _cleanup_free_ char *top_dir = NULL, *cur = xstrdup (abspath);
  _cleanup_free_ char *cur_fmt = xstrdup (format);
  _cleanup_free_ char *tmp = xstrdup (abspath);
  int r;

  top_dir = xstrdup (dirname (tmp));
  for (int depth = 0;; depth++) {
    json_object *info = NULL;

    if (depth > BACKING_DEPTH_MAX)
      return set_errmsg (ret_msg, -ELOOP,
                         "cannot attach %s: backing chain longer than %d",
                         user_path, BACKING_DEPTH_MAX);
    r = qemu_img_info (qemu_img, user_path, cur, cur_fmt, &info, ret_msg);
    if (r < 0)
      return r;

    /* Without a format, qemu probes the file: take what it found. */
    if (!cur_fmt) {
      const char *probed = json_string_field (info, "format");
      if (!probed || !image_format_supported (probed)) {
        _cleanup_free_ char *shown
            = sanitize_string (probed ? probed : "?", 64);
        _cleanup_free_ char *file = sanitize_string (cur, 1024);
        json_object_put (info);
        return set_errmsg (ret_msg, -ENOTSUP,
                           "cannot attach %s: backing file %s has "
                           "unsupported format '%s'",
                           user_path, file, shown);
      }
      cur_fmt = xstrdup (probed);
    }
    log_debug (LOG_CAT_BLOCK, "%s: chain[%d] %s (%s)", user_path, depth, cur,
               cur_fmt);
    if (allow_backing) {
      json_object_put (info);
      return 0;
    }

    _cleanup_free_ char *curcopy = xstrdup (cur);
    _cleanup_free_ char *ref_dir = xstrdup (dirname (curcopy));
    r = check_format_specific (info, user_path, top_dir, ref_dir, ret_msg);
    if (r < 0) {
      json_object_put (info);
      return r;
    }

    const char *backing = json_string_field (info, "backing-filename");
    if (!backing || !*backing) {
      json_object_put (info);
      return 0;
    }
    char *next = NULL;
    r = check_reference (user_path, top_dir, ref_dir, "backing file", backing,
                         &next, ret_msg);
    if (r < 0) {
      json_object_put (info);
      return r;
    }
    const char *bfmt = json_string_field (info, "backing-filename-format");
    free (cur_fmt);
    cur_fmt = bfmt ? xstrdup (bfmt) : NULL;
    free (cur);
    cur = next;
    json_object_put (info);
    if (cur_fmt && !image_format_supported (cur_fmt)) {
      _cleanup_free_ char *shown = sanitize_string (cur_fmt, 64);
      return set_errmsg (ret_msg, -ENOTSUP,
                         "cannot attach %s: backing file has unsupported "
                         "format '%s'",
                         user_path, shown);
    }
  }
}

/* First PROBE_HEAD and last PROBE_TAIL bytes of a file. */
static int
probe_file (const char *path, const char **ret_format, char **ret_msg)
{
  unsigned char head[PROBE_HEAD], tail[PROBE_TAIL];
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }
  uint64_t size = (uint64_t) st.st_size;
  size_t hl = size < PROBE_HEAD ? (size_t) size : PROBE_HEAD;
  size_t tl = size < PROBE_TAIL ? 0 : PROBE_TAIL;
  int r = pread_full (fd, head, hl, 0);
  if (r == 0 && tl)
    r = pread_full (fd, tail, tl, size - tl);
  if (r < 0)
    return set_errmsg (ret_msg, r, "cannot attach %s: %s", path,
                       strerror (-r));
  *ret_format = image_probe_buffer (head, hl, tl ? tail : NULL, tl);
  return 0;
}

int
image_open (const char *path, const char *format, bool readonly,
            bool allow_backing, const char *name, struct bdev **ret,
            char **ret_format, char **ret_msg)
{
  _cleanup_free_ char *abspath = NULL, *qemu_img = NULL;
  struct stat st;
  int r;

  if (stat (path, &st) < 0) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }
  if (S_ISDIR (st.st_mode))
    return set_errmsg (ret_msg, -EISDIR, "cannot attach %s: is a directory",
                       path);

  if (!format) {
    if (S_ISBLK (st.st_mode))
      format = "raw";
    else if (S_ISREG (st.st_mode)) {
      r = probe_file (path, &format, ret_msg);
      if (r < 0)
        return r;
      log_debug (LOG_CAT_BLOCK, "%s: probed format %s", path, format);
    }
    else
      return set_errmsg (ret_msg, -EINVAL,
                         "cannot attach %s: not a regular file or block "
                         "device",
                         path);
  }
  if (!image_format_supported (format))
    return set_errmsg (ret_msg, -ENOTSUP,
                       "unsupported format '%s' for %s (supported: %s)",
                       format, path, image_supported_formats ());

  if (strcmp (format, "raw") == 0) {
    r = bdev_file_open (path, readonly, name, ret, ret_msg);
    if (r < 0)
      return r;
    if (ret_format)
      *ret_format = xstrdup ("raw");
    return 0;
  }

  if (!find_program (QEMU_NBD_DEFAULT, NULL))
    return set_errmsg (ret_msg, -ENOENT,
                       "cannot attach %s: qemu-nbd not found (install "
                       "qemu-utils)",
                       path);
  if (!find_program (QEMU_IMG_DEFAULT, &qemu_img))
    return set_errmsg (ret_msg, -ENOENT,
                       "cannot attach %s: qemu-img not found (install "
                       "qemu-utils)",
                       path);
  abspath = realpath (path, NULL);
  if (!abspath) {
    int err = errno;
    return set_errmsg (ret_msg, -err, "cannot attach %s: %s", path,
                       strerror (err));
  }
  r = check_chain (qemu_img, path, abspath, format, allow_backing, ret_msg);
  if (r < 0)
    return r;

  r = bdev_nbd_open (path, format, readonly, 4, name, ret, ret_msg);
  if (r < 0)
    return r;
  if (ret_format)
    *ret_format = xstrdup (format);
  return 0;
}
