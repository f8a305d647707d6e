/* Unit tests for the virt-inspector XML (src/inspect/xml.c) and the
 * applications files of the /.inspect tree (render.c): the XML is parsed
 * back with libxml2, checked with XPath, and validated against
 * tests/virt-inspector.rng (found through $top_srcdir, or beside the
 * source; the validation is skipped only when the schema is absent). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xpath.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "common/vtree.h"
#include "inspect/inspect.h"

static void
make_app (struct inspect_app *a, const char *name, int epoch,
          const char *version, const char *release, const char *arch,
          const char *summary, const char *description)
{
  memset (a, 0, sizeof *a);
  a->name = xstrdup (name);
  a->epoch = epoch;
  a->version = xstrdup (version);
  a->release = xstrdup (release);
  a->arch = xstrdup (arch);
  a->summary = xstrdup (summary);
  a->description = xstrdup (description);
}

static void
make_fs (struct inspect_fs *f, const char *dev, const char *type,
         const char *uuid, const char *label)
{
  f->device = xstrdup (dev);
  f->type = xstrdup (type);
  f->uuid = xstrdup (uuid);
  f->label = xstrdup (label);
  f->rootfd = -1;
}

/* A Fedora-like guest: / on sda2 (xfs), /boot on sda1, /home on sda3,
 * swap on sda4 (PARTUUID in fstab), a stray filesystem sdb1 that is not
 * the OS's.  Hostile strings in a few places. */
static void
make_inspection (struct inspection *insp)
{
  memset (insp, 0, sizeof *insp);
  insp->n_fs = 5;
  insp->fs = xcalloc (5, sizeof *insp->fs);
  make_fs (&insp->fs[0], "/dev/sda1", "ext4", "1111-boot", "boot");
  make_fs (&insp->fs[1], "/dev/sda2", "xfs", "2222-root", NULL);
  make_fs (&insp->fs[2], "/dev/sda3", "btrfs", "3333-home", "");
  make_fs (&insp->fs[3], "/dev/sda4", "swap", "4444-swap", NULL);
  insp->fs[3].partuuid = xstrdup ("5555-part");
  make_fs (&insp->fs[4], "/dev/sdb1", "ext4", "6666-data", "data");

  insp->n_os = 1;
  insp->os = xcalloc (1, sizeof *insp->os);
  struct inspect_os *os = &insp->os[0];
  os->root_device = xstrdup ("/dev/sda2");
  os->root_id = xstrdup ("sda2");
  os->type = xstrdup ("linux");
  os->distro = xstrdup ("fedora");
  os->product_name = xstrdup ("Fedora Linux 40 <Server & \"Co\">");
  os->product_variant = xstrdup ("unknown");
  os->major_version = 40;
  os->minor_version = 0;
  os->arch = xstrdup ("x86_64");
  os->hostname = xstrdup ("unknown");
  os->build_id = xstrdup ("20240101");
  os->package_format = xstrdup ("rpm");
  os->package_management = xstrdup ("dnf");
  os->osinfo = xstrdup ("fedora40");

  os->n_fstab = 2;
  os->fstab = xcalloc (2, sizeof *os->fstab);
  os->fstab[0].spec = xstrdup ("PARTUUID=5555-part");
  os->fstab[0].mountpoint = xstrdup ("none");
  os->fstab[0].fstype = xstrdup ("swap");
  os->fstab[0].options = xstrdup ("sw");
  os->fstab[1].spec = xstrdup ("proc");
  os->fstab[1].mountpoint = xstrdup ("/proc");
  os->fstab[1].fstype = xstrdup ("proc");
  os->fstab[1].options = xstrdup ("defaults");

  os->n_mountpoints = 3;
  os->mountpoints = xcalloc (3, sizeof *os->mountpoints);
  os->mountpoints[0].mountpoint = xstrdup ("/");
  os->mountpoints[0].device = xstrdup ("/dev/sda2");
  os->mountpoints[1].mountpoint = xstrdup ("/boot");
  os->mountpoints[1].device = xstrdup ("/dev/sda1");
  os->mountpoints[2].mountpoint = xstrdup ("/bin");   /* shorter than /boot */
  os->mountpoints[2].device = xstrdup ("/dev/sda3");

  os->n_apps = 3;
  os->apps = xcalloc (3, sizeof *os->apps);
  make_app (&os->apps[0], "bash", 0, "5.2.26", "3.fc40", "x86_64",
            "The GNU Bourne Again shell",
            "Line one.\nLine two with <tags> & \"quotes\".");
  os->apps[0].url = xstrdup ("https://www.gnu.org/software/bash");
  os->apps[0].source_package = xstrdup ("bash");
  make_app (&os->apps[1], "dbus", 1, "1.14.10", "1.fc40", "x86_64", NULL,
            NULL);
  /* Hostile: control characters, invalid UTF-8, U+FFFE, a tab. */
  make_app (&os->apps[2], "evil\x01\x1b[0m", 0, "1.0\xff\xfe", NULL, NULL,
            "a\tb \xef\xbf\xbe c \xed\xa0\x80 d",
            "x\x02y\r\nz");

  strv_push (&insp->warnings, xstrdup ("a warning"));
}

