/* nguestmount: logging (see log.h). */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

static bool enabled[LOG_CAT_COUNT];
static bool trace;

static const char *const names[LOG_CAT_COUNT] = {
  [LOG_CAT_MAIN] = "main",       [LOG_CAT_BLOCK] = "block",
  [LOG_CAT_STACK] = "stack",     [LOG_CAT_MOUNT] = "mount",
  [LOG_CAT_INSPECT] = "inspect", [LOG_CAT_FUSE] = "fuse",
  [LOG_CAT_EXPORT] = "export",
};

void
log_init (bool verbose)
{
  const char *env = getenv ("NGUESTMOUNT_DEBUG");

  for (int i = 0; i < LOG_CAT_COUNT; i++)
    enabled[i] = verbose;
  if (!env)
    return;

  char buf[256];
  snprintf (buf, sizeof buf, "%s", env);
  char *save = NULL;
  for (char *tok = strtok_r (buf, ",", &save); tok;
       tok = strtok_r (NULL, ",", &save)) {
    for (int i = 0; i < LOG_CAT_COUNT; i++)
      if (strcmp (tok, "all") == 0 || strcmp (tok, names[i]) == 0)
        enabled[i] = true;
  }
}

bool
log_enabled (enum log_category cat)
{
  return cat >= 0 && cat < LOG_CAT_COUNT && enabled[cat];
}

void
log_set_trace (bool on)
{
  trace = on;
}

bool
log_trace_enabled (void)
{
  return trace;
}

static void
vlog (const char *prefix, const char *fmt, va_list ap)
{
  /* One fprintf per line so threads do not interleave mid-line. */
  char msg[4096];
  vsnprintf (msg, sizeof msg, fmt, ap);
  fprintf (stderr, "nguestmount: %s%s\n", prefix, msg);
}

void
log_debug_cat (enum log_category cat, const char *fmt, ...)
{
  char prefix[32];
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  snprintf (prefix, sizeof prefix, "[%ld.%06ld %s] ", (long) ts.tv_sec,
            ts.tv_nsec / 1000, names[cat]);
  va_list ap;
  va_start (ap, fmt);
  vlog (prefix, fmt, ap);
  va_end (ap);
}

void
log_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vlog ("error: ", fmt, ap);
  va_end (ap);
}

void
log_warning (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vlog ("warning: ", fmt, ap);
  va_end (ap);
}

void
log_note (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vlog ("", fmt, ap);
  va_end (ap);
}
