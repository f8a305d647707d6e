/* nguestmount: installed applications, internal interface (parsers are
 * exposed for the unit tests).
 *
 * Package databases are hostile input: every parser takes any bytes
 * (binary, unterminated, huge), caps each field, the number of
 * applications (APPS_MAX) and the memory they take (APPS_BYTES_MAX), and
 * sets `truncated` when something was dropped.
 */
#ifndef NGM_INSPECT_APPS_H
#define NGM_INSPECT_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/inspect.h"

#define APPS_MAX 100000                        /* applications per OS */
#define APPS_BYTES_MAX (128u * 1024 * 1024)    /* string bytes per OS */
#define APPS_FIELD_MAX (32u * 1024)            /* bytes per field */
#define APPS_LINE_MAX (64u * 1024)             /* longer lines are cut */
#define APPS_DB_MAX (256ull * 1024 * 1024)     /* bytes of a database read */

struct apps_list {
  struct inspect_app *v;
  size_t n;
  size_t cap;
  size_t bytes;          /* string bytes held */
  size_t max;            /* 0: APPS_MAX */
  bool truncated;        /* an application was dropped by a cap */
  size_t invalid;        /* entries skipped as malformed */
};

/* Add an application (takes ownership of every string in *app, which it
 * clears).  Returns false, and frees the strings, once the list is full. */
bool apps_list_add (struct apps_list *l, struct inspect_app *app);
void apps_list_sort (struct apps_list *l);
void apps_list_clear (struct apps_list *l);

/* "[epoch:]version[-release]" split as libguestfs does: the epoch before
 * the first ':' (digits, fitting an int), the release after the first '-'
 * that follows.  Returns 0, or -EINVAL for a bad epoch. */
int apps_split_version (const char *s, int *ret_epoch, char **ret_version,
                        char **ret_release);

/* Parsers over a whole buffer (need not be NUL-terminated). */
void apps_parse_dpkg_status (const char *buf, size_t len, struct apps_list *l);
void apps_parse_apk_installed (const char *buf, size_t len,
                               struct apps_list *l);
/* One /var/lib/pacman/local/<pkg>/desc file. */
void apps_parse_pacman_desc (const char *buf, size_t len, struct apps_list *l);

/* The rpm database in dbdir (a private host directory holding a copy of
 * the guest's database files), read with librpm in a child process;
 * backend is "sqlite", "ndb" or "bdb_ro".  Returns 0 or -errno with
 * *ret_msg saying why. */
int apps_rpm_read_db (const char *dbdir, const char *backend,
                      struct apps_list *l, char **ret_msg);

#endif /* NGM_INSPECT_APPS_H */
