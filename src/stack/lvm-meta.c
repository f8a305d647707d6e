/* nguestmount: the LVM2 metadata text parser.
 *
 * LVM writes its metadata in its own config syntax:
 *
 *   key = value            value: integer, float, "string", [ v, v, ... ]
 *   name { ... }           a section, nested to any depth
 *   # comment              to the end of the line
 *
 * Strings are in double quotes with backslash escaping the next character,
 * or in single quotes without escapes.  No maintained library outside lvm2
 * parses this (and liblvm2cmd would scan the host's devices), so this is a
 * small recursive-descent parser.  The text comes from a guest disk: the
 * input length, the nesting depth and the number of nodes are bounded,
 * integers are checked for overflow, and any byte sequence gives either a
 * tree or an error, never a crash.
 *
 * Thread model: none; the parser keeps its state in a local struct.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/lvm.h"

struct parser {
  const char *p;         /* current position */
  const char *end;
  unsigned line;
  size_t nodes;
  int err;               /* first error */
  char *msg;
};

static int
fail (struct parser *ps, int err, const char *fmt, ...)
{
  if (ps->err == 0) {
    va_list ap;
    char *m = NULL;
    va_start (ap, fmt);
    if (vasprintf (&m, fmt, ap) < 0)
      m = NULL;
    va_end (ap);
    ps->err = err;
    ps->msg = xasprintf ("line %u: %s", ps->line, m ? m : "parse error");
    free (m);
  }
  return ps->err;
}

static struct lvm_cfg *
new_node (struct parser *ps, enum lvm_cfg_type type)
{
  if (ps->nodes >= LVM_CFG_MAX_NODES) {
    fail (ps, -E2BIG, "more than %u entries", LVM_CFG_MAX_NODES);
    return NULL;
  }
  ps->nodes++;
  struct lvm_cfg *c = xcalloc (1, sizeof *c);
  c->type = type;
  return c;
}

void
lvm_cfg_free (struct lvm_cfg *c)
{
  /* Depth is bounded by the parser; siblings are walked iteratively. */
  while (c) {
    struct lvm_cfg *next = c->next;
    lvm_cfg_free (c->child);
    free (c->key);
    free (c->s);
    free (c);
    c = next;
  }
}

/* Skip white space and comments. */
static void
skip_space (struct parser *ps)
{
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') {
      ps->line++;
      ps->p++;
    }
    else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
      ps->p++;
    else if (c == '#') {
      while (ps->p < ps->end && *ps->p != '\n')
        ps->p++;
    }
    else
      break;
  }
}

/* Characters of a key: anything printable that is not syntax.  LVM's own
 * names use [A-Za-z0-9+_.-]; be a little wider and let the caller
 * validate. */
static bool
is_key_char (char c)
{
  unsigned char u = (unsigned char) c;
  if (u <= ' ' || u == 0x7f)
    return false;
  return strchr ("{}[]=,\"'#", c) == NULL;
}

