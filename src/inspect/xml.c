/* nguestmount: virt-inspector XML (/.inspect/inspect.xml and
 * --inspect-only --xml), written with libxml2's xmlTextWriter.
 *
 * Element order, omissions and sorting follow virt-inspector (guestfs-tools
 * inspector/inspector.c), so the output can be compared with it line by
 * line and validates against its virt-inspector.rng:
 *
 *   <operatingsystems><operatingsystem>
 *     root, name (the OS type), arch, distro, product_name, product_variant,
 *     major_version, minor_version, package_format, package_management,
 *     windows_systemroot, windows_current_control_set, hostname, osinfo
 *     -- "unknown" values are left out; versions are always there
 *     <mountpoints>     shortest mountpoint first, then by name
 *     <filesystems>     the OS's filesystems (root, fstab mountpoints and
 *                       swap), by device name; empty type/label/uuid left out
 *     <drive_mappings>  Windows only, by drive letter
 *     <applications>    by name; empty fields and epoch 0 left out
 *
 * build_id is not written: neither virt-inspector nor its schema has it
 * (it is in inspect.json and roots/<id>/build_id).  With no OS at all the
 * document is an empty <operatingsystems/>, which the schema rejects (where
 * virt-inspector prints nothing and fails).
 *
 * Guest strings are reduced to characters XML 1.0 allows (valid UTF-8, no
 * control characters but newline, no U+FFFE/U+FFFF, no surrogates) before
 * they reach the writer, which escapes markup.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlwriter.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "inspect/inspect.h"

/* Decode one UTF-8 sequence at s (n bytes available).  Returns its length
 * and the code point, or 0 for an invalid, overlong or truncated one. */
static size_t
utf8_decode (const unsigned char *s, size_t n, uint32_t *ret_cp)
{
  uint32_t cp;
  size_t len;
  if (s[0] < 0x80) {
    *ret_cp = s[0];
    return 1;
  }
  else if ((s[0] & 0xe0) == 0xc0)
    cp = s[0] & 0x1f, len = 2;
  else if ((s[0] & 0xf0) == 0xe0)
    cp = s[0] & 0x0f, len = 3;
  else if ((s[0] & 0xf8) == 0xf0)
    cp = s[0] & 0x07, len = 4;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
  if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *ret_cp = cp;
  return len;
}

static bool
xml_char_ok (uint32_t cp, bool multiline)
{
  if (cp == '\n')
    return multiline;
  if (cp < 0x20 || cp == 0x7f)
    return false;
  return cp <= 0xd7ff || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
}

/* A copy of s holding only characters XML allows ('?' for the others),
 * at most 64 KiB of input. */
static char *
xml_clean (const char *s, bool multiline)
{
  size_t n = strnlen (s, 64 * 1024);
  char *out = xcalloc (n + 1, 1);
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = utf8_decode ((const unsigned char *) s + i, n - i, &cp);
    if (k == 0 || !xml_char_ok (cp, multiline)) {
      out[o++] = '?';
      i += k ? k : 1;
    }
    else {
      memcpy (out + o, s + i, k);
      o += k;
      i += k;
    }
  }
  out[o] = '\0';
  return out;
}

struct xw {
  xmlTextWriterPtr w;
  bool ok;
};

static void
xw_check (struct xw *x, int r)
{
  if (r < 0)
    x->ok = false;
}

static void
xw_start (struct xw *x, const char *name)
{
  xw_check (x, xmlTextWriterStartElement (x->w, BAD_CAST name));
}

static void
xw_end (struct xw *x)
{
  xw_check (x, xmlTextWriterEndElement (x->w));
}

static void
xw_attr (struct xw *x, const char *name, const char *value)
{
  _cleanup_free_ char *v = xml_clean (value ? value : "", false);
  xw_check (x, xmlTextWriterWriteAttribute (x->w, BAD_CAST name, BAD_CAST v));
}

static void
xw_text (struct xw *x, const char *value, bool multiline)
{
  _cleanup_free_ char *v = xml_clean (value ? value : "", multiline);
  xw_check (x, xmlTextWriterWriteString (x->w, BAD_CAST v));
}

/* <name>value</name> */
static void
xw_elem (struct xw *x, const char *name, const char *value, bool multiline)
{
  xw_start (x, name);
  xw_text (x, value, multiline);
  xw_end (x);
}

