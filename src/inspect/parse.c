/* nguestmount: parsers for guest configuration files (see parse.h).
 *
 * Nothing here does I/O.  Inputs are untrusted bytes: lines are bounded by
 * the buffer length (never by a NUL), values are capped at PARSE_VALUE_MAX
 * and sanitized, and regular expressions only ever see a short, capped
 * copy of one line.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmount.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "inspect/parse.h"

/* Release-file lines longer than this are cut before a regex sees them. */
#define RELEASE_LINE_MAX 256

/* ---------------------------------------------------------------------- */
/* Small helpers. */

static bool
c_isdigit (char c)
{
  return c >= '0' && c <= '9';
}

static bool
c_isalnum (char c)
{
  return c_isdigit (c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
c_isblank (char c)
{
  return c == ' ' || c == '\t';
}

/* Copy at most PARSE_VALUE_MAX bytes of s[0..n) into a new sanitized
 * string; NUL bytes inside become '?'. */
static char *
clean_value (const char *s, size_t n)
{
  if (n > PARSE_VALUE_MAX)
    n = PARSE_VALUE_MAX;
  _cleanup_free_ char *tmp = xcalloc (n + 1, 1);
  for (size_t i = 0; i < n; i++)
    tmp[i] = s[i] ? s[i] : '?';
  return sanitize_string (tmp, n);
}

/* Iterate over the lines of buf[0..len).  A trailing '\r' is dropped. */
struct line_iter {
  const char *p;
  const char *end;
  size_t lineno;
};

static void
line_iter_init (struct line_iter *it, const char *buf, size_t len)
{
  it->p = buf;
  it->end = buf + len;
  it->lineno = 0;
}

static bool
line_iter_next (struct line_iter *it, const char **ret_line, size_t *ret_len)
{
  if (!it->p || it->p >= it->end)
    return false;
  const char *nl = memchr (it->p, '\n', (size_t)(it->end - it->p));
  const char *e = nl ? nl : it->end;
  size_t n = (size_t)(e - it->p);
  if (n > 0 && it->p[n - 1] == '\r')
    n--;
  *ret_line = it->p;
  *ret_len = n;
  it->p = nl ? nl + 1 : it->end;
  it->lineno++;
  return true;
}

/* Trim blanks (and other ASCII white space) from both ends of [*s, *s+*n). */
static void
trim_span (const char **s, size_t *n)
{
  while (*n > 0
         && ((*s)[0] == ' ' || (*s)[0] == '\t' || (*s)[0] == '\v'
             || (*s)[0] == '\f' || (*s)[0] == '\r'))
    (*s)++, (*n)--;
  while (*n > 0
         && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\v'
             || (*s)[*n - 1] == '\f' || (*s)[*n - 1] == '\r'))
    (*n)--;
}

/* Parse a decimal number of at most 9 digits (always fits an int). */
static bool
span_to_int (const char *s, size_t n, int *ret)
{
  if (n == 0 || n > 9)
    return false;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!c_isdigit (s[i]))
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *ret = v;
  return true;
}

/* Match the POSIX ERE re against s (searching, not anchored unless the
 * expression says so).  Groups 1 and 2, where they matched digits, are
 * returned through ret_a / ret_b.  Returns false if there is no match. */
static bool
regex_match_numbers (const char *re, const char *s, bool *have_a, int *ret_a,
                     bool *have_b, int *ret_b)
{
  regex_t rx;
  regmatch_t m[3];
  *have_a = *have_b = false;
  if (regcomp (&rx, re, REG_EXTENDED) != 0) {
    log_debug (LOG_CAT_INSPECT, "cannot compile regex %s", re);
    return false;
  }
  int r = regexec (&rx, s, 3, m, 0);
  const size_t nsub = rx.re_nsub;
  regfree (&rx);
  if (r != 0)
    return false;
  if (nsub >= 1 && m[1].rm_so >= 0)
    *have_a = span_to_int (s + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so),
                           ret_a);
  if (nsub >= 2 && m[2].rm_so >= 0)
    *have_b = span_to_int (s + m[2].rm_so, (size_t)(m[2].rm_eo - m[2].rm_so),
                           ret_b);
  return true;
}

/* A short NUL-free copy of s (at most RELEASE_LINE_MAX bytes) for regexes. */
static char *
short_copy (const char *s)
{
  size_t n = strnlen (s, RELEASE_LINE_MAX);
  char *r = xcalloc (n + 1, 1);
  memcpy (r, s, n);
  return r;
}

/* ---------------------------------------------------------------------- */
/* Shell-style KEY=VALUE files. */

/* Unquote a shell word: '...' literal, "..." with \$ \` \" \\ escapes,
 * bare backslash escapes the next character, an unquoted blank ends the
 * word.  An unbalanced quote runs to the end of the line.  The result is
 * capped and sanitized. */
