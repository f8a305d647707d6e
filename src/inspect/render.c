/* nguestmount: rendering struct inspection into the /.inspect tree and
 * inspect.json (see design.md "/.inspect format"), and freeing it.
 *
 * "roots" is the directory of per-OS directories, so listing it gives one
 * root id per entry (a file of the same name cannot exist beside it).
 *
 * The text files are tab-separated; values are sanitized once more here so
 * that no tab or newline from a guest string can shift a column or add a
 * line, whoever filled the structure.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "common/vtree.h"
#include "inspect/inspect.h"
#include "inspect/parse.h"

/* A growable text buffer. */
struct buf {
  char *data;
  size_t len;
  size_t cap;
};

static void
buf_add (struct buf *b, const char *s)
{
  size_t n = strlen (s);
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap)
      cap *= 2;
    b->data = xrealloc_array (b->data, cap, 1);
    b->cap = cap;
  }
  memcpy (b->data + b->len, s, n + 1);
  b->len += n;
}

/* Append a field: sanitized (no control characters, so no tab or newline),
 * "" for NULL. */
static void
buf_add_field (struct buf *b, const char *s)
{
  if (!s)
    return;
  _cleanup_free_ char *clean = sanitize_string (s, 64 * 1024);
  buf_add (b, clean);
}

static void
buf_add_u64 (struct buf *b, uint64_t v)
{
  char tmp[32];
  snprintf (tmp, sizeof tmp, "%" PRIu64, v);
  buf_add (b, tmp);
}

static void
add_buf_file (struct vnode *dir, const char *name, struct buf *b)
{
  vtree_add_file (dir, name, b->data ? b->data : "", b->len);
  free (b->data);
  memset (b, 0, sizeof *b);
}

/* A one-value file: value + "\n". */
static void
add_value_file (struct vnode *dir, const char *name, const char *value)
{
  struct buf b = { 0 };
  buf_add_field (&b, value ? value : "unknown");
  buf_add (&b, "\n");
  add_buf_file (dir, name, &b);
}

/* A TSV field: backslash, tab, newline and carriage return escaped as
 * \\ \t \n \r (so a multi-line description stays on one line), other
 * control characters and invalid UTF-8 replaced. */
static void
buf_add_tsv (struct buf *b, const char *s)
{
  if (!s)
    return;
  _cleanup_free_ char *clean = NULL;
  size_t n = strnlen (s, 64 * 1024);
  char *esc = xcalloc (2 * n + 1, 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    const char *rep = c == '\\' ? "\\\\" : c == '\t' ? "\\t"
                      : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
    if (rep) {
      memcpy (esc + o, rep, 2);
      o += 2;
    }
    else
      esc[o++] = c;
  }
  clean = sanitize_string (esc, o);
  free (esc);
  buf_add (b, clean);
}

static void
add_int_file (struct vnode *dir, const char *name, int value)
{
  char tmp[32];
  snprintf (tmp, sizeof tmp, "%d\n", value);
  vtree_add_file (dir, name, tmp, strlen (tmp));
}

static int
compare_mountpoints (const void *a, const void *b)
{
  const struct inspect_mountpoint *x
      = *(const struct inspect_mountpoint *const *)a;
  const struct inspect_mountpoint *y
      = *(const struct inspect_mountpoint *const *)b;
  return strcmp (x->mountpoint ? x->mountpoint : "",
                 y->mountpoint ? y->mountpoint : "");
}

/* The OS's mountpoints sorted by mountpoint (an array of pointers). */
static const struct inspect_mountpoint **
sorted_mountpoints (const struct inspect_os *os)
{
  const struct inspect_mountpoint **v
      = xcalloc (os->n_mountpoints + 1, sizeof *v);
  for (size_t i = 0; i < os->n_mountpoints; i++)
    v[i] = &os->mountpoints[i];
  qsort (v, os->n_mountpoints, sizeof *v, compare_mountpoints);
  return v;
}

static char *inspect_render_apps_json (const struct inspect_os *os);

/* The directory name of an OS: its root id, made safe for a file name. */
static char *
os_dir_name (const struct inspect_os *os)
{
  if (os->root_id && *os->root_id && !strchr (os->root_id, '/')
      && strcmp (os->root_id, ".") != 0 && strcmp (os->root_id, "..") != 0)
    return sanitize_string (os->root_id, 4096);
  return inspect_root_id (os->root_device ? os->root_device : "unknown");
}