static int
parse_string (struct parser *ps, char **ret)
{
  const char quote = *ps->p++;
  const char *start = ps->p;
  size_t n = 0;

  /* First pass: find the end and the unescaped length. */
  const char *q = ps->p;
  unsigned lines = 0;
  for (;;) {
    if (q >= ps->end)
      return fail (ps, -EINVAL, "unterminated string");
    if (*q == '\0')
      return fail (ps, -EINVAL, "NUL byte in a string");
    if (*q == quote)
      break;
    if (*q == '\\' && quote == '"') {
      q++;
      if (q >= ps->end)
        return fail (ps, -EINVAL, "unterminated string");
      if (*q == '\0')
        return fail (ps, -EINVAL, "NUL byte in a string");
    }
    if (*q == '\n')
      lines++;
    q++;
    n++;
  }

  char *s = malloc (n + 1);
  if (!s)
    return fail (ps, -ENOMEM, "out of memory");
  size_t o = 0;
  for (const char *r = start; r < q; r++) {
    if (*r == '\\' && quote == '"')
      r++;
    s[o++] = *r;
  }
  s[o] = '\0';
  ps->p = q + 1;
  ps->line += lines;
  *ret = s;
  return 0;
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static int
parse_number (struct parser *ps, struct lvm_cfg *c)
{
  const char *start = ps->p;
  bool neg = false;
  uint64_t v = 0;

  if (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+')) {
    neg = *ps->p == '-';
    ps->p++;
  }
  if (ps->p >= ps->end || !is_digit (*ps->p))
    return fail (ps, -EINVAL, "expected a value");
  while (ps->p < ps->end && is_digit (*ps->p)) {
    unsigned d = (unsigned) (*ps->p - '0');
    /* Accumulate up to 2^63 (the magnitude of INT64_MIN). */
    if (v > (UINT64_C (1) << 63) / 10
        || v * 10 > (UINT64_C (1) << 63) - d)
      return fail (ps, -ERANGE, "number out of range");
    v = v * 10 + d;
    ps->p++;
  }

  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++;
    while (ps->p < ps->end && is_digit (*ps->p))
      ps->p++;
    if (ps->p - start > 64)
      return fail (ps, -ERANGE, "number too long");
    char tmp[80];
    memcpy (tmp, start, (size_t) (ps->p - start));
    tmp[ps->p - start] = '\0';
    c->type = LVM_CFG_FLOAT;
    c->f = strtod (tmp, NULL);
    c->s = xstrdup (tmp);
  }
  else {
    if (!neg && v > (uint64_t) INT64_MAX)
      return fail (ps, -ERANGE, "number out of range");
    c->type = LVM_CFG_INT;
    c->i = neg ? (int64_t) (0 - v) : (int64_t) v;
  }
  /* A number must end at a delimiter. */
  if (ps->p < ps->end && is_key_char (*ps->p))
    return fail (ps, -EINVAL, "bad number");
  return 0;
}

static int parse_value (struct parser *ps, struct lvm_cfg *c, unsigned depth);

static int
parse_list (struct parser *ps, struct lvm_cfg *c, unsigned depth)
{
  if (depth >= LVM_CFG_MAX_DEPTH)
    return fail (ps, -ELOOP, "nested too deeply");
  ps->p++;                        /* '[' */
  c->type = LVM_CFG_LIST;
  struct lvm_cfg **tail = &c->child;

  skip_space (ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    return 0;
  }
  for (;;) {
    skip_space (ps);
    if (ps->p >= ps->end)
      return fail (ps, -EINVAL, "unterminated list");
    struct lvm_cfg *e = new_node (ps, LVM_CFG_INT);
    if (!e)
      return ps->err;
    *tail = e;
    tail = &e->next;
    int r = parse_value (ps, e, depth + 1);
    if (r < 0)
      return r;
    skip_space (ps);
    if (ps->p >= ps->end)
      return fail (ps, -EINVAL, "unterminated list");
    if (*ps->p == ',') {
      ps->p++;
      continue;
    }
    if (*ps->p == ']') {
      ps->p++;
      return 0;
    }
    return fail (ps, -EINVAL, "expected ',' or ']' in a list");
  }
}

static int
parse_value (struct parser *ps, struct lvm_cfg *c, unsigned depth)
{
  skip_space (ps);
  if (ps->p >= ps->end)
    return fail (ps, -EINVAL, "expected a value");
  char ch = *ps->p;
  if (ch == '[')
    return parse_list (ps, c, depth);
  if (ch == '"' || ch == '\'') {
    c->type = LVM_CFG_STRING;
    return parse_string (ps, &c->s);
  }
  if (ch == '\0')
    return fail (ps, -EINVAL, "NUL byte");
  return parse_number (ps, c);
}

/* Members of a section up to its '}' (or the end of the text at the top
 * level). */