static char *
shell_unquote (const char *p, const char *e)
{
  char out[PARSE_VALUE_MAX + 1];
  size_t o = 0;
  enum { Q_NONE, Q_SINGLE, Q_DOUBLE } q = Q_NONE;

#define PUT(ch)                                                                \
  do {                                                                         \
    if (o < PARSE_VALUE_MAX)                                                   \
      out[o++] = (ch) ? (ch) : '?';                                            \
  } while (0)

  for (bool end = false; p < e && !end; p++) {
    char c = *p;
    switch (q) {
    case Q_NONE:
      if (c == '\'')
        q = Q_SINGLE;
      else if (c == '"')
        q = Q_DOUBLE;
      else if (c == '\\') {
        if (p + 1 < e) {
          p++;
          PUT (*p);
        }
      }
      else if (c_isblank (c))
        end = true;
      else
        PUT (c);
      break;
    case Q_SINGLE:
      if (c == '\'')
        q = Q_NONE;
      else
        PUT (c);
      break;
    case Q_DOUBLE:
      if (c == '"')
        q = Q_NONE;
      else if (c == '\\' && p + 1 < e
               && (p[1] == '$' || p[1] == '`' || p[1] == '"' || p[1] == '\\')) {
        p++;
        PUT (*p);
      }
      else
        PUT (c);
      break;
    }
  }
#undef PUT
  out[o] = '\0';
  return sanitize_string (out, o);
}

/* If line is "KEY=VALUE" (optionally "export KEY=VALUE"), return the key
 * span and the start of the value. */
static bool
split_assignment (const char *line, size_t n, const char **ret_key,
                  size_t *ret_keylen, const char **ret_value)
{
  size_t i = 0;
  while (i < n && c_isblank (line[i]))
    i++;
  if (n - i > 7 && memcmp (line + i, "export", 6) == 0
      && c_isblank (line[i + 6])) {
    i += 7;
    while (i < n && c_isblank (line[i]))
      i++;
  }
  size_t k = i;
  while (i < n && (c_isalnum (line[i]) || line[i] == '_'))
    i++;
  if (i == k || i >= n || line[i] != '=')
    return false;
  *ret_key = line + k;
  *ret_keylen = i - k;
  *ret_value = line + i + 1;
  return true;
}

/* Call fn for every assignment in buf. */
typedef void (*kv_fn) (const char *key, size_t keylen, const char *v,
                       const char *vend, void *opaque);

static void
kv_foreach (const char *buf, size_t len, kv_fn fn, void *opaque)
{
  struct line_iter it;
  const char *line, *key, *value;
  size_t n, keylen;

  if (!buf)
    return;
  line_iter_init (&it, buf, len);
  while (line_iter_next (&it, &line, &n))
    if (split_assignment (line, n, &key, &keylen, &value))
      fn (key, keylen, value, line + n, opaque);
}

static bool
key_is (const char *key, size_t keylen, const char *want)
{
  return strlen (want) == keylen && memcmp (key, want, keylen) == 0;
}

/* Replace *slot with the unquoted value (last assignment wins). */
static void
set_value (char **slot, const char *v, const char *vend)
{
  free (*slot);
  *slot = shell_unquote (v, vend);
}

struct var_lookup {
  const char *key;
  char *value;
};

static void
var_lookup_fn (const char *key, size_t keylen, const char *v, const char *vend,
               void *opaque)
{
  struct var_lookup *l = opaque;
  if (key_is (key, keylen, l->key))
    set_value (&l->value, v, vend);
}

char *
parse_shell_var (const char *buf, size_t len, const char *key)
{
  struct var_lookup l = { .key = key, .value = NULL };
  kv_foreach (buf, len, var_lookup_fn, &l);
  return l.value;
}

static void
os_release_fn (const char *key, size_t keylen, const char *v, const char *vend,
               void *opaque)
{
  struct parsed_os_release *r = opaque;
  if (key_is (key, keylen, "ID"))
    set_value (&r->id, v, vend);
  else if (key_is (key, keylen, "ID_LIKE"))
    set_value (&r->id_like, v, vend);
  else if (key_is (key, keylen, "VERSION_ID"))
    set_value (&r->version_id, v, vend);
  else if (key_is (key, keylen, "NAME"))
    set_value (&r->name, v, vend);
  else if (key_is (key, keylen, "PRETTY_NAME"))
    set_value (&r->pretty_name, v, vend);
  else if (key_is (key, keylen, "BUILD_ID"))
    set_value (&r->build_id, v, vend);
  else if (key_is (key, keylen, "VERSION_CODENAME"))
    set_value (&r->version_codename, v, vend);
}