static void
render_os_dir (struct vnode *roots, const struct inspect_os *os,
               const char *name)
{
  struct vnode *d = vtree_add_dir (roots, name);

  add_value_file (d, "type", os->type);
  add_value_file (d, "distro", os->distro);
  add_value_file (d, "product_name", os->product_name);
  add_value_file (d, "product_variant", os->product_variant);
  add_int_file (d, "major_version", os->major_version);
  add_int_file (d, "minor_version", os->minor_version);
  add_value_file (d, "arch", os->arch);
  add_value_file (d, "hostname", os->hostname);
  add_value_file (d, "build_id", os->build_id);
  add_value_file (d, "package_format", os->package_format);
  add_value_file (d, "package_management", os->package_management);
  add_value_file (d, "osinfo", os->osinfo);

  struct buf b = { 0 };
  _cleanup_free_ const struct inspect_mountpoint **mps
      = sorted_mountpoints (os);
  for (size_t i = 0; i < os->n_mountpoints; i++) {
    buf_add_field (&b, mps[i]->mountpoint);
    buf_add (&b, "\t");
    buf_add_field (&b, mps[i]->device);
    buf_add (&b, "\n");
  }
  add_buf_file (d, "mountpoints", &b);

  if (os->windows_systemroot)
    add_value_file (d, "windows_systemroot", os->windows_systemroot);
  if (os->windows_current_control_set)
    add_value_file (d, "windows_current_control_set",
                    os->windows_current_control_set);
  if (os->n_drive_mappings > 0 || (os->type && strcmp (os->type, "windows") == 0)) {
    for (size_t i = 0; i < os->n_drive_mappings; i++) {
      buf_add_field (&b, os->drive_mappings[i].name);
      buf_add (&b, "\t");
      buf_add_field (&b, os->drive_mappings[i].device);
      buf_add (&b, "\n");
    }
    add_buf_file (d, "drive_mappings", &b);
  }

  /* applications: TSV with a header line; epoch is a number (0: none). */
  buf_add (&b, "name\tepoch\tversion\trelease\tarch\turl\tsource_package"
               "\tsummary\tdescription\n");
  for (size_t i = 0; i < os->n_apps; i++) {
    const struct inspect_app *a = &os->apps[i];
    const char *cols[] = { a->version, a->release, a->arch, a->url,
                           a->source_package, a->summary, a->description };
    buf_add_tsv (&b, a->name);
    buf_add (&b, "\t");
    buf_add_u64 (&b, a->epoch > 0 ? (uint64_t) a->epoch : 0);
    for (size_t k = 0; k < ARRAY_SIZE (cols); k++) {
      buf_add (&b, "\t");
      buf_add_tsv (&b, cols[k]);
    }
    buf_add (&b, "\n");
  }
  add_buf_file (d, "applications", &b);

  _cleanup_free_ char *apps_json = inspect_render_apps_json (os);
  vtree_add_file (d, "applications.json", apps_json, strlen (apps_json));
}

struct vnode *
inspect_render_tree (const struct inspection *insp, int shown)
{
  struct vnode *root = vtree_new_root ();
  struct vnode *roots = vtree_add_dir (root, "roots");
  struct buf b = { 0 };

  _cleanup_free_ char *json = inspect_render_json (insp);
  vtree_add_file (root, "inspect.json", json, strlen (json));
  _cleanup_free_ char *xml = inspect_render_xml (insp);
  if (xml)
    vtree_add_file (root, "inspect.xml", xml, strlen (xml));

  for (size_t i = 0; i < insp->n_os; i++) {
    _cleanup_free_ char *name = os_dir_name (&insp->os[i]);
    render_os_dir (roots, &insp->os[i], name);
    if (shown >= 0 && (size_t)shown == i) {
      _cleanup_free_ char *target = xasprintf ("roots/%s", name);
      vtree_add_link (root, "root", target);
    }
  }

  for (size_t i = 0; i < insp->n_fs; i++) {
    const struct inspect_fs *f = &insp->fs[i];
    buf_add_field (&b, f->device);
    buf_add (&b, "\t");
    buf_add_field (&b, f->type);
    buf_add (&b, "\t");
    buf_add_field (&b, f->uuid);
    buf_add (&b, "\t");
    buf_add_field (&b, f->label);
    buf_add (&b, "\t");
    buf_add_u64 (&b, f->size);
    buf_add (&b, "\n");
  }
  add_buf_file (root, "filesystems", &b);

  for (size_t i = 0; i < insp->n_devices; i++) {
    const struct inspect_device *d = &insp->devices[i];
    buf_add_field (&b, d->name);
    buf_add (&b, "\t");
    buf_add_field (&b, d->type);
    buf_add (&b, "\t");
    buf_add_u64 (&b, d->size);
    buf_add (&b, "\t");
    buf_add_field (&b, d->parent);
    buf_add (&b, "\t");
    buf_add_field (&b, d->uuid);
    buf_add (&b, "\n");
  }
  add_buf_file (root, "devices", &b);

  for (size_t i = 0; i < insp->warnings.n; i++) {
    buf_add_field (&b, insp->warnings.v[i]);
    buf_add (&b, "\n");
  }
  add_buf_file (root, "warnings", &b);

  return root;
}

