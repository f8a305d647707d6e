/* nguestmount: parsing the guest's mdadm.conf (see mdadm.h). */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "inspect/mdadm.h"

bool
inspect_normalize_uuid (const char *in, char out[33])
{
  size_t n = 0;
  for (const char *p = in; *p; p++) {
    if (*p == ':' || *p == '-' || *p == '.' || *p == ' ')
      continue;
    if (!isxdigit ((unsigned char) *p) || n == 32)
      return false;
    out[n++] = (char) tolower ((unsigned char) *p);
  }
  out[n] = '\0';
  return n == 32;
}

/* mdadm accepts a keyword abbreviated to its first three letters. */
static bool
is_array_keyword (const char *w)
{
  size_t n = strlen (w);
  return n >= 3 && n <= 5 && strncasecmp (w, "array", n) == 0;
}

/* One logical line (continuations already joined), tokenised in place. */
static bool
parse_line (char *line, struct mdadm_array *ret)
{
  char *save = NULL;
  char *w = strtok_r (line, " \t", &save);
  if (!w || !is_array_keyword (w))
    return false;

  const char *device = NULL, *uuid = NULL;
  for (w = strtok_r (NULL, " \t", &save); w; w = strtok_r (NULL, " \t", &save)) {
    char *eq = strchr (w, '=');
    if (!eq) {
      if (!device && w[0] == '/')
        device = w;
      continue;
    }
    *eq = '\0';
    if (strcasecmp (w, "uuid") == 0)
      uuid = eq + 1;
  }
  if (!device || !uuid || !inspect_normalize_uuid (uuid, ret->uuid))
    return false;
  ret->device = sanitize_string (device, 4096);
  return true;
}

size_t
inspect_parse_mdadm_conf (const char *text, size_t len, size_t max_arrays,
                          struct mdadm_array **ret)
{
  struct mdadm_array *arr = NULL;
  size_t n = 0;
  /* Join continuation lines into one buffer per logical line. */
  _cleanup_free_ char *cur = xcalloc (len + 1, 1);
  size_t curlen = 0;
  size_t i = 0;

  *ret = NULL;
  while (i <= len) {
    size_t j = i;
    while (j < len && text[j] != '\n')
      j++;
    /* [i, j) is a physical line.  Cut comments; NUL bytes end it. */
    size_t end = i;
    while (end < j && text[end] != '#' && text[end] != '\0')
      end++;
    bool continuation = i < len && (text[i] == ' ' || text[i] == '\t');
    if (!continuation || curlen == 0) {
      if (curlen > 0 && n < max_arrays) {
        cur[curlen] = '\0';
        struct mdadm_array a = { 0 };
        if (parse_line (cur, &a)) {
          arr = xrealloc_array (arr, n + 1, sizeof *arr);
          arr[n++] = a;
        }
      }
      curlen = 0;
    }
    if (curlen > 0)
      cur[curlen++] = ' ';
    for (size_t k = i; k < end; k++)
      cur[curlen++] = text[k] == '\r' ? ' ' : text[k];
    if (j >= len)
      break;
    i = j + 1;
  }
  if (curlen > 0 && n < max_arrays) {
    cur[curlen] = '\0';
    struct mdadm_array a = { 0 };
    if (parse_line (cur, &a)) {
      arr = xrealloc_array (arr, n + 1, sizeof *arr);
      arr[n++] = a;
    }
  }
  *ret = arr;
  return n;
}

void
inspect_mdadm_free (struct mdadm_array *a, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (a[i].device);
  free (a);
}