void
parse_os_release (const char *buf, size_t len, struct parsed_os_release *ret)
{
  memset (ret, 0, sizeof *ret);
  kv_foreach (buf, len, os_release_fn, ret);
}

void
parsed_os_release_clear (struct parsed_os_release *r)
{
  if (!r)
    return;
  free (r->id);
  free (r->id_like);
  free (r->version_id);
  free (r->name);
  free (r->pretty_name);
  free (r->build_id);
  free (r->version_codename);
  memset (r, 0, sizeof *r);
}

static void
lsb_release_fn (const char *key, size_t keylen, const char *v, const char *vend,
                void *opaque)
{
  struct parsed_lsb_release *r = opaque;
  if (key_is (key, keylen, "DISTRIB_ID"))
    set_value (&r->distrib_id, v, vend);
  else if (key_is (key, keylen, "DISTRIB_RELEASE"))
    set_value (&r->distrib_release, v, vend);
  else if (key_is (key, keylen, "DISTRIB_DESCRIPTION"))
    set_value (&r->distrib_description, v, vend);
}

void
parse_lsb_release (const char *buf, size_t len, struct parsed_lsb_release *ret)
{
  memset (ret, 0, sizeof *ret);
  kv_foreach (buf, len, lsb_release_fn, ret);
}

