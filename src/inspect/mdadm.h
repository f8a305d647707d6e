/* nguestmount: the guest's mdadm.conf (which name its fstab gives an md
 * array).  Pure parsing, unit tested. */
#ifndef NGM_INSPECT_MDADM_H
#define NGM_INSPECT_MDADM_H

#include <stdbool.h>
#include <stddef.h>

struct mdadm_array {
  char *device;        /* "/dev/md0", "/dev/md/root" */
  char uuid[33];       /* 32 lower-case hex digits, no separators */
};

/* Parse mdadm.conf text: ARRAY lines (keyword case-insensitive, any
 * abbreviation of at least 3 letters as mdadm allows, continuation lines
 * starting with white space, '#' comments) with a device and a uuid=
 * tag.  Lines without both are skipped.  At most max_arrays are kept.
 * Never fails on content; returns the number of arrays (>= 0). */
size_t inspect_parse_mdadm_conf (const char *text, size_t len,
                                 size_t max_arrays,
                                 struct mdadm_array **ret);
void inspect_mdadm_free (struct mdadm_array *a, size_t n);

/* Reduce a UUID in any of mdadm's spellings ("a:b:c:d" words, dashes,
 * dots, spaces) to 32 lower-case hex digits.  False if it is not 128 bits
 * of hex. */
bool inspect_normalize_uuid (const char *in, char out[33]);

#endif /* NGM_INSPECT_MDADM_H */