/* The directory part of a path (static storage, short paths only). */
static const char *
dirname_of (const char *path)
{
  static char dir[4096];
  snprintf (dir, sizeof dir, "%s", path);
  char *slash = strrchr (dir, '/');
  if (slash)
    *slash = '\0';
  else
    strcpy (dir, ".");
  return dir;
}

static char *
rng_path (void)
{
  const char *src = getenv ("top_srcdir");
  char *p = src ? xasprintf ("%s/tests/virt-inspector.rng", src)
                : xasprintf ("%s/../virt-inspector.rng", dirname_of (__FILE__));
  if (access (p, R_OK) == 0)
    return p;
  free (p);
  return NULL;
}

static void
validate (xmlDocPtr doc)
{
  _cleanup_free_ char *rng = rng_path ();
  if (!rng) {
    print_message ("virt-inspector.rng not found: not validated\n");
    return;
  }
  xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt (rng);
  assert_non_null (pc);
  xmlRelaxNGPtr schema = xmlRelaxNGParse (pc);
  assert_non_null (schema);
  xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt (schema);
  assert_int_equal (xmlRelaxNGValidateDoc (vc, doc), 0);
  xmlRelaxNGFreeValidCtxt (vc);
  xmlRelaxNGFree (schema);
  xmlRelaxNGFreeParserCtxt (pc);
}

/* The string value of an XPath expression (a new string). */
static char *
xpath_str (xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
  xmlXPathObjectPtr o = xmlXPathEvalExpression (BAD_CAST expr, ctx);
  assert_non_null (o);
  xmlChar *s = xmlXPathCastToString (o);
  char *r = xstrdup ((const char *) s);
  xmlFree (s);
  xmlXPathFreeObject (o);
  xmlXPathFreeContext (ctx);
  return r;
}

static void
assert_xpath (xmlDocPtr doc, const char *expr, const char *want)
{
  _cleanup_free_ char *got = xpath_str (doc, expr);
  if (strcmp (got, want) != 0)
    fail_msg ("%s: got '%s', want '%s'", expr, got, want);
}

