/* nguestmount: small helpers shared by every module. */
#ifndef NGM_UTIL_H
#define NGM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Size caps for anything read from a guest. */
#define GUEST_FILE_MAX (4u * 1024 * 1024)       /* small text files */

/* Set *ret_msg (when ret_msg is not NULL) to a newly allocated message built
 * from fmt.  Always returns err, so callers can write
 *   return set_errmsg (ret_msg, -ENOENT, "cannot open %s", path);
 */
int set_errmsg (char **ret_msg, int err, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* asprintf that aborts on out-of-memory (the daemon cannot do anything
 * useful without memory). */
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xstrdup (const char *s);       /* NULL in, NULL out */
void *xcalloc (size_t n, size_t size);
void *xrealloc_array (void *p, size_t n, size_t size);

/* Growable NULL-terminated string vector. */
struct strv {
  char **v;           /* NULL-terminated, or NULL when empty */
  size_t n;
};
void strv_push (struct strv *s, char *str);     /* takes ownership */
void strv_pushf (struct strv *s, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
bool strv_contains (const struct strv *s, const char *str);
void strv_clear (struct strv *s);
/* The strings joined with sep between them; "" for an empty vector. */
char *strv_join (const struct strv *s, const char *sep);

/* Resolve path (absolute or relative, in guest terms) inside the tree whose
 * root directory is rootfd, never leaving it: openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV.  Guest symlinks are followed only
 * inside the root.  flags are open flags (O_CLOEXEC is always added).
 * Returns fd >= 0 or -errno. */
int open_in_root (int rootfd, const char *path, int flags);

/* Like open_in_root but on failure-free existence check; fills st. */
int stat_in_root (int rootfd, const char *path, struct stat *st);
bool is_dir_in_root (int rootfd, const char *path);
bool is_file_in_root (int rootfd, const char *path);
bool exists_in_root (int rootfd, const char *path);

/* Read a regular file of the guest into a NUL-terminated buffer.  Files
 * larger than max give -EFBIG; non-regular files -EINVAL.  *ret_len
 * (optional) is the length without the terminating NUL. */
int read_file_in_root (int rootfd, const char *path, size_t max, char **ret,
                       size_t *ret_len);

/* A guest file opened with O_NONBLOCK (so that a FIFO cannot hang the
 * open): -EINVAL unless it is a regular file; then O_NONBLOCK is cleared,
 * because a read of a regular file may otherwise fail with EAGAIN while
 * its pages are being read in.  Fills *ret_st when not NULL. */
int fd_check_regular (int fd, struct stat *ret_st);

/* The same on an open fd (a regular file; -EINVAL otherwise). */
int read_fd_capped (int fd, size_t max, char **ret, size_t *ret_len);

/* Read at most max bytes from the start of a guest file (for headers).
 * Returns bytes read >= 0, or -errno. */
ssize_t read_head_in_root (int rootfd, const char *path, void *buf, size_t max);

/* Remove leading and trailing ASCII white space in place; returns s. */
char *strstrip (char *s);
/* Replace control characters (and invalid UTF-8 bytes) with '?' so a guest
 * string can be shown safely; returns a new string. */
char *sanitize_string (const char *s, size_t max_len);

bool str_has_prefix (const char *s, const char *prefix);
bool str_has_suffix (const char *s, const char *suffix);

/* pread/pwrite looping over short transfers; return 0 or -errno (-EIO at an
 * unexpected end of file). */
int pread_full (int fd, void *buf, size_t count, uint64_t offset);
int pwrite_full (int fd, const void *buf, size_t count, uint64_t offset);

/* Look up a program in PATH; returns true when an executable is found. */
bool find_program (const char *name, char **ret_path);

#endif /* NGM_UTIL_H */