/* The element when the value is known (not NULL, "", or "unknown"). */
static void
xw_known (struct xw *x, const char *name, const char *value)
{
  if (value && *value && strcmp (value, "unknown") != 0)
    xw_elem (x, name, value, false);
}

/* The element when the value is not empty. */
static void
xw_nonempty (struct xw *x, const char *name, const char *value, bool multiline)
{
  if (value && *value)
    xw_elem (x, name, value, multiline);
}

static void
xw_int (struct xw *x, const char *name, int v)
{
  char tmp[32];
  snprintf (tmp, sizeof tmp, "%d", v);
  xw_elem (x, name, tmp, false);
}

static int
cmp_mp_len (const void *a, const void *b)
{
  const struct inspect_mountpoint *x
      = *(const struct inspect_mountpoint *const *) a;
  const struct inspect_mountpoint *y
      = *(const struct inspect_mountpoint *const *) b;
  const char *p = x->mountpoint ? x->mountpoint : "";
  const char *q = y->mountpoint ? y->mountpoint : "";
  size_t lp = strlen (p), lq = strlen (q);
  if (lp != lq)
    return lp < lq ? -1 : 1;
  return strcmp (p, q);
}

static void
write_mountpoints (struct xw *x, const struct inspect_os *os)
{
  xw_start (x, "mountpoints");
  if (os->n_mountpoints == 0) {
    /* Not resolved yet: the root is mounted on / at least. */
    xw_start (x, "mountpoint");
    xw_attr (x, "dev", os->root_device);
    xw_text (x, "/", false);
    xw_end (x);
  }
  else {
    _cleanup_free_ const struct inspect_mountpoint **v
        = xcalloc (os->n_mountpoints, sizeof *v);
    for (size_t i = 0; i < os->n_mountpoints; i++)
      v[i] = &os->mountpoints[i];
    qsort (v, os->n_mountpoints, sizeof *v, cmp_mp_len);
    for (size_t i = 0; i < os->n_mountpoints; i++) {
      xw_start (x, "mountpoint");
      xw_attr (x, "dev", v[i]->device);
      xw_text (x, v[i]->mountpoint, false);
      xw_end (x);
    }
  }
  xw_end (x);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static const struct inspect_fs *
find_fs (const struct inspection *insp, const char *device)
{
  for (size_t i = 0; i < insp->n_fs; i++)
    if (insp->fs[i].device && strcmp (insp->fs[i].device, device) == 0)
      return &insp->fs[i];
  return NULL;
}

static void
add_unique (struct strv *v, const char *s)
{
  if (s && *s && !strv_contains (v, s))
    strv_push (v, xstrdup (s));
}

/* The filesystems belonging to an OS, as libguestfs counts them: its root,
 * every device of its fstab that could be resolved (mountpoints and
 * swap). */
static void
write_filesystems (struct xw *x, const struct inspection *insp,
                   const struct inspect_os *os)
{
  struct strv devs = { 0 };
  add_unique (&devs, os->root_device);
  for (size_t i = 0; i < os->n_mountpoints; i++)
    add_unique (&devs, os->mountpoints[i].device);
  for (size_t i = 0; i < os->n_fstab; i++) {
    const struct inspect_fstab_entry *e = &os->fstab[i];
    if (!e->fstype || strcmp (e->fstype, "swap") != 0 || !e->spec)
      continue;
    int idx = inspect_resolve_spec (e->spec, insp->fs, insp->n_fs);
    if (idx >= 0)
      add_unique (&devs, insp->fs[idx].device);
  }
  if (devs.n > 1)
    qsort (devs.v, devs.n, sizeof *devs.v, cmp_str);

  xw_start (x, "filesystems");
  for (size_t i = 0; i < devs.n; i++) {
    const struct inspect_fs *f = find_fs (insp, devs.v[i]);
    xw_start (x, "filesystem");
    xw_attr (x, "dev", devs.v[i]);
    if (f) {
      xw_nonempty (x, "type", f->type, false);
      xw_nonempty (x, "label", f->label, false);
      xw_nonempty (x, "uuid", f->uuid, false);
    }
    xw_end (x);
  }
  xw_end (x);
  strv_clear (&devs);
}

static int
cmp_drive (const void *a, const void *b)
{
  const struct inspect_drive_mapping *x
      = *(const struct inspect_drive_mapping *const *) a;
  const struct inspect_drive_mapping *y
      = *(const struct inspect_drive_mapping *const *) b;
  return strcasecmp (x->name ? x->name : "", y->name ? y->name : "");
}

static void
write_drive_mappings (struct xw *x, const struct inspect_os *os)
{
  if (os->n_drive_mappings == 0)
    return;
  _cleanup_free_ const struct inspect_drive_mapping **v
      = xcalloc (os->n_drive_mappings, sizeof *v);
  for (size_t i = 0; i < os->n_drive_mappings; i++)
    v[i] = &os->drive_mappings[i];
  qsort (v, os->n_drive_mappings, sizeof *v, cmp_drive);
  xw_start (x, "drive_mappings");
  for (size_t i = 0; i < os->n_drive_mappings; i++) {
    xw_start (x, "drive_mapping");
    xw_attr (x, "name", v[i]->name);
    xw_text (x, v[i]->device, false);
    xw_end (x);
  }
  xw_end (x);
}

static void
write_applications (struct xw *x, const struct inspect_os *os)
{
  xw_start (x, "applications");
  for (size_t i = 0; i < os->n_apps; i++) {
    const struct inspect_app *a = &os->apps[i];
    if (!a->name || !*a->name)
      continue;
    xw_start (x, "application");
    xw_elem (x, "name", a->name, false);
    xw_nonempty (x, "display_name", a->display_name, false);
    if (a->epoch != 0)
      xw_int (x, "epoch", a->epoch);
    xw_nonempty (x, "version", a->version, false);
    xw_nonempty (x, "release", a->release, false);
    xw_nonempty (x, "arch", a->arch, false);
    xw_nonempty (x, "install_path", a->install_path, false);
    xw_nonempty (x, "publisher", a->publisher, false);
    xw_nonempty (x, "url", a->url, false);
    xw_nonempty (x, "source_package", a->source_package, false);
    xw_nonempty (x, "summary", a->summary, true);
    xw_nonempty (x, "description", a->description, true);
    xw_end (x);
  }
  xw_end (x);
}

static void
write_os (struct xw *x, const struct inspection *insp,
          const struct inspect_os *os)
{
  xw_start (x, "operatingsystem");
  xw_elem (x, "root", os->root_device ? os->root_device : "", false);
  xw_known (x, "name", os->type);
  xw_known (x, "arch", os->arch);
  xw_known (x, "distro", os->distro);
  xw_known (x, "product_name", os->product_name);
  xw_known (x, "product_variant", os->product_variant);
  xw_int (x, "major_version", os->major_version);
  xw_int (x, "minor_version", os->minor_version);
  xw_known (x, "package_format", os->package_format);
  xw_known (x, "package_management", os->package_management);
  xw_nonempty (x, "windows_systemroot", os->windows_systemroot, false);
  xw_nonempty (x, "windows_current_control_set",
               os->windows_current_control_set, false);
  xw_known (x, "hostname", os->hostname);
  xw_known (x, "osinfo", os->osinfo);
  write_mountpoints (x, os);
  write_filesystems (x, insp, os);
  write_drive_mappings (x, os);
  write_applications (x, os);
  xw_end (x);
}

char *
inspect_render_xml (const struct inspection *insp)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  if (!buf)
    return NULL;
  struct xw x = { .w = xmlNewTextWriterMemory (buf, 0), .ok = true };
  if (!x.w) {
    xmlBufferFree (buf);
    return NULL;
  }
  xw_check (&x, xmlTextWriterSetIndent (x.w, 1));
  xw_check (&x, xmlTextWriterSetIndentString (x.w, BAD_CAST "  "));
  xw_check (&x, xmlTextWriterStartDocument (x.w, NULL, NULL, NULL));
  xw_start (&x, "operatingsystems");
  for (size_t i = 0; i < insp->n_os; i++)
    write_os (&x, insp, &insp->os[i]);
  xw_end (&x);
  xw_check (&x, xmlTextWriterEndDocument (x.w));
  xmlFreeTextWriter (x.w);   /* flushes into buf */

  char *out = NULL;
  if (x.ok) {
    const char *content = (const char *) xmlBufferContent (buf);
    size_t len = content ? strlen (content) : 0;
    out = xasprintf ("%s%s", content ? content : "",
                     len && content[len - 1] == '\n' ? "" : "\n");
  }
  xmlBufferFree (buf);
  return out;
}
