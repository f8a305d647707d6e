/* nguestmount: parsers for guest configuration files.
 *
 * Every function here is pure: it works on a memory buffer the caller read
 * from the guest (already size-capped), does no I/O, and survives any bytes
 * (NUL, binary, unterminated last line, huge lines, unbalanced quotes).
 * Returned strings are newly allocated, sanitized (sanitize_string) and
 * capped at PARSE_VALUE_MAX bytes.
 */
#ifndef NGM_INSPECT_PARSE_H
#define NGM_INSPECT_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"
#include "inspect/inspect.h"

/* Longest value kept from a guest file (longer ones are truncated). */
#define PARSE_VALUE_MAX 1024
/* Most fstab entries kept; the rest are dropped with a warning. */
#define PARSE_FSTAB_MAX 10000

/* Value of KEY in shell-style KEY=VALUE text (os-release, lsb-release,
 * /etc/sysconfig/network): double and single quotes, backslash escapes;
 * the last assignment wins.  NULL when absent. */
char *parse_shell_var (const char *buf, size_t len, const char *key);

/* /etc/os-release (os-release(5)). */
struct parsed_os_release {
  char *id; /* "fedora", NULL when absent */
  char *id_like;
  char *version_id;
  char *name;
  char *pretty_name;
  char *build_id;
  char *version_codename;
};
void parse_os_release (const char *buf, size_t len,
                       struct parsed_os_release *ret);
void parsed_os_release_clear (struct parsed_os_release *r);

/* /etc/lsb-release. */
struct parsed_lsb_release {
  char *distrib_id;
  char *distrib_release;
  char *distrib_description;
};
void parse_lsb_release (const char *buf, size_t len,
                        struct parsed_lsb_release *ret);
void parsed_lsb_release_clear (struct parsed_lsb_release *r);

/* First line of a file that is not empty after trimming white space,
 * sanitized.  NULL if there is none. */
char *parse_first_line (const char *buf, size_t len);

/* "12" → 12,0; "22.04" → 22,4; "3.19.1" → 3,19; "CentOS Linux release
 * 7.9.2009" → 7,9 (the first "N.M" anywhere, else the first "N").  Returns
 * false and 0,0 when no number is found (or it does not fit an int). */
bool parse_version (const char *s, int *ret_major, int *ret_minor);

/* os-release ID → distro value ("arch" → "archlinux"); NULL if unknown. */
const char *parse_distro_of_os_release_id (const char *id);
/* lsb-release DISTRIB_ID → distro value; NULL if unknown. */
const char *parse_distro_of_lsb_id (const char *id);
/* True for distros without version numbers (archlinux, gentoo, voidlinux). */
bool parse_distro_is_rolling (const char *distro);

/* What a release file says. */
struct parsed_release {
  const char *distro; /* static distro value, NULL if not recognised */
  char *product_name; /* first line of the file, NULL if none */
  bool have_version;
  int major;
  int minor;
};
void parsed_release_clear (struct parsed_release *r);

/* The Linux release files, in the order they are tried (NULL-terminated).
 * Several distros ship more than one; the first one that parses wins. */
extern const char *const parse_release_files[];

/* Parse the contents of the release file at guest path (one of
 * parse_release_files).  Returns true when the file identified a distro
 * (ret filled), false when it did not (try the next file). */
bool parse_release_file (const char *path, const char *buf, size_t len,
                         struct parsed_release *ret);

/* Generic release text: product name = first line; when regex (POSIX ERE,
 * up to two groups: major, minor) is given it must match that line,
 * otherwise a version is looked for anywhere in it.  Used for BSD
 * /etc/motd, /etc/release and Minix /etc/version.  Returns true on a
 * match. */
bool parse_release_text (const char *distro, const char *regex, const char *buf,
                         size_t len, struct parsed_release *ret);

/* ELF header (at least the first 20 bytes of the file) → architecture
 * ("x86_64", "i386", "aarch64", "ppc64le", ...); NULL if not ELF or the
 * machine is unknown. */
const char *parse_elf_arch (const void *buf, size_t len);

/* libosinfo short id from type/distro/version, as libguestfs guesses it
 * ("debian12", "ubuntu22.04", "rhel9.3", "centos7.0", "centos-stream9",
 * "sle15sp5", "archlinux"); "unknown" if none can be guessed.
 * product_name (may be NULL) tells CentOS Stream 8 from CentOS 8. */
char *parse_osinfo (const char *type, const char *distro, int major, int minor,
                    const char *product_name);

/* Package format / manager for a distro ("deb"/"apt", "rpm"/"dnf", ...);
 * "unknown" when there is none.  Static strings. */
const char *parse_package_format (const char *distro);
const char *parse_package_management (const char *distro, int major);

/* /etc/hostname, /etc/HOSTNAME, /etc/myname: the first line that is not
 * empty and not a comment, trimmed.  NULL if none. */
char *parse_hostname (const char *buf, size_t len);

/* An fstab (fstab(5)) parsed by libmount.  Lines that do not parse are
 * skipped with a warning "<what>: line N: ...", never abort the parse; at
 * most PARSE_FSTAB_MAX entries are kept.  Entries get their mountpoint
 * normalised ("//usr//local/" → "/usr/local").  Returns 0, or -errno on a
 * host failure (out of memory). */
int parse_fstab (const char *buf, size_t len, const char *what,
                 struct inspect_fstab_entry **ret_entries, size_t *ret_n,
                 struct strv *warnings);
void parse_fstab_free (struct inspect_fstab_entry *entries, size_t n);

#endif /* NGM_INSPECT_PARSE_H */