static void
test_xml (void **state)
{
  struct inspection insp;
  make_inspection (&insp);
  _cleanup_free_ char *xml = inspect_render_xml (&insp);
  assert_non_null (xml);
  assert_true (str_has_prefix (xml, "<?xml version=\"1.0\"?>\n<operatingsystems>\n"));
  assert_true (str_has_suffix (xml, "</operatingsystems>\n"));

  xmlDocPtr doc = xmlReadMemory (xml, (int) strlen (xml), "inspect.xml", NULL,
                                 XML_PARSE_NONET);
  assert_non_null (doc);
  validate (doc);

  const char *os = "/operatingsystems/operatingsystem";
  char e[256];
#define LN(path, want)                                     \
  do {                                                     \
    snprintf (e, sizeof e, "local-name(%s%s)", os, path);  \
    assert_xpath (doc, e, want);                           \
  } while (0)
#define CNT(path, want)                                \
  do {                                                 \
    snprintf (e, sizeof e, "count(%s%s)", os, path);   \
    assert_xpath (doc, e, want);                       \
  } while (0)
#define X(path, want)                                  \
  do {                                                 \
    snprintf (e, sizeof e, "%s%s", os, path);          \
    assert_xpath (doc, e, want);                       \
  } while (0)
  X ("/root", "/dev/sda2");
  X ("/name", "linux");
  X ("/distro", "fedora");
  X ("/product_name", "Fedora Linux 40 <Server & \"Co\">");
  X ("/major_version", "40");
  X ("/minor_version", "0");
  X ("/package_format", "rpm");
  X ("/package_management", "dnf");
  X ("/osinfo", "fedora40");
  /* "unknown" values and build_id are left out. */
  CNT ("/product_variant", "0");
  CNT ("/hostname", "0");
  CNT ("/build_id", "0");
  CNT ("/windows_systemroot", "0");
  CNT ("/drive_mappings", "0");
  /* The order virt-inspector writes. */
  LN ("/*[1]", "root");
  LN ("/*[2]", "name");
  LN ("/*[3]", "arch");
  LN ("/*[4]", "distro");
  LN ("/*[6]", "major_version");
  LN ("/*[8]", "package_format");
  LN ("/*[10]", "osinfo");
  LN ("/*[11]", "mountpoints");
  LN ("/*[12]", "filesystems");
  LN ("/*[13]", "applications");
  /* Mountpoints: shortest first, then by name. */
  X ("/mountpoints/mountpoint[1]", "/");
  X ("/mountpoints/mountpoint[2]", "/bin");
  X ("/mountpoints/mountpoint[2]/@dev", "/dev/sda3");
  X ("/mountpoints/mountpoint[3]", "/boot");
  /* Filesystems: the OS's own (with swap, without sdb1), by name. */
  CNT ("/filesystems/filesystem", "4");
  X ("/filesystems/filesystem[1]/@dev", "/dev/sda1");
  X ("/filesystems/filesystem[1]/type", "ext4");
  X ("/filesystems/filesystem[1]/label", "boot");
  X ("/filesystems/filesystem[1]/uuid", "1111-boot");
  CNT ("/filesystems/filesystem[2]/label", "0");
  CNT ("/filesystems/filesystem[3]/label", "0");
  X ("/filesystems/filesystem[4]/@dev", "/dev/sda4");
  X ("/filesystems/filesystem[4]/type", "swap");
  /* Applications. */
  CNT ("/applications/application", "3");
  X ("/applications/application[1]/name", "bash");
  CNT ("/applications/application[1]/epoch", "0");
  X ("/applications/application[1]/description",
     "Line one.\nLine two with <tags> & \"quotes\".");
  X ("/applications/application[1]/url", "https://www.gnu.org/software/bash");
  X ("/applications/application[1]/source_package", "bash");
  X ("/applications/application[2]/epoch", "1");
  CNT ("/applications/application[2]/summary", "0");
  CNT ("/applications/application[2]/*", "5");
  LN ("/applications/application[2]/*[2]", "epoch");
  X ("/applications/application[3]/name", "evil??[0m");
  X ("/applications/application[3]/version", "1.0??");
  X ("/applications/application[3]/summary", "a?b ? c ??? d");
  X ("/applications/application[3]/description", "x?y?\nz");
#undef X
#undef LN
#undef CNT
  xmlFreeDoc (doc);
  inspection_clear (&insp);
}

/* A Windows-shaped OS: drive mappings sorted by letter, the systemroot and
 * control set, still valid. */
static void
test_xml_windows (void **state)
{
  struct inspection insp;
  make_inspection (&insp);
  struct inspect_os *os = &insp.os[0];
  free (os->type);
  os->type = xstrdup ("windows");
  free (os->distro);
  os->distro = xstrdup ("windows");
  free (os->package_format);
  os->package_format = xstrdup ("unknown");
  free (os->package_management);
  os->package_management = xstrdup ("unknown");
  os->windows_systemroot = xstrdup ("/Windows");
  os->windows_current_control_set = xstrdup ("ControlSet001");
  os->n_drive_mappings = 2;
  os->drive_mappings = xcalloc (2, sizeof *os->drive_mappings);
  os->drive_mappings[0].name = xstrdup ("E");
  os->drive_mappings[0].device = xstrdup ("/dev/sdb1");
  os->drive_mappings[1].name = xstrdup ("C");
  os->drive_mappings[1].device = xstrdup ("/dev/sda2");

  _cleanup_free_ char *xml = inspect_render_xml (&insp);
  xmlDocPtr doc = xmlReadMemory (xml, (int) strlen (xml), "inspect.xml", NULL,
                                 XML_PARSE_NONET);
  assert_non_null (doc);
  validate (doc);
  assert_xpath (doc, "//windows_systemroot", "/Windows");
  assert_xpath (doc, "//windows_current_control_set", "ControlSet001");
  assert_xpath (doc, "//drive_mapping[1]/@name", "C");
  assert_xpath (doc, "//drive_mapping[2]", "/dev/sdb1");
  assert_xpath (doc, "count(//package_format)", "0");
  /* The order: windows_* between package_management (absent) and osinfo. */
  assert_xpath (doc, "local-name(//operatingsystem/*[8])",
                "windows_systemroot");
  xmlFreeDoc (doc);

  /* The text files. */
  struct vnode *root = inspect_render_tree (&insp, 0);
  struct vnode *f = vtree_lookup (root, "roots/sda2/windows_systemroot");
  assert_non_null (f);
  assert_int_equal (f->len, strlen ("/Windows\n"));
  f = vtree_lookup (root, "roots/sda2/drive_mappings");
  assert_non_null (f);
  assert_memory_equal (f->data, "E\t/dev/sdb1\nC\t/dev/sda2\n", f->len);
  vtree_free (root);
  inspection_clear (&insp);
}

