/* nguestmount: logging.
 *
 * Library code (src/) logs only at debug level; the caller at the top prints
 * the one user-facing error.  Debug output is switched on per category by
 * NGUESTMOUNT_DEBUG=block,stack,mount,inspect,fuse,export (or "all"), or for
 * every category by -v.  Keys and passphrases are never logged.
 */
#ifndef NGM_LOG_H
#define NGM_LOG_H

#include <stdbool.h>

enum log_category {
  LOG_CAT_MAIN = 0,
  LOG_CAT_BLOCK,
  LOG_CAT_STACK,
  LOG_CAT_MOUNT,
  LOG_CAT_INSPECT,
  LOG_CAT_FUSE,
  LOG_CAT_EXPORT,
  LOG_CAT_COUNT
};

/* Read NGUESTMOUNT_DEBUG; enable every category when verbose is true. */
void log_init (bool verbose);
bool log_enabled (enum log_category cat);
void log_set_trace (bool on);
bool log_trace_enabled (void);

void log_debug_cat (enum log_category cat, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* User-facing messages: "nguestmount: <msg>" on stderr. */
void log_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void log_warning (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void log_note (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#define log_debug(cat, ...)                          \
  do {                                               \
    if (log_enabled (cat))                           \
      log_debug_cat ((cat), __VA_ARGS__);            \
  } while (0)

#endif /* NGM_LOG_H */