/* ---------------------------------------------------------------------- */
/* JSON. */

/* A JSON string, or null for NULL.  json-c escapes what needs escaping;
 * the value is sanitized so that it is valid UTF-8. */
static struct json_object *
jstr (const char *s)
{
  if (!s)
    return NULL;
  _cleanup_free_ char *clean = sanitize_string (s, 64 * 1024);
  return json_object_new_string (clean);
}

/* Like jstr, keeping newlines (each line sanitized). */
static struct json_object *
jstr_multiline (const char *s)
{
  if (!s)
    return NULL;
  size_t n = strnlen (s, 64 * 1024);
  _cleanup_free_ char *copy = strndup (s, n);
  if (!copy)
    abort ();
  char *out = xcalloc (n + 1, 1);
  size_t o = 0;
  for (char *line = copy; line;) {
    char *nl = strchr (line, '\n');
    if (nl)
      *nl = '\0';
    _cleanup_free_ char *clean = sanitize_string (line, n);
    size_t cl = strlen (clean);
    memcpy (out + o, clean, cl);
    o += cl;
    if (nl)
      out[o++] = '\n';
    line = nl ? nl + 1 : NULL;
  }
  out[o] = '\0';
  struct json_object *j = json_object_new_string (out);
  free (out);
  return j;
}

static void
jadd (struct json_object *o, const char *key, struct json_object *v)
{
  json_object_object_add (o, key, v);
}

static struct json_object *
render_os_json (const struct inspect_os *os)
{
  struct json_object *o = json_object_new_object ();
  jadd (o, "root", jstr (os->root_device));
  jadd (o, "root_id", jstr (os->root_id));
  jadd (o, "type", jstr (os->type));
  jadd (o, "distro", jstr (os->distro));
  jadd (o, "product_name", jstr (os->product_name));
  jadd (o, "product_variant", jstr (os->product_variant));
  jadd (o, "major_version", json_object_new_int (os->major_version));
  jadd (o, "minor_version", json_object_new_int (os->minor_version));
  jadd (o, "arch", jstr (os->arch));
  jadd (o, "hostname", jstr (os->hostname));
  jadd (o, "build_id", jstr (os->build_id));
  jadd (o, "package_format", jstr (os->package_format));
  jadd (o, "package_management", jstr (os->package_management));
  jadd (o, "osinfo", jstr (os->osinfo));

  struct json_object *mps = json_object_new_array ();
  _cleanup_free_ const struct inspect_mountpoint **v = sorted_mountpoints (os);
  for (size_t i = 0; i < os->n_mountpoints; i++) {
    struct json_object *m = json_object_new_object ();
    jadd (m, "mountpoint", jstr (v[i]->mountpoint));
    jadd (m, "device", jstr (v[i]->device));
    json_object_array_add (mps, m);
  }
  jadd (o, "mountpoints", mps);
  return o;
}

/* applications.json: an array of objects with the fields of libguestfs's
 * application2 struct without the app2_ prefix ("" when empty, epoch a
 * number). */