static int
parse_body (struct parser *ps, struct lvm_cfg *sec, unsigned depth, bool top)
{
  if (depth >= LVM_CFG_MAX_DEPTH)
    return fail (ps, -ELOOP, "nested too deeply");
  struct lvm_cfg **tail = &sec->child;

  for (;;) {
    skip_space (ps);
    if (ps->p >= ps->end) {
      if (top)
        return 0;
      return fail (ps, -EINVAL, "unexpected end of text, missing '}'");
    }
    if (*ps->p == '}') {
      if (top)
        return fail (ps, -EINVAL, "unexpected '}'");
      ps->p++;
      return 0;
    }
    if (*ps->p == '\0')
      return fail (ps, -EINVAL, "NUL byte");
    if (!is_key_char (*ps->p))
      return fail (ps, -EINVAL, "expected a name");

    const char *k = ps->p;
    while (ps->p < ps->end && is_key_char (*ps->p))
      ps->p++;
    size_t klen = (size_t) (ps->p - k);

    struct lvm_cfg *c = new_node (ps, LVM_CFG_SECTION);
    if (!c)
      return ps->err;
    c->key = strndup (k, klen);
    if (!c->key) {
      free (c);
      return fail (ps, -ENOMEM, "out of memory");
    }
    *tail = c;
    tail = &c->next;

    skip_space (ps);
    if (ps->p >= ps->end)
      return fail (ps, -EINVAL, "expected '=' or '{' after a name");
    if (*ps->p == '{') {
      ps->p++;
      c->type = LVM_CFG_SECTION;
      int r = parse_body (ps, c, depth + 1, false);
      if (r < 0)
        return r;
    }
    else if (*ps->p == '=') {
      ps->p++;
      int r = parse_value (ps, c, depth);
      if (r < 0)
        return r;
    }
    else
      return fail (ps, -EINVAL, "expected '=' or '{' after a name");
  }
}

int
lvm_cfg_parse (const char *text, size_t len, struct lvm_cfg **ret,
               char **ret_msg)
{
  *ret = NULL;
  /* Metadata text is NUL-terminated on disk; drop trailing NULs. */
  while (len > 0 && text[len - 1] == '\0')
    len--;
  if (len > LVM_CFG_MAX_TEXT)
    return set_errmsg (ret_msg, -E2BIG, "metadata text too large (%zu bytes)",
                       len);

  struct parser ps = { .p = text, .end = text + len, .line = 1 };
  struct lvm_cfg *root = new_node (&ps, LVM_CFG_SECTION);
  int r = parse_body (&ps, root, 0, true);
  if (r < 0) {
    lvm_cfg_free (root);
    if (ret_msg) {
      free (*ret_msg);
      *ret_msg = ps.msg;
    }
    else
      free (ps.msg);
    return r;
  }
  *ret = root;
  return 0;
}

const struct lvm_cfg *
lvm_cfg_get (const struct lvm_cfg *sec, const char *key)
{
  if (!sec || sec->type != LVM_CFG_SECTION)
    return NULL;
  for (const struct lvm_cfg *c = sec->child; c; c = c->next)
    if (c->key && strcmp (c->key, key) == 0)
      return c;
  return NULL;
}

const struct lvm_cfg *
lvm_cfg_section (const struct lvm_cfg *sec, const char *key)
{
  const struct lvm_cfg *c = lvm_cfg_get (sec, key);
  return c && c->type == LVM_CFG_SECTION ? c : NULL;
}

const char *
lvm_cfg_string (const struct lvm_cfg *sec, const char *key)
{
  const struct lvm_cfg *c = lvm_cfg_get (sec, key);
  return c && c->type == LVM_CFG_STRING ? c->s : NULL;
}

int
lvm_cfg_int (const struct lvm_cfg *sec, const char *key, int64_t *ret)
{
  const struct lvm_cfg *c = lvm_cfg_get (sec, key);
  if (!c)
    return -ENOENT;
  if (c->type != LVM_CFG_INT)
    return -EINVAL;
  *ret = c->i;
  return 0;
}

bool
lvm_cfg_list_has (const struct lvm_cfg *sec, const char *key,
                  const char *flag)
{
  const struct lvm_cfg *c = lvm_cfg_get (sec, key);
  if (!c || c->type != LVM_CFG_LIST)
    return false;
  for (const struct lvm_cfg *e = c->child; e; e = e->next)
    if (e->type == LVM_CFG_STRING && strcmp (e->s, flag) == 0)
      return true;
  return false;
}