void
parsed_lsb_release_clear (struct parsed_lsb_release *r)
{
  if (!r)
    return;
  free (r->distrib_id);
  free (r->distrib_release);
  free (r->distrib_description);
  memset (r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------- */
/* Lines and versions. */

char *
parse_first_line (const char *buf, size_t len)
{
  struct line_iter it;
  const char *line;
  size_t n;

  if (!buf)
    return NULL;
  line_iter_init (&it, buf, len);
  while (line_iter_next (&it, &line, &n)) {
    trim_span (&line, &n);
    if (n > 0)
      return clean_value (line, n);
  }
  return NULL;
}

bool
parse_version (const char *s, int *ret_major, int *ret_minor)
{
  bool ha, hb;
  int a = 0, b = 0;

  *ret_major = *ret_minor = 0;
  if (!s)
    return false;
  _cleanup_free_ char *c = short_copy (s);
  if (regex_match_numbers ("([0-9]+)\\.([0-9]+)", c, &ha, &a, &hb, &b) && ha
      && hb) {
    *ret_major = a;
    *ret_minor = b;
    return true;
  }
  if (regex_match_numbers ("([0-9]+)", c, &ha, &a, &hb, &b) && ha) {
    *ret_major = a;
    return true;
  }
  return false;
}

/* ---------------------------------------------------------------------- */
/* Distro names. */

struct id_map {
  const char *id;
  const char *distro;
};

static const struct id_map os_release_ids[] = {
  { "alpine", "alpinelinux" },
  { "altlinux", "altlinux" },
  { "arch", "archlinux" },
  { "buildroot", "buildroot" },
  { "centos", "centos" },
  { "circle", "circle" },
  { "coreos", "coreos" },
  { "debian", "debian" },
  { "fedora", "fedora" },
  { "frugalware", "frugalware" },
  { "gentoo", "gentoo" },
  { "kali", "kalilinux" },
  { "kylin", "kylin" },
  { "linuxmint", "linuxmint" },
  { "mageia", "mageia" },
  { "neokylin", "neokylin" },
  { "ol", "oraclelinux" },
  { "openEuler", "openeuler" },
  { "openmandriva", "openmandriva" },
  { "opensuse", "opensuse" },
  { "pardus", "pardus" },
  { "pld", "pldlinux" },
  { "rhel", "rhel" },
  { "rocky", "rocky" },
  { "scientific", "scientificlinux" },
  { "sled", "sles" },
  { "sles", "sles" },
  { "ubuntu", "ubuntu" },
  { "void", "voidlinux" },
};

const char *
parse_distro_of_os_release_id (const char *id)
{
  if (!id)
    return NULL;
  /* opensuse-leap, opensuse-tumbleweed, opensuse-microos, ... */
  if (str_has_prefix (id, "opensuse-"))
    return "opensuse";
  for (size_t i = 0; i < ARRAY_SIZE (os_release_ids); i++)
    if (strcmp (id, os_release_ids[i].id) == 0)
      return os_release_ids[i].distro;
  return NULL;
}

static const struct id_map lsb_ids[] = {
  { "CoreOS", "coreos" },
  { "LinuxMint", "linuxmint" },
  { "Mageia", "mageia" },
  { "Ubuntu", "ubuntu" },
};

const char *
parse_distro_of_lsb_id (const char *id)
{
  if (!id)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE (lsb_ids); i++)
    if (strcmp (id, lsb_ids[i].id) == 0)
      return lsb_ids[i].distro;
  return NULL;
}

bool
parse_distro_is_rolling (const char *distro)
{
  return distro
         && (strcmp (distro, "archlinux") == 0 || strcmp (distro, "gentoo") == 0
             || strcmp (distro, "voidlinux") == 0);
}

/* ---------------------------------------------------------------------- */
/* Release files. */

void
parsed_release_clear (struct parsed_release *r)
{
  if (!r)
    return;
  free (r->product_name);
  memset (r, 0, sizeof *r);
}

bool
parse_release_text (const char *distro, const char *regex, const char *buf,
                    size_t len, struct parsed_release *ret)
{
  memset (ret, 0, sizeof *ret);
  _cleanup_free_ char *first = parse_first_line (buf, len);
  if (!first)
    return false;

  if (regex) {
    bool ha, hb;
    int a = 0, b = 0;
    _cleanup_free_ char *c = short_copy (first);
    if (!regex_match_numbers (regex, c, &ha, &a, &hb, &b))
      return false;
    if (ha) {
      ret->have_version = true;
      ret->major = a;
      ret->minor = hb ? b : 0;
    }
  }
  else
    ret->have_version = parse_version (first, &ret->major, &ret->minor);

  ret->distro = distro;
  ret->product_name = TAKE_PTR (first);
  return true;
}

/* SuSE-release: the product on the first line, then "VERSION = 12" and
 * "PATCHLEVEL = 3". */
static bool
parse_suse_release (const char *buf, size_t len, struct parsed_release *ret)
{
  struct line_iter it;
  const char *line;
  size_t n;
  bool ha, hb, have_major = false, have_minor = false;
  int a, b, major = 0, minor = 0;

  memset (ret, 0, sizeof *ret);
  _cleanup_free_ char *first = parse_first_line (buf, len);
  if (!first)
    return false;
  _cleanup_free_ char *c = short_copy (first);

  if (regex_match_numbers ("^SUSE (Linux|LINUX) Enterprise ", c, &ha, &a, &hb,
                           &b)
      || regex_match_numbers ("^Novell Linux Desktop ", c, &ha, &a, &hb, &b)) {
    ret->distro = "sles";
    line_iter_init (&it, buf, len);
    while (line_iter_next (&it, &line, &n)) {
      _cleanup_free_ char *l = clean_value (line, n);
      _cleanup_free_ char *lc = short_copy (l);
      if (!have_major
          && regex_match_numbers ("^VERSION *= *([0-9]+)", lc, &ha, &a, &hb, &b)
          && ha)
        have_major = true, major = a;
      else if (!have_minor
               && regex_match_numbers ("^PATCHLEVEL *= *([0-9]+)", lc, &ha, &a,
                                       &hb, &b)
               && ha)
        have_minor = true, minor = a;
    }
    if (have_major) {
      ret->have_version = true;
      ret->major = major;
      ret->minor = have_minor ? minor : 0;
    }
  }
  else if (regex_match_numbers ("^(openSUSE|SuSE Linux|SUSE LINUX) ", c, &ha,
                                &a, &hb, &b)) {
    ret->distro = "opensuse";
    line_iter_init (&it, buf, len);
    while (line_iter_next (&it, &line, &n)) {
      _cleanup_free_ char *l = clean_value (line, n);
      if (str_has_prefix (l, "VERSION")) {
        ret->have_version = parse_version (l, &ret->major, &ret->minor);
        break;
      }
    }
  }
  else
    ret->distro = "suse-based";

  ret->product_name = TAKE_PTR (first);
  return true;
}

enum release_kind {
  REL_TEXT,      /* first line, optional regex */
  REL_NAME_ONLY, /* the file's existence names the distro */
  REL_SUSE,
};

struct release_rule {
  const char *path;
  enum release_kind kind;
  const char *distro;
  const char *regex;
};

/* In order: the first rule that matches wins.  Derivatives come before
 * /etc/redhat-release because they ship one too. */
static const struct release_rule release_rules[] = {
  { "/etc/openmandriva-release", REL_TEXT, "openmandriva",
    "OpenMandriva.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/oracle-release", REL_TEXT, "oraclelinux",
    "Oracle Linux.*release ([0-9]+).*Update ([0-9]+)" },
  { "/etc/oracle-release", REL_TEXT, "oraclelinux",
    "Oracle Linux.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/oracle-release", REL_TEXT, "oraclelinux",
    "Oracle Linux.*release ([0-9]+)" },
  { "/etc/centos-release", REL_TEXT, "centos",
    "CentOS.*release ([0-9]+).*Update ([0-9]+)" },
  { "/etc/centos-release", REL_TEXT, "centos",
    "CentOS.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/centos-release", REL_TEXT, "centos", "CentOS.*release ([0-9]+)" },
  { "/etc/circle-release", REL_TEXT, "circle",
    "Circle Linux.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/circle-release", REL_TEXT, "circle",
    "Circle Linux.*release ([0-9]+)" },
  { "/etc/rocky-release", REL_TEXT, "rocky",
    "Rocky Linux.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/rocky-release", REL_TEXT, "rocky", "Rocky Linux.*release ([0-9]+)" },
  { "/etc/altlinux-release", REL_TEXT, "altlinux", NULL },
  { "/etc/redhat-release", REL_TEXT, "fedora", "Fedora release ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "rhel",
    "Red Hat.*release ([0-9]+).*Update ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "rhel",
    "Red Hat.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "rhel", "Red Hat.*release ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "centos",
    "CentOS.*release ([0-9]+).*Update ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "centos",
    "CentOS.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "centos", "CentOS.*release ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "circle",
    "Circle Linux.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "circle",
    "Circle Linux.*release ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "rocky",
    "Rocky Linux.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "rocky", "Rocky Linux.*release ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "scientificlinux",
    "Scientific Linux.*release ([0-9]+).*Update ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "scientificlinux",
    "Scientific Linux.*release ([0-9]+)\\.([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "scientificlinux",
    "Scientific Linux.*release ([0-9]+)" },
  { "/etc/redhat-release", REL_TEXT, "redhat-based", NULL },
  { "/etc/redhat-release", REL_NAME_ONLY, "redhat-based", NULL },
  { "/etc/debian_version", REL_TEXT, "debian", NULL },
  { "/etc/pardus-release", REL_TEXT, "pardus", NULL },
  { "/etc/arch-release", REL_NAME_ONLY, "archlinux", NULL },
  { "/etc/gentoo-release", REL_TEXT, "gentoo", NULL },
  { "/etc/meego-release", REL_TEXT, "meego", NULL },
  { "/etc/slackware-version", REL_TEXT, "slackware", NULL },
  { "/etc/ttylinux-target", REL_TEXT, "ttylinux", NULL },
  { "/etc/SuSE-release", REL_SUSE, NULL, NULL },
  { "/etc/SuSE-release", REL_NAME_ONLY, "suse-based", NULL },
  { "/etc/cirros/version", REL_TEXT, "cirros", NULL },
  { "/etc/br-version", REL_TEXT, "buildroot", NULL },
  { "/etc/alpine-release", REL_TEXT, "alpinelinux", NULL },
  { "/etc/frugalware-release", REL_TEXT, "frugalware",
    "Frugalware ([0-9]+)\\.([0-9]+)" },
  { "/etc/pld-release", REL_TEXT, "pldlinux", "([0-9]+)\\.([0-9]+) PLD Linux" },
};

const char *const parse_release_files[] = {
  "/etc/openmandriva-release", "/etc/oracle-release",  "/etc/centos-release",
  "/etc/circle-release",       "/etc/rocky-release",   "/etc/altlinux-release",
  "/etc/redhat-release",       "/etc/debian_version",  "/etc/pardus-release",
  "/etc/arch-release",         "/etc/gentoo-release",  "/etc/meego-release",
  "/etc/slackware-version",    "/etc/ttylinux-target", "/etc/SuSE-release",
  "/etc/cirros/version",       "/etc/br-version",      "/etc/alpine-release",
  "/etc/frugalware-release",   "/etc/pld-release",     NULL
};

bool
parse_release_file (const char *path, const char *buf, size_t len,
                    struct parsed_release *ret)
{
  memset (ret, 0, sizeof *ret);
  for (size_t i = 0; i < ARRAY_SIZE (release_rules); i++) {
    const struct release_rule *r = &release_rules[i];
    if (strcmp (r->path, path) != 0)
      continue;
    switch (r->kind) {
    case REL_TEXT:
      if (parse_release_text (r->distro, r->regex, buf, len, ret))
        return true;
      break;
    case REL_SUSE:
      if (parse_suse_release (buf, len, ret))
        return true;
      break;
    case REL_NAME_ONLY:
      memset (ret, 0, sizeof *ret);
      ret->distro = r->distro;
      return true;
    }
  }
  return false;
}

/* ---------------------------------------------------------------------- */
/* ELF. */

const char *
parse_elf_arch (const void *buf, size_t len)
{
  const unsigned char *b = buf;

  if (!b || len < 20 || memcmp (b, "\177ELF", 4) != 0)
    return NULL;
  const int cls = b[4];  /* 1: 32-bit, 2: 64-bit */
  const int data = b[5]; /* 1: little endian, 2: big endian */
  if ((cls != 1 && cls != 2) || (data != 1 && data != 2))
    return NULL;
  const bool is64 = cls == 2, le = data == 1;
  const unsigned machine = le ? (unsigned)(b[18] | (b[19] << 8))
                              : (unsigned)((b[18] << 8) | b[19]);

  switch (machine) {
  case 2:  /* EM_SPARC */
  case 18: /* EM_SPARC32PLUS */
    return "sparc";
  case 3: /* EM_386 */
  case 6: /* EM_486 */
    return "i386";
  case 8: /* EM_MIPS */
    return is64 ? "mips64" : "mips";
  case 20: /* EM_PPC */
    return "ppc";
  case 21: /* EM_PPC64 */
    return le ? "ppc64le" : "ppc64";
  case 22: /* EM_S390 */
    return is64 ? "s390x" : "s390";
  case 40: /* EM_ARM */
    return "arm";
  case 43: /* EM_SPARCV9 */
    return "sparc64";
  case 50: /* EM_IA_64 */
    return "ia64";
  case 62: /* EM_X86_64 */
    return "x86_64";
  case 183: /* EM_AARCH64 */
    return "aarch64";
  case 243: /* EM_RISCV */
    return is64 ? "riscv64" : "riscv32";
  case 258: /* EM_LOONGARCH */
    return is64 ? "loongarch64" : "loongarch32";
  default:
    return NULL;
  }
}

/* ---------------------------------------------------------------------- */
/* osinfo and package management. */

static bool
streq (const char *a, const char *b)
{
  return a && b && strcmp (a, b) == 0;
}

char *
parse_osinfo (const char *type, const char *distro, int major, int minor,
              const char *product_name)
{
  if (!type || !distro)
    return xstrdup ("unknown");

  if (streq (type, "linux")) {
    if (streq (distro, "centos")) {
      /* libosinfo knows CentOS 8 and CentOS Stream 8, and only Stream
       * from 9 on. */
      if (major >= 9)
        return xasprintf ("centos-stream%d", major);
      if (major == 8)
        return xasprintf (product_name && strstr (product_name, "Stream")
                              ? "centos-stream%d"
                              : "centos%d",
                          major);
      if (major == 7)
        return xasprintf ("centos%d.0", major);
      if (major == 6)
        return xasprintf ("centos%d.%d", major, minor);
    }
    else if (streq (distro, "circle") || streq (distro, "rocky")) {
      if (major >= 8)
        return xasprintf ("%s%d", distro, major);
    }
    else if (streq (distro, "debian")) {
      if (major >= 4)
        return xasprintf ("debian%d", major);
    }
    else if (streq (distro, "fedora") || streq (distro, "mageia"))
      return xasprintf ("%s%d", distro, major);
    else if (streq (distro, "sles")) {
      const char *base = major >= 15 ? "sle" : "sles";
      if (minor == 0)
        return xasprintf ("%s%d", base, major);
      return xasprintf ("%s%dsp%d", base, major, minor);
    }
    else if (streq (distro, "ubuntu"))
      return xasprintf ("ubuntu%d.%02d", major, minor);
    else if (parse_distro_is_rolling (distro))
      return xstrdup (distro);
    else if (streq (distro, "altlinux")) {
      if (major >= 8)
        return xasprintf ("alt%d.%d", major, minor);
      return xasprintf ("altlinux%d.%d", major, minor);
    }

    if (!streq (distro, "unknown") && (major > 0 || minor > 0))
      return xasprintf ("%s%d.%d", distro, major, minor);
  }
  else if (streq (type, "freebsd") || streq (type, "netbsd")
           || streq (type, "openbsd"))
    return xasprintf ("%s%d.%d", distro, major, minor);
  else if (streq (type, "dos") && streq (distro, "msdos"))
    return xstrdup ("msdos6.22");

  return xstrdup ("unknown");
}

static const char *const rpm_distros[] = {
  "altlinux",     "centos",          "circle",      "fedora",       "kylin",
  "mageia",       "mandriva",        "meego",       "neokylin",     "openeuler",
  "openmandriva", "opensuse",        "oraclelinux", "redhat-based", "rhel",
  "rocky",        "scientificlinux", "sles",        "suse-based",
};
static const char *const deb_distros[] = {
  "debian",
  "kalilinux",
  "linuxmint",
  "ubuntu",
};

static bool
in_list (const char *s, const char *const *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (streq (s, list[i]))
      return true;
  return false;
}

const char *
parse_package_format (const char *distro)
{
  if (!distro)
    return "unknown";
  if (in_list (distro, rpm_distros, ARRAY_SIZE (rpm_distros)))
    return "rpm";
  if (in_list (distro, deb_distros, ARRAY_SIZE (deb_distros)))
    return "deb";
  if (streq (distro, "archlinux"))
    return "pacman";
  if (streq (distro, "gentoo"))
    return "ebuild";
  if (streq (distro, "pardus"))
    return "pisi";
  if (streq (distro, "alpinelinux"))
    return "apk";
  if (streq (distro, "voidlinux"))
    return "xbps";
  return "unknown";
}

const char *
parse_package_management (const char *distro, int major)
{
  static const char *const rhel_family[] = {
    "centos",       "circle", "kylin", "oraclelinux",
    "redhat-based", "rhel",   "rocky", "scientificlinux",
  };
  static const char *const apt_family[] = {
    "altlinux", "debian", "kalilinux", "linuxmint", "ubuntu",
  };
  static const char *const dnf_family[] = {
    "neokylin",
    "openeuler",
    "openmandriva",
  };
  static const char *const zypper_family[] = {
    "opensuse",
    "sles",
    "suse-based",
  };

  if (!distro)
    return "unknown";
  if (streq (distro, "meego"))
    return "yum";
  if (streq (distro, "fedora"))
    return major >= 22 ? "dnf" : major >= 1 ? "yum" : "unknown";
  if (in_list (distro, rhel_family, ARRAY_SIZE (rhel_family)))
    return major >= 8   ? "dnf"
           : major >= 5 ? "yum"
           : major >= 2 ? "up2date"
                        : "unknown";
  if (in_list (distro, dnf_family, ARRAY_SIZE (dnf_family)))
    return "dnf";
  if (in_list (distro, apt_family, ARRAY_SIZE (apt_family)))
    return "apt";
  if (in_list (distro, zypper_family, ARRAY_SIZE (zypper_family)))
    return "zypper";
  if (streq (distro, "archlinux"))
    return "pacman";
  if (streq (distro, "gentoo"))
    return "portage";
  if (streq (distro, "pardus"))
    return "pisi";
  if (streq (distro, "mageia") || streq (distro, "mandriva"))
    return "urpmi";
  if (streq (distro, "alpinelinux"))
    return "apk";
  if (streq (distro, "voidlinux"))
    return "xbps";
  return "unknown";
}

/* ---------------------------------------------------------------------- */
/* Hostname. */

char *
parse_hostname (const char *buf, size_t len)
{
  struct line_iter it;
  const char *line;
  size_t n;

  if (!buf)
    return NULL;
  line_iter_init (&it, buf, len);
  while (line_iter_next (&it, &line, &n)) {
    trim_span (&line, &n);
    if (n == 0 || line[0] == '#')
      continue;
    return clean_value (line, n);
  }
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* fstab, through libmount. */

/* A first line that fixes libmount's format guess to fstab: libmount
 * guesses from the first entry, and a guest line starting with two
 * numbers would otherwise switch the whole file to mountinfo syntax.  It
 * is dropped again after the parse. */
static const char fstab_anchor_target[] = "/nguestmount-fstab-anchor";
static const char fstab_anchor_line[] = "none /nguestmount-fstab-anchor none\n";

struct fstab_parse_ctx {
  const char *what;
  struct strv *warnings;
  size_t last_entry_line; /* guest line number of the last non-comment line */
  size_t bad_lines;       /* lines that did not parse */
};

/* Lines that did not parse are named one by one up to this many; the rest
 * are counted in one more warning. */
#define PARSE_FSTAB_BAD_LINES_SHOWN 10

static int
fstab_parse_error (struct libmnt_table *tb, const char *filename, int line)
{
  struct fstab_parse_ctx *ctx = mnt_table_get_userdata (tb);

  /* Line numbers count the anchor line.  libmount also reports the end of
   * a file that ends in comments; that is not a guest error. */
  if (ctx && line >= 2 && (size_t)(line - 1) <= ctx->last_entry_line
      && ctx->bad_lines++ < PARSE_FSTAB_BAD_LINES_SHOWN)
    strv_pushf (ctx->warnings, "%s: line %d: cannot parse, line ignored",
                ctx->what, line - 1);
  return 1; /* skip the line, go on */
}

/* "//usr//local/" → "/usr/local"; anything not absolute is kept. */
static char *
normalize_mountpoint (const char *mp)
{
  if (mp[0] != '/')
    return xstrdup (mp);
  size_t n = strlen (mp);
  char *r = xcalloc (n + 1, 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (mp[i] == '/' && o > 0 && r[o - 1] == '/')
      continue;
    r[o++] = mp[i];
  }
  while (o > 1 && r[o - 1] == '/')
    o--;
  r[o] = '\0';
  return r;
}

void
parse_fstab_free (struct inspect_fstab_entry *entries, size_t n)
{
  if (!entries)
    return;
  for (size_t i = 0; i < n; i++) {
    free (entries[i].spec);
    free (entries[i].mountpoint);
    free (entries[i].fstype);
    free (entries[i].options);
  }
  free (entries);
}

static void
cleanup_mnt_tablep (struct libmnt_table **tb)
{
  if (*tb)
    mnt_unref_table (*tb);
}

static void
cleanup_mnt_iterp (struct libmnt_iter **it)
{
  if (*it)
    mnt_free_iter (*it);
}

int
parse_fstab (const char *buf, size_t len, const char *what,
             struct inspect_fstab_entry **ret_entries, size_t *ret_n,
             struct strv *warnings)
{
  struct fstab_parse_ctx ctx = { .what = what, .warnings = warnings };
  struct line_iter it;
  const char *line;
  size_t n, entry_lines = 0;

  *ret_entries = NULL;
  *ret_n = 0;
  if (!buf || len == 0)
    return 0;

  /* Count entry lines, and cut the text after the PARSE_FSTAB_MAX-th. */
  size_t keep = len;
  line_iter_init (&it, buf, len);
  while (line_iter_next (&it, &line, &n)) {
    const char *s = line;
    size_t sn = n;
    trim_span (&s, &sn);
    if (sn == 0 || s[0] == '#')
      continue;
    if (entry_lines == PARSE_FSTAB_MAX) {
      strv_pushf (warnings, "%s: more than %d entries, the rest is ignored",
                  what, PARSE_FSTAB_MAX);
      keep = (size_t)(line - buf);
      break;
    }
    entry_lines++;
    ctx.last_entry_line = it.lineno;
  }
  /* Without a final newline libmount stops at the last entry instead of
   * reporting one more (empty) line. */
  while (keep > 0
         && (buf[keep - 1] == '\n' || buf[keep - 1] == '\r'
             || c_isblank (buf[keep - 1])))
    keep--;
  if (keep == 0)
    return 0;

  const size_t alen = sizeof fstab_anchor_line - 1;
  _cleanup_free_ char *text = xcalloc (alen + keep + 1, 1);
  memcpy (text, fstab_anchor_line, alen);
  memcpy (text + alen, buf, keep);

  __attribute__ ((cleanup (cleanup_mnt_tablep))) struct libmnt_table *tb
      = mnt_new_table ();
  if (!tb)
    return -ENOMEM;
  mnt_table_set_userdata (tb, &ctx);
  mnt_table_set_parser_errcb (tb, fstab_parse_error);

  _cleanup_fclose_ FILE *f = fmemopen (text, alen + keep, "r");
  if (!f)
    return -errno;
  int r = mnt_table_parse_stream (tb, f, "fstab");
  if (ctx.bad_lines > PARSE_FSTAB_BAD_LINES_SHOWN)
    strv_pushf (warnings, "%s: %zu more lines cannot be parsed, ignored", what,
                ctx.bad_lines - PARSE_FSTAB_BAD_LINES_SHOWN);
  if (r < 0) {
    /* Never abort inspection for a guest file: keep what was parsed. */
    log_debug (LOG_CAT_INSPECT, "%s: libmount parse error %d", what, r);
    strv_pushf (warnings, "%s: cannot parse completely, some entries ignored",
                what);
  }

  __attribute__ ((cleanup (cleanup_mnt_iterp))) struct libmnt_iter *itr
      = mnt_new_iter (MNT_ITER_FORWARD);
  if (!itr)
    return -ENOMEM;

  size_t total = (size_t)mnt_table_get_nents (tb);
  struct inspect_fstab_entry *entries
      = xcalloc (total ? total : 1, sizeof *entries);
  size_t count = 0;
  bool anchor_seen = false;
  struct libmnt_fs *fs;
  while (count < total && mnt_table_next_fs (tb, itr, &fs) == 0) {
    const char *src = mnt_fs_get_source (fs);
    const char *target = mnt_fs_get_target (fs);
    const char *type = mnt_fs_get_fstype (fs);
    const char *opts = mnt_fs_get_options (fs);

    if (!anchor_seen && target && strcmp (target, fstab_anchor_target) == 0) {
      anchor_seen = true;
      continue;
    }
    if (!src || !*src || !target || !*target) {
      strv_pushf (warnings, "%s: entry without device or mountpoint ignored",
                  what);
      continue;
    }
    struct inspect_fstab_entry *e = &entries[count++];
    e->spec = sanitize_string (src, PARSE_VALUE_MAX);
    _cleanup_free_ char *mp = sanitize_string (target, PARSE_VALUE_MAX);
    e->mountpoint = normalize_mountpoint (mp);
    e->fstype
        = sanitize_string (type && *type ? type : "auto", PARSE_VALUE_MAX);
    e->options
        = sanitize_string (opts && *opts ? opts : "defaults", PARSE_VALUE_MAX);
  }

  if (count == 0) {
    free (entries);
    entries = NULL;
  }
  *ret_entries = entries;
  *ret_n = count;
  return 0;
}