static void
test_xml_empty (void **state)
{
  struct inspection insp = { 0 };
  _cleanup_free_ char *xml = inspect_render_xml (&insp);
  assert_non_null (xml);
  xmlDocPtr doc = xmlReadMemory (xml, (int) strlen (xml), "x", NULL, 0);
  assert_non_null (doc);
  assert_xpath (doc, "count(/operatingsystems/*)", "0");
  xmlFreeDoc (doc);

  /* An OS straight from inspect_root, mountpoints not resolved yet: the
   * root is still listed, so the document stays valid. */
  make_inspection (&insp);
  struct inspect_os *os = &insp.os[0];
  for (size_t i = 0; i < os->n_mountpoints; i++) {
    free (os->mountpoints[i].mountpoint);
    free (os->mountpoints[i].device);
  }
  free (os->mountpoints);
  os->mountpoints = NULL;
  os->n_mountpoints = 0;
  inspect_apps_free (os->apps, os->n_apps);
  os->apps = NULL;
  os->n_apps = 0;
  free (xml);
  xml = inspect_render_xml (&insp);
  doc = xmlReadMemory (xml, (int) strlen (xml), "x", NULL, 0);
  assert_non_null (doc);
  validate (doc);
  assert_xpath (doc, "//mountpoint", "/");
  assert_xpath (doc, "//mountpoint/@dev", "/dev/sda2");
  assert_xpath (doc, "count(//applications)", "1");
  xmlFreeDoc (doc);
  inspection_clear (&insp);
}

static void
test_tree_applications (void **state)
{
  struct inspection insp;
  make_inspection (&insp);
  struct vnode *root = inspect_render_tree (&insp, 0);

  struct vnode *x = vtree_lookup (root, "inspect.xml");
  assert_non_null (x);
  _cleanup_free_ char *xml = inspect_render_xml (&insp);
  assert_int_equal (x->len, strlen (xml));
  assert_memory_equal (x->data, xml, x->len);

  struct vnode *t = vtree_lookup (root, "roots/sda2/applications");
  assert_non_null (t);
  _cleanup_free_ char *tsv = strndup (t->data, t->len);
  const char *want
      = "name\tepoch\tversion\trelease\tarch\turl\tsource_package\tsummary"
        "\tdescription\n"
        "bash\t0\t5.2.26\t3.fc40\tx86_64\thttps://www.gnu.org/software/bash"
        "\tbash\tThe GNU Bourne Again shell"
        "\tLine one.\\nLine two with <tags> & \"quotes\".\n"
        "dbus\t1\t1.14.10\t1.fc40\tx86_64\t\t\t\t\n";
  assert_true (str_has_prefix (tsv, want));
  /* Every line has 9 columns, whatever the strings held. */
  size_t lines = 0;
  for (char *save = NULL, *l = strtok_r (tsv, "\n", &save); l;
       l = strtok_r (NULL, "\n", &save), lines++) {
    size_t tabs = 0;
    for (char *p = l; *p; p++) {
      tabs += *p == '\t';
      assert_false ((unsigned char) *p < 0x20 && *p != '\t');
    }
    assert_int_equal (tabs, 8);
  }
  assert_int_equal (lines, 4);

  struct vnode *j = vtree_lookup (root, "roots/sda2/applications.json");
  assert_non_null (j);
  _cleanup_free_ char *js = strndup (j->data, j->len);
  struct json_object *arr = json_tokener_parse (js);
  assert_non_null (arr);
  assert_int_equal (json_object_array_length (arr), 3);
  struct json_object *a = json_object_array_get_idx (arr, 1), *v;
  assert_true (json_object_object_get_ex (a, "name", &v));
  assert_string_equal (json_object_get_string (v), "dbus");
  assert_true (json_object_object_get_ex (a, "epoch", &v));
  assert_int_equal (json_object_get_int (v), 1);
  assert_true (json_object_object_get_ex (a, "summary", &v));
  assert_string_equal (json_object_get_string (v), "");
  assert_true (json_object_object_get_ex (a, "source_package", &v));
  assert_true (json_object_object_get_ex (a, "install_path", &v));
  a = json_object_array_get_idx (arr, 0);
  assert_true (json_object_object_get_ex (a, "description", &v));
  assert_string_equal (json_object_get_string (v),
                       "Line one.\nLine two with <tags> & \"quotes\".");
  json_object_put (arr);

  vtree_free (root);
  inspection_clear (&insp);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_xml),
    cmocka_unit_test (test_xml_windows),
    cmocka_unit_test (test_xml_empty),
    cmocka_unit_test (test_tree_applications),
  };
  int r = cmocka_run_group_tests (tests, NULL, NULL);
  xmlCleanupParser ();
  return r;
}