static char *
inspect_render_apps_json (const struct inspect_os *os)
{
  struct json_object *arr = json_object_new_array ();
  for (size_t i = 0; i < os->n_apps; i++) {
    const struct inspect_app *a = &os->apps[i];
    struct json_object *o = json_object_new_object ();
    const struct {
      const char *key;
      const char *value;
    } f[] = {
      { "name", a->name },
      { "display_name", a->display_name },
      { "epoch", NULL },
      { "version", a->version },
      { "release", a->release },
      { "arch", a->arch },
      { "install_path", a->install_path },
      { "publisher", a->publisher },
      { "url", a->url },
      { "source_package", a->source_package },
      { "summary", a->summary },
      { "description", a->description },
    };
    for (size_t k = 0; k < ARRAY_SIZE (f); k++) {
      if (strcmp (f[k].key, "epoch") == 0)
        jadd (o, "epoch", json_object_new_int (a->epoch));
      else
        jadd (o, f[k].key, jstr_multiline (f[k].value ? f[k].value : ""));
    }
    json_object_array_add (arr, o);
  }
  const char *s = json_object_to_json_string_ext (
      arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *r = xasprintf ("%s\n", s ? s : "[]");
  json_object_put (arr);
  return r;
}

char *
inspect_render_json (const struct inspection *insp)
{
  struct json_object *top = json_object_new_object ();
  jadd (top, "version", json_object_new_int (1));

  struct json_object *oses = json_object_new_array ();
  for (size_t i = 0; i < insp->n_os; i++)
    json_object_array_add (oses, render_os_json (&insp->os[i]));
  jadd (top, "operatingsystems", oses);

  struct json_object *fss = json_object_new_array ();
  for (size_t i = 0; i < insp->n_fs; i++) {
    const struct inspect_fs *f = &insp->fs[i];
    struct json_object *o = json_object_new_object ();
    jadd (o, "device", jstr (f->device));
    jadd (o, "type", jstr (f->type));
    jadd (o, "uuid", jstr (f->uuid));
    jadd (o, "label", jstr (f->label));
    jadd (o, "size", json_object_new_uint64 (f->size));
    /* How it was mounted: the read-only ladder's rung that worked
     * ("ro", "ro,noload", "ro,norecovery"), null if not mounted. */
    jadd (o, "mount_options", jstr (f->mount_options));
    json_object_array_add (fss, o);
  }
  jadd (top, "filesystems", fss);

  struct json_object *devs = json_object_new_array ();
  for (size_t i = 0; i < insp->n_devices; i++) {
    const struct inspect_device *d = &insp->devices[i];
    struct json_object *o = json_object_new_object ();
    jadd (o, "name", jstr (d->name));
    jadd (o, "type", jstr (d->type));
    jadd (o, "size", json_object_new_uint64 (d->size));
    jadd (o, "uuid", jstr (d->uuid));
    jadd (o, "parent", jstr (d->parent));
    jadd (o, "format", jstr (d->format));
    jadd (o, "source", jstr (d->source));
    jadd (o, "opened", json_object_new_boolean (d->opened));
    json_object_array_add (devs, o);
  }
  jadd (top, "devices", devs);

  struct json_object *warns = json_object_new_array ();
  for (size_t i = 0; i < insp->warnings.n; i++)
    json_object_array_add (warns, jstr (insp->warnings.v[i]));
  jadd (top, "warnings", warns);

  const char *s = json_object_to_json_string_ext (
      top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *r = xasprintf ("%s\n", s ? s : "{}");
  json_object_put (top);
  return r;
}

/* ---------------------------------------------------------------------- */
/* Freeing. */

void
inspect_os_clear (struct inspect_os *os)
{
  if (!os)
    return;
  free (os->root_device);
  free (os->root_id);
  free (os->type);
  free (os->distro);
  free (os->product_name);
  free (os->product_variant);
  free (os->arch);
  free (os->hostname);
  free (os->build_id);
  free (os->package_format);
  free (os->package_management);
  free (os->osinfo);
  parse_fstab_free (os->fstab, os->n_fstab);
  for (size_t i = 0; i < os->n_mountpoints; i++) {
    free (os->mountpoints[i].mountpoint);
    free (os->mountpoints[i].device);
  }
  free (os->mountpoints);
  free (os->windows_systemroot);
  free (os->windows_current_control_set);
  for (size_t i = 0; i < os->n_drive_mappings; i++) {
    free (os->drive_mappings[i].name);
    free (os->drive_mappings[i].device);
  }
  free (os->drive_mappings);
  inspect_apps_free (os->apps, os->n_apps);
  memset (os, 0, sizeof *os);
}

/* The filesystems' rootfd belong to the mount layer that opened them and
 * are not closed here. */
void
inspection_clear (struct inspection *insp)
{
  if (!insp)
    return;
  for (size_t i = 0; i < insp->n_os; i++)
    inspect_os_clear (&insp->os[i]);
  free (insp->os);
  for (size_t i = 0; i < insp->n_fs; i++) {
    struct inspect_fs *f = &insp->fs[i];
    free (f->device);
    free (f->type);
    free (f->uuid);
    free (f->label);
    free (f->partuuid);
    free (f->partlabel);
    free (f->mount_options);
  }
  free (insp->fs);
  for (size_t i = 0; i < insp->n_devices; i++) {
    struct inspect_device *d = &insp->devices[i];
    free (d->name);
    free (d->type);
    free (d->uuid);
    free (d->parent);
    free (d->format);
    free (d->source);
  }
  free (insp->devices);
  strv_clear (&insp->warnings);
  memset (insp, 0, sizeof *insp);
}
