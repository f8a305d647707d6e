/* Unit tests for src/inspect: fstab spec resolution, root ids, rendering of
 * /.inspect and inspect.json, and inspect_root on guest trees built under
 * /tmp (no root needed). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "common/vtree.h"
#include "inspect/inspect.h"

/* ---------------------------------------------------------------------- */
/* inspect_resolve_spec */

static struct inspect_fs test_fs[] = {
  { .device = "/dev/sda1",
    .type = "vfat",
    .uuid = "ABCD-1234",
    .label = "EFI",
    .partuuid = "1111aaaa-01",
    .partlabel = "EFI System",
    .rootfd = -1 },
  { .device = "/dev/sda2",
    .type = "ext4",
    .uuid = "4f2b6a0c-9d2e-4a55-8a57-2b1e0c1f2a3b",
    .label = "root",
    .partuuid = "2222BBBB-02",
    .partlabel = "root part",
    .rootfd = -1 },
  { .device = "/dev/sdb1",
    .type = "xfs",
    .uuid = "0e7c1e2a-5b0f-4c3d-9c1e-7f1a2b3c4d5e",
    .label = "my data",
    .rootfd = -1 },
  { .device = "/dev/sdb", .type = "ext4", .label = "wholedisk", .rootfd = -1 },
  { .device = "/dev/my-vg/root", .type = "ext4", .rootfd = -1 },
  { .device = "/dev/mapper/luks-1234", .type = "ext4", .rootfd = -1 },
  { .device = "/dev/sdaa1", .type = "ext4", .rootfd = -1 },
};

static void
test_resolve_spec (void **state)
{
  static const struct {
    const char *spec;
    int index;
  } cases[] = {
    { "UUID=abcd-1234", 0 },
    { "UUID=\"ABCD-1234\"", 0 },
    { "UUID='abcd-1234'", 0 },
    { "UUID=4F2B6A0C-9D2E-4A55-8A57-2B1E0C1F2A3B", 1 },
    { "UUID=4f2b6a0c", -1 },
    { "UUID=", -1 },
    { "UUID=\"", -1 },
    { "LABEL=root", 1 },
    { "LABEL=Root", -1 },
    { "LABEL=\"my data\"", 2 },
    { "LABEL=my data", 2 },
    { "PARTUUID=1111AAAA-01", 0 },
    { "PARTUUID=2222bbbb-02", 1 },
    { "PARTLABEL=\"EFI System\"", 0 },
    { "PARTLABEL=root part", 1 },
    { "/dev/disk/by-uuid/4f2b6a0c-9d2e-4a55-8a57-2b1e0c1f2a3b", 1 },
    { "/dev/disk/by-label/my\\x20data", 2 },
    { "/dev/disk/by-label/EFI", 0 },
    { "/dev/disk/by-partuuid/1111aaaa-01", 0 },
    { "/dev/disk/by-partlabel/EFI\\x20System", 0 },
    { "/dev/disk/by-label/nothing", -1 },
    { "/dev/sda1", 0 },
    { "/dev/vda2", 1 },
    { "/dev/hda1", 0 },
    { "/dev/xvdb1", 2 },
    { "/dev/vdb", 3 },
    { "/dev/sdb", 3 },
    { "/dev/vdaa1", 6 },
    { "/dev/sdc1", -1 },
    { "/dev/vda1x", -1 },
    { "/dev/vd1", -1 },
    { "/dev/nvme0n1p2", 1 },
    { "/dev/nvme1n1", 3 },
    { "/dev/nvme1n1p1", 2 },
    { "/dev/nvme0n1pX", -1 },
    { "/dev/my-vg/root", 4 },
    { "/dev/mapper/my--vg-root", 4 },
    { "/dev/mapper/luks-1234", 5 },
    { "/dev/mapper/other-lv", -1 },
    { "/dev/mapper/-", -1 },
    { "/dev/root", -1 },
    { "tmpfs", -1 },
    { "", -1 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    int r = inspect_resolve_spec (cases[i].spec, test_fs, ARRAY_SIZE (test_fs));
    if (r != cases[i].index)
      fail_msg ("%s: got %d, want %d", cases[i].spec, r, cases[i].index);
  }
  assert_int_equal (inspect_resolve_spec (NULL, test_fs, ARRAY_SIZE (test_fs)),
                    -1);
  assert_int_equal (inspect_resolve_spec ("/dev/sda1", NULL, 0), -1);
}

/* ---------------------------------------------------------------------- */
/* inspect_fstab_entry_wanted */

static void
test_fstab_entry_wanted (void **state)
{
  static const struct {
    const char *spec, *mp, *type;
    bool wanted;
  } cases[] = {
    { "UUID=x", "/", "ext4", true },
    { "/dev/sda1", "/boot", "ext4", true },
    { "/dev/sda1", "/boot/efi", "vfat", true },
    { "LABEL=data", "/srv/data", "xfs", true },
    { "/dev/vdb1", "/data", "btrfs", true },
    { "/dev/sda3", "none", "swap", false },
    { "/dev/sda3", "swap", "swap", false },
    { "/swapfile", "none", "swap", false },
    { "proc", "/proc", "proc", false },
    { "sysfs", "/sys", "sysfs", false },
    { "tmpfs", "/tmp", "tmpfs", false },
    { "devpts", "/dev/pts", "devpts", false },
    { "/dev/sda5", "/dev/shm", "ext4", false },
    { "/dev/sda5", "/media/usb", "ext4", false },
    { "/dev/sda5", "/mediastuff", "ext4", true },
    { "/dev/sda5", "/selinux", "ext4", false },
    { "/dev/fd0", "/mnt/floppy", "auto", false },
    { "/dev/cdrom", "/mnt/cdrom", "iso9660", false },
    { "/dev/sr0", "/mnt/cd", "udf,iso9660", false },
    { "/dev/cd0", "/cdrom", "cd9660", false },
    { "/dev/floppy", "/mnt/f", "auto", false },
    { "/dev/iso9660/FREEBSD_INSTALL", "/", "cd9660", false },
    { "server:/export", "/net", "nfs", false },
    { "//srv/share", "/mnt/share", "cifs", false },
    { "/dev/sda6", "/../etc", "ext4", false },
    { "/dev/sda6", "/var/./x", "ext4", false },
    { "/dev/sda6", "/var/..", "ext4", false },
    { "/dev/sda6", "/var/..x", "ext4", true },
    { "/dev/sda6", "relative", "ext4", false },
    { "/dev/sda6", "", "ext4", false },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    struct inspect_fstab_entry e = {
      .spec = (char *)cases[i].spec,
      .mountpoint = (char *)cases[i].mp,
      .fstype = (char *)cases[i].type,
      .options = (char *)"defaults",
    };
    if (inspect_fstab_entry_wanted (&e) != cases[i].wanted)
      fail_msg ("%s %s %s: want %d", cases[i].spec, cases[i].mp, cases[i].type,
                cases[i].wanted);
  }
  assert_false (inspect_fstab_entry_wanted (NULL));
  struct inspect_fstab_entry empty = { 0 };
  assert_false (inspect_fstab_entry_wanted (&empty));
}

/* ---------------------------------------------------------------------- */
/* inspect_root_id */

static void
test_root_id (void **state)
{
  static const struct {
    const char *device, *id;
  } cases[] = {
    { "/dev/sda2", "sda2" },
    { "/dev/my-vg/root", "my--vg-root" },
    { "/dev/mapper/luks-xyz", "mapper-luks--xyz" },
    { "/dev/md127", "md127" },
    { "/dev/vg/lv-with--dashes", "vg-lv--with----dashes" },
    { "/dev//sda", "sda" },
    { "/dev/sda/", "sda" },
    { "/dev/bad\nname", "bad_name" },
    { "/dev/", "_" },
    { "/dev/..", "_.." },
    { "sdb1", "sdb1" },
    { "btrfsvol:/dev/sda2/@", "sda2-@" },
    { "btrfsvol:/dev/sda2/@/.snapshots/1/snapshot",
      "sda2-@-.snapshots-1-snapshot" },
    { "btrfsvol:/dev/vg/lv/my-sub", "vg-lv-my--sub" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    _cleanup_free_ char *id = inspect_root_id (cases[i].device);
    assert_string_equal (id, cases[i].id);
  }
  assert_null (inspect_root_id (NULL));
}

/* ---------------------------------------------------------------------- */
/* Rendering. */

static void
fill_inspection (struct inspection *insp)
{
  memset (insp, 0, sizeof *insp);
  insp->n_os = 1;
  insp->os = xcalloc (1, sizeof *insp->os);
  struct inspect_os *os = &insp->os[0];
  os->root_device = xstrdup ("/dev/sda2");
  os->root_id = inspect_root_id ("/dev/sda2");
  os->type = xstrdup ("linux");
  os->distro = xstrdup ("debian");
  os->product_name = xstrdup ("Debian GNU/Linux 12 (bookworm)");
  os->product_variant = xstrdup ("unknown");
  os->major_version = 12;
  os->minor_version = 4;
  os->arch = xstrdup ("x86_64");
  os->hostname = xstrdup ("bad\thost\nname");
  os->build_id = xstrdup ("unknown");
  os->package_format = xstrdup ("deb");
  os->package_management = xstrdup ("apt");
  os->osinfo = xstrdup ("debian12");
  os->n_mountpoints = 3;
  os->mountpoints = xcalloc (3, sizeof *os->mountpoints);
  os->mountpoints[0].mountpoint = xstrdup ("/boot");
  os->mountpoints[0].device = xstrdup ("/dev/sda1");
  os->mountpoints[1].mountpoint = xstrdup ("/");
  os->mountpoints[1].device = xstrdup ("/dev/sda2");
  os->mountpoints[2].mountpoint = xstrdup ("/boot/efi");
  os->mountpoints[2].device = xstrdup ("/dev/sdb1");

  insp->n_fs = 2;
  insp->fs = xcalloc (2, sizeof *insp->fs);
  insp->fs[0].device = xstrdup ("/dev/sda1");
  insp->fs[0].type = xstrdup ("ext4");
  insp->fs[0].uuid = xstrdup ("1234");
  insp->fs[0].label = xstrdup ("boot");
  insp->fs[0].size = 536870912;
  insp->fs[0].rootfd = -1;
  insp->fs[1].device = xstrdup ("/dev/sda2");
  insp->fs[1].type = NULL;
  insp->fs[1].size = 10;
  insp->fs[1].rootfd = -1;

  insp->n_devices = 2;
  insp->devices = xcalloc (2, sizeof *insp->devices);
  insp->devices[0].name = xstrdup ("/dev/sda");
  insp->devices[0].type = xstrdup ("disk");
  insp->devices[0].size = 1073741824;
  insp->devices[0].format = xstrdup ("qcow2");
  insp->devices[0].source = xstrdup ("/images/disk.qcow2");
  insp->devices[0].opened = true;
  insp->devices[1].name = xstrdup ("/dev/sda1");
  insp->devices[1].type = xstrdup ("partition");
  insp->devices[1].size = 536870912;
  insp->devices[1].uuid = xstrdup ("abcd-01");
  insp->devices[1].parent = xstrdup ("/dev/sda");

  strv_push (&insp->warnings, xstrdup ("/dev/sdb: cannot mount: bad"));
  strv_push (&insp->warnings, xstrdup ("two\nlines"));
}

static const char *
file_data (struct vnode *root, const char *path)
{
  struct vnode *n = vtree_lookup (root, path);
  if (!n)
    fail_msg ("%s missing", path);
  assert_int_equal (n->kind, VNODE_FILE);
  assert_int_equal (strlen (n->data), n->len);
  return n->data;
}

static void
test_render_tree (void **state)
{
  struct inspection insp;
  fill_inspection (&insp);

  struct vnode *root = inspect_render_tree (&insp, 0);
  assert_non_null (root);
  assert_string_equal (file_data (root, "roots/sda2/type"), "linux\n");
  assert_string_equal (file_data (root, "roots/sda2/distro"), "debian\n");
  assert_string_equal (file_data (root, "roots/sda2/product_name"),
                       "Debian GNU/Linux 12 (bookworm)\n");
  assert_string_equal (file_data (root, "roots/sda2/product_variant"),
                       "unknown\n");
  assert_string_equal (file_data (root, "roots/sda2/major_version"), "12\n");
  assert_string_equal (file_data (root, "roots/sda2/minor_version"), "4\n");
  assert_string_equal (file_data (root, "roots/sda2/arch"), "x86_64\n");
  assert_string_equal (file_data (root, "roots/sda2/hostname"),
                       "bad?host?name\n");
  assert_string_equal (file_data (root, "roots/sda2/build_id"), "unknown\n");
  assert_string_equal (file_data (root, "roots/sda2/package_format"), "deb\n");
  assert_string_equal (file_data (root, "roots/sda2/package_management"),
                       "apt\n");
  assert_string_equal (file_data (root, "roots/sda2/osinfo"), "debian12\n");
  assert_string_equal (
      file_data (root, "roots/sda2/mountpoints"),
      "/\t/dev/sda2\n/boot\t/dev/sda1\n/boot/efi\t/dev/sdb1\n");
  /* No package database read: the applications list is the header alone. */
  assert_string_equal (file_data (root, "roots/sda2/applications"),
                       "name\tepoch\tversion\trelease\tarch\turl\tsource_package\t"
                       "summary\tdescription\n");
  assert_null (vtree_lookup (root, "roots/sda2/windows_systemroot"));
  assert_string_equal (file_data (root, "filesystems"),
                       "/dev/sda1\text4\t1234\tboot\t536870912\n"
                       "/dev/sda2\t\t\t\t10\n");
  assert_string_equal (file_data (root, "devices"),
                       "/dev/sda\tdisk\t1073741824\t\t\n"
                       "/dev/sda1\tpartition\t536870912\t/dev/sda\tabcd-01\n");
  assert_string_equal (file_data (root, "warnings"),
                       "/dev/sdb: cannot mount: bad\ntwo?lines\n");

  struct vnode *link = vtree_lookup (root, "root");
  assert_non_null (link);
  assert_int_equal (link->kind, VNODE_LINK);
  assert_string_equal (link->data, "roots/sda2");

  struct vnode *roots = vtree_lookup (root, "roots");
  assert_int_equal (roots->kind, VNODE_DIR);
  assert_int_equal (roots->n_children, 1);

  /* The embedded inspect.json is the same as inspect_render_json's. */
  _cleanup_free_ char *json = inspect_render_json (&insp);
  assert_string_equal (file_data (root, "inspect.json"), json);
  vtree_free (root);

  /* No OS shown: no root link; an out-of-range index neither. */
  root = inspect_render_tree (&insp, -1);
  assert_null (vtree_lookup (root, "root"));
  vtree_free (root);
  root = inspect_render_tree (&insp, 5);
  assert_null (vtree_lookup (root, "root"));
  vtree_free (root);

  /* Empty inspection. */
  struct inspection empty = { 0 };
  root = inspect_render_tree (&empty, -1);
  assert_string_equal (file_data (root, "filesystems"), "");
  assert_string_equal (file_data (root, "warnings"), "");
  assert_int_equal (vtree_lookup (root, "roots")->n_children, 0);
  vtree_free (root);

  inspection_clear (&insp);
  assert_int_equal (insp.n_os, 0);
  assert_null (insp.os);
}

static struct json_object *
jget (struct json_object *o, const char *key)
{
  struct json_object *v = NULL;
  if (!json_object_object_get_ex (o, key, &v))
    fail_msg ("key %s missing", key);
  return v;
}

static void
test_render_json (void **state)
{
  struct inspection insp;
  fill_inspection (&insp);

  _cleanup_free_ char *s = inspect_render_json (&insp);
  assert_true (str_has_suffix (s, "\n"));
  assert_null (strstr (s, "\\/")); /* no escaped slashes */
  struct json_object *top = json_tokener_parse (s);
  assert_non_null (top);

  assert_int_equal (json_object_get_int (jget (top, "version")), 1);
  struct json_object *oses = jget (top, "operatingsystems");
  assert_int_equal (json_object_array_length (oses), 1);
  struct json_object *os = json_object_array_get_idx (oses, 0);
  assert_string_equal (json_object_get_string (jget (os, "root")), "/dev/sda2");
  assert_string_equal (json_object_get_string (jget (os, "root_id")), "sda2");
  assert_string_equal (json_object_get_string (jget (os, "type")), "linux");
  assert_string_equal (json_object_get_string (jget (os, "distro")), "debian");
  assert_string_equal (json_object_get_string (jget (os, "product_name")),
                       "Debian GNU/Linux 12 (bookworm)");
  assert_string_equal (json_object_get_string (jget (os, "product_variant")),
                       "unknown");
  assert_true (json_object_is_type (jget (os, "major_version"), json_type_int));
  assert_int_equal (json_object_get_int (jget (os, "major_version")), 12);
  assert_int_equal (json_object_get_int (jget (os, "minor_version")), 4);
  assert_string_equal (json_object_get_string (jget (os, "arch")), "x86_64");
  assert_string_equal (json_object_get_string (jget (os, "hostname")),
                       "bad?host?name");
  assert_string_equal (json_object_get_string (jget (os, "build_id")),
                       "unknown");
  assert_string_equal (json_object_get_string (jget (os, "package_format")),
                       "deb");
  assert_string_equal (json_object_get_string (jget (os, "package_management")),
                       "apt");
  assert_string_equal (json_object_get_string (jget (os, "osinfo")),
                       "debian12");
  struct json_object *mps = jget (os, "mountpoints");
  assert_int_equal (json_object_array_length (mps), 3);
  assert_string_equal (json_object_get_string (jget (
                           json_object_array_get_idx (mps, 0), "mountpoint")),
                       "/");
  assert_string_equal (json_object_get_string (
                           jget (json_object_array_get_idx (mps, 0), "device")),
                       "/dev/sda2");
  assert_string_equal (json_object_get_string (jget (
                           json_object_array_get_idx (mps, 2), "mountpoint")),
                       "/boot/efi");

  struct json_object *fss = jget (top, "filesystems");
  assert_int_equal (json_object_array_length (fss), 2);
  struct json_object *f0 = json_object_array_get_idx (fss, 0);
  assert_string_equal (json_object_get_string (jget (f0, "device")),
                       "/dev/sda1");
  assert_string_equal (json_object_get_string (jget (f0, "uuid")), "1234");
  assert_int_equal (json_object_get_int64 (jget (f0, "size")), 536870912);
  struct json_object *f1 = json_object_array_get_idx (fss, 1);
  assert_null (jget (f1, "type"));
  assert_null (jget (f1, "uuid"));
  assert_null (jget (f1, "label"));

  struct json_object *devs = jget (top, "devices");
  assert_int_equal (json_object_array_length (devs), 2);
  struct json_object *d0 = json_object_array_get_idx (devs, 0);
  assert_string_equal (json_object_get_string (jget (d0, "name")), "/dev/sda");
  assert_string_equal (json_object_get_string (jget (d0, "format")), "qcow2");
  assert_string_equal (json_object_get_string (jget (d0, "source")),
                       "/images/disk.qcow2");
  assert_true (json_object_is_type (jget (d0, "opened"), json_type_boolean));
  assert_true (json_object_get_boolean (jget (d0, "opened")));
  assert_null (jget (d0, "parent"));
  assert_int_equal (json_object_get_int64 (jget (d0, "size")), 1073741824);
  struct json_object *d1 = json_object_array_get_idx (devs, 1);
  assert_string_equal (json_object_get_string (jget (d1, "parent")),
                       "/dev/sda");
  assert_false (json_object_get_boolean (jget (d1, "opened")));

  struct json_object *w = jget (top, "warnings");
  assert_int_equal (json_object_array_length (w), 2);
  assert_string_equal (
      json_object_get_string (json_object_array_get_idx (w, 0)),
      "/dev/sdb: cannot mount: bad");

  json_object_put (top);
  inspection_clear (&insp);

  /* Empty inspection: still valid, all arrays present. */
  struct inspection empty = { 0 };
  _cleanup_free_ char *e = inspect_render_json (&empty);
  top = json_tokener_parse (e);
  assert_non_null (top);
  assert_int_equal (json_object_array_length (jget (top, "operatingsystems")),
                    0);
  assert_int_equal (json_object_array_length (jget (top, "devices")), 0);
  json_object_put (top);
}

/* ---------------------------------------------------------------------- */
/* inspect_root on trees under /tmp. */

static char *tree; /* current temporary root */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
tree_setup (void **state)
{
  tree = xstrdup ("/tmp/test-inspect-XXXXXX");
  if (!mkdtemp (tree))
    return -1;
  return 0;
}

static int
tree_teardown (void **state)
{
  if (tree)
    nftw (tree, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (tree);
  tree = NULL;
  return 0;
}

static void
mkdirs (const char *rel)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", tree, rel);
  for (char *s = p + strlen (tree) + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir (p, 0755);
      *s = '/';
    }
  mkdir (p, 0755);
}

static void
write_file (const char *rel, const void *data, size_t len)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", tree, rel);
  char *slash = strrchr (p, '/');
  if (slash > p + strlen (tree)) {
    *slash = '\0';
    mkdirs (p + strlen (tree) + 1);
    *slash = '/';
  }
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  assert_int_equal (fwrite (data, 1, len, f), len);
  fclose (f);
}

static void
write_text (const char *rel, const char *text)
{
  write_file (rel, text, strlen (text));
}

static void
symlink_in (const char *rel, const char *target)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", tree, rel);
  assert_int_equal (symlink (target, p), 0);
}

static void
write_elf (const char *rel, unsigned machine, int cls, int data)
{
  unsigned char h[64] = { 0x7f, 'E', 'L', 'F' };
  h[4] = (unsigned char)cls;
  h[5] = (unsigned char)data;
  h[6] = 1;
  if (data == 1) {
    h[18] = (unsigned char)(machine & 0xff);
    h[19] = (unsigned char)(machine >> 8);
  }
  else {
    h[18] = (unsigned char)(machine >> 8);
    h[19] = (unsigned char)(machine & 0xff);
  }
  write_file (rel, h, sizeof h);
}

/* A minimal Linux root: /etc/fstab, /bin/bash (x86_64). */
static void
make_linux_base (void)
{
  write_text ("etc/fstab", "UUID=1234 / ext4 defaults 0 1\n"
                           "UUID=5678 /boot ext4 defaults 0 2\n");
  write_elf ("bin/bash", 62, 2, 1);
}

static int
run_inspect (struct inspect_os *os, struct strv *w)
{
  _cleanup_close_ int fd = open (tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  return inspect_root (fd, "/dev/sda2", os, w);
}

struct distro_case {
  const char *name;
  const char *files[4][2]; /* path, contents */
  const char *distro;
  int major, minor;
  const char *format, *mgmt, *osinfo, *product;
};

static const struct distro_case distro_cases[] = {
  { "fedora39",
    { { "etc/os-release",
        "NAME=\"Fedora Linux\"\nVERSION=\"39 (Thirty Nine)\"\n"
        "ID=fedora\nVERSION_ID=39\nVERSION_CODENAME=\"\"\n"
        "PLATFORM_ID=\"platform:f39\"\n"
        "PRETTY_NAME=\"Fedora Linux 39 (Thirty Nine)\"\n" },
      { "etc/redhat-release", "Fedora release 39 (Thirty Nine)\n" } },
    "fedora",
    39,
    0,
    "rpm",
    "dnf",
    "fedora39",
    "Fedora Linux 39 (Thirty Nine)" },
  { "rhel93",
    { { "etc/os-release",
        "NAME=\"Red Hat Enterprise Linux\"\n"
        "VERSION=\"9.3 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\n"
        "VERSION_ID=\"9.3\"\n"
        "PRETTY_NAME=\"Red Hat Enterprise Linux 9.3 (Plow)\"\n" },
      { "etc/redhat-release",
        "Red Hat Enterprise Linux release 9.3 (Plow)\n" } },
    "rhel",
    9,
    3,
    "rpm",
    "dnf",
    "rhel9.3",
    "Red Hat Enterprise Linux 9.3 (Plow)" },
  { "ubuntu2204",
    { { "etc/os-release",
        "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\n"
        "VERSION_ID=\"22.04\"\n"
        "VERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n"
        "VERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n" },
      { "etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n"
                           "DISTRIB_CODENAME=jammy\n"
                           "DISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n" },
      { "etc/debian_version", "bookworm/sid\n" } },
    "ubuntu",
    22,
    4,
    "deb",
    "apt",
    "ubuntu22.04",
    "Ubuntu 22.04.3 LTS" },
  { "debian12",
    { { "usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                              "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
                              "VERSION=\"12 (bookworm)\"\n"
                              "VERSION_CODENAME=bookworm\nID=debian\n" },
      { "etc/debian_version", "12.4\n" } },
    "debian",
    12,
    4,
    "deb",
    "apt",
    "debian12",
    /* libguestfs: os-release gave only "12", so debian_version was read
     * and its first line became the product name. */
    "12.4" },
  { "alpine319",
    { { "etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n"
        "PRETTY_NAME=\"Alpine Linux v3.19\"\n" },
      { "etc/alpine-release", "3.19.1\n" } },
    "alpinelinux",
    3,
    19,
    "apk",
    "apk",
    "alpinelinux3.19",
    "Alpine Linux v3.19" },
  { "arch",
    { { "etc/os-release", "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\n"
                          "ID=arch\nBUILD_ID=rolling\n" },
      { "etc/arch-release", "" } },
    "archlinux",
    0,
    0,
    "pacman",
    "pacman",
    "archlinux",
    "Arch Linux" },
  { "leap155",
    { { "etc/os-release", "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\n"
                          "ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n"
                          "VERSION_ID=\"15.5\"\n"
                          "PRETTY_NAME=\"openSUSE Leap 15.5\"\n" } },
    "opensuse",
    15,
    5,
    "rpm",
    "zypper",
    "opensuse15.5",
    "openSUSE Leap 15.5" },
  { "rocky93",
    { { "etc/os-release", "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\n"
                          "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"
                          "VERSION_ID=\"9.3\"\n"
                          "PRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n" },
      { "etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n" },
      { "etc/redhat-release", "Rocky Linux release 9.3 (Blue Onyx)\n" } },
    "rocky",
    9,
    3,
    "rpm",
    "dnf",
    "rocky9",
    "Rocky Linux 9.3 (Blue Onyx)" },
  { "centos7",
    { { "etc/os-release", "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\n"
                          "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\n"
                          "VERSION_ID=\"7\"\n"
                          "PRETTY_NAME=\"CentOS Linux 7 (Core)\"\n" },
      { "etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n" },
      { "etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n" } },
    "centos",
    7,
    9,
    "rpm",
    "yum",
    "centos7.0",
    "CentOS Linux release 7.9.2009 (Core)" },
  { "centos-stream9",
    { { "etc/os-release",
        "NAME=\"CentOS Stream\"\nVERSION=\"9\"\nID=\"centos\"\n"
        "VERSION_ID=\"9\"\nPRETTY_NAME=\"CentOS Stream 9\"\n" },
      { "etc/centos-release", "CentOS Stream release 9\n" } },
    "centos",
    9,
    0,
    "rpm",
    "dnf",
    "centos-stream9",
    "CentOS Stream release 9" },
  { "almalinux9",
    { { "etc/os-release",
        "NAME=\"AlmaLinux\"\nID=\"almalinux\"\n"
        "VERSION_ID=\"9.3\"\n"
        "PRETTY_NAME=\"AlmaLinux 9.3 (Shamrock Pink Dolphin)\"\n" },
      { "etc/redhat-release",
        "AlmaLinux release 9.3 (Shamrock Pink Dolphin)\n" } },
    "redhat-based",
    9,
    3,
    "rpm",
    "dnf",
    "redhat-based9.3",
    /* ID=almalinux is unknown to libguestfs: redhat-release decides. */
    "AlmaLinux release 9.3 (Shamrock Pink Dolphin)" },
  { "old-rhel5 (no os-release)",
    { { "etc/redhat-release",
        "Red Hat Enterprise Linux Server release 5.11 (Tikanga)\n" } },
    "rhel",
    5,
    11,
    "rpm",
    "yum",
    "rhel5.11",
    "Red Hat Enterprise Linux Server release 5.11 (Tikanga)" },
  { "linuxmint (lsb only)",
    { { "etc/lsb-release",
        "DISTRIB_ID=LinuxMint\nDISTRIB_RELEASE=21.2\n"
        "DISTRIB_DESCRIPTION=\"Linux Mint 21.2 Victoria\"\n" },
      { "etc/debian_version", "bookworm/sid\n" } },
    "linuxmint",
    21,
    2,
    "deb",
    "apt",
    "linuxmint21.2",
    "Linux Mint 21.2 Victoria" },
  { "nothing known",
    { { "etc/os-release", "ID=weird\nPRETTY_NAME=\"Weird OS\"\n" } },
    "unknown",
    0,
    0,
    "unknown",
    "unknown",
    "unknown",
    "Weird OS" },
};

static void
test_inspect_distros (void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE (distro_cases); i++) {
    const struct distro_case *c = &distro_cases[i];
    tree_teardown (NULL);
    assert_int_equal (tree_setup (NULL), 0);
    make_linux_base ();
    for (size_t j = 0; j < ARRAY_SIZE (c->files) && c->files[j][0]; j++)
      write_text (c->files[j][0], c->files[j][1]);

    struct inspect_os os;
    struct strv w = { 0 };
    int r = run_inspect (&os, &w);
    if (r != 1)
      fail_msg ("%s: inspect_root returned %d", c->name, r);
    if (strcmp (os.distro, c->distro) != 0 || os.major_version != c->major
        || os.minor_version != c->minor
        || strcmp (os.package_format, c->format) != 0
        || strcmp (os.package_management, c->mgmt) != 0
        || strcmp (os.osinfo, c->osinfo) != 0
        || strcmp (os.product_name, c->product) != 0)
      fail_msg ("%s: got %s %d.%d %s/%s %s \"%s\"", c->name, os.distro,
                os.major_version, os.minor_version, os.package_format,
                os.package_management, os.osinfo, os.product_name);
    assert_string_equal (os.type, "linux");
    assert_string_equal (os.arch, "x86_64");
    assert_string_equal (os.root_device, "/dev/sda2");
    assert_string_equal (os.root_id, "sda2");
    assert_string_equal (os.product_variant, "unknown");
    assert_int_equal (os.n_fstab, 2);
    assert_string_equal (os.fstab[1].mountpoint, "/boot");
    assert_int_equal (w.n, 0);
    inspect_os_clear (&os);
    strv_clear (&w);
  }
}

static void
test_inspect_fields (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  /* Merged /usr: /bin -> usr/bin; aarch64; hostname; build id. */
  write_text ("etc/hosts", "127.0.0.1 localhost\n");
  write_text ("etc/os-release", "ID=fedora\nVERSION_ID=40\nBUILD_ID=\"b-7\"\n"
                                "PRETTY_NAME=\"Fedora Linux 40\"\n");
  write_elf ("usr/bin/bash", 183, 2, 1);
  symlink_in ("bin", "usr/bin");
  write_text ("etc/HOSTNAME", "\n# c\n  guest1.example.org \n");
  write_text ("etc/hostname", "other\n");
  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.arch, "aarch64");
  assert_string_equal (os.hostname, "guest1.example.org");
  assert_string_equal (os.build_id, "b-7");
  assert_int_equal (os.n_fstab, 0);
  assert_null (os.fstab);
  assert_int_equal (w.n, 0);
  inspect_os_clear (&os);
}

static void
test_inspect_separate_usr (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  /* /bin -> usr/bin while /usr is another filesystem: still a root, and
   * arch falls back to "unknown". */
  write_text ("etc/fstab", "/dev/sda3 /usr ext4 defaults 0 2\n");
  mkdirs ("usr");
  symlink_in ("bin", "usr/bin");
  write_text ("etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=rhel6.lan\n");
  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.arch, "unknown");
  assert_string_equal (os.distro, "unknown");
  assert_string_equal (os.product_name, "unknown");
  assert_string_equal (os.hostname, "rhel6.lan");
  assert_string_equal (os.osinfo, "unknown");
  assert_int_equal (os.major_version, 0);
  assert_int_equal (os.n_fstab, 1);
  assert_string_equal (os.fstab[0].spec, "/dev/sda3");
  inspect_os_clear (&os);
  strv_clear (&w);
}

static void
test_inspect_escapes (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  /* Symlinks pointing out of the guest must resolve inside it: the host
   * has /usr/lib/os-release, /etc/hostname, /bin/bash and /etc/passwd;
   * the guest has none of them. */
  write_text ("etc/fstab", "# empty\n");
  mkdirs ("bin");
  symlink_in ("etc/os-release", "/usr/lib/os-release");
  symlink_in ("etc/hostname", "../../../../../../../../etc/passwd");
  symlink_in ("etc/HOSTNAME", "/proc/self/root/etc/hostname");
  symlink_in ("bin/bash", "/bin/bash");
  symlink_in ("bin/sh", "../../../../../../../../bin/sh");
  symlink_in ("etc/debian_version", "/etc/debian_version");
  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.distro, "unknown");
  assert_string_equal (os.arch, "unknown");
  assert_string_equal (os.hostname, "unknown");
  assert_string_equal (os.product_name, "unknown");
  inspect_os_clear (&os);
  strv_clear (&w);
}

static void
test_inspect_hostile_files (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  make_linux_base ();
  /* os-release is a directory, lsb-release a FIFO, debian_version too big,
   * the fstab has a bad line, the hostname has control characters. */
  mkdirs ("etc/os-release");
  _cleanup_free_ char *fifo = xasprintf ("%s/etc/lsb-release", tree);
  assert_int_equal (mkfifo (fifo, 0644), 0);
  _cleanup_free_ char *big = xasprintf ("%s/etc/debian_version", tree);
  int fd = open (big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, (off_t)GUEST_FILE_MAX + 1), 0);
  close (fd);
  write_text ("etc/alpine-release", "3.18.4\n");
  write_text ("etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n"
                           "garbage\n"
                           "/dev/sda2 /home ext4 defaults 0 2\n");
  write_text ("etc/hostname", "evil\033]0;title\007host\n");

  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.distro, "alpinelinux");
  assert_int_equal (os.major_version, 3);
  assert_int_equal (os.minor_version, 18);
  assert_string_equal (os.product_name, "3.18.4");
  assert_string_equal (os.hostname, "evil?]0;title?host");
  assert_int_equal (os.n_fstab, 2);
  assert_string_equal (os.fstab[1].mountpoint, "/home");

  bool saw_dir = false, saw_fifo = false, saw_big = false, saw_fstab = false;
  for (size_t i = 0; i < w.n; i++) {
    assert_true (str_has_prefix (w.v[i], "/dev/sda2: "));
    if (strstr (w.v[i], "/etc/os-release: not a regular file"))
      saw_dir = true;
    if (strstr (w.v[i], "/etc/lsb-release: not a regular file"))
      saw_fifo = true;
    if (strstr (w.v[i], "/etc/debian_version: larger than"))
      saw_big = true;
    if (strstr (w.v[i], "/etc/fstab: line 2"))
      saw_fstab = true;
  }
  assert_true (saw_dir);
  assert_true (saw_fifo);
  assert_true (saw_big);
  assert_true (saw_fstab);
  inspect_os_clear (&os);
  strv_clear (&w);
}

static void
test_inspect_not_root (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  /* Empty filesystem. */
  assert_int_equal (run_inspect (&os, &w), 0);
  /* /etc without /bin (a separate /var, say). */
  write_text ("etc/fstab", "x / ext4\n");
  assert_int_equal (run_inspect (&os, &w), 0);
  /* /bin a symlink elsewhere. */
  symlink_in ("bin", "/somewhere/else");
  assert_int_equal (run_inspect (&os, &w), 0);
  /* /etc and /bin but neither fstab nor hosts. */
  _cleanup_free_ char *f = xasprintf ("%s/etc/fstab", tree);
  unlink (f);
  _cleanup_free_ char *b = xasprintf ("%s/bin", tree);
  unlink (b);
  mkdirs ("bin");
  assert_int_equal (run_inspect (&os, &w), 0);
  assert_int_equal (w.n, 0);
  assert_null (os.type);
}

static void
test_inspect_bsd (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  write_text ("etc/freebsd-update.conf", "KeyPrint 800651ef\n");
  write_text ("etc/fstab", "/dev/ada0p2 / ufs rw 1 1\n");
  write_text (
      "etc/motd",
      "FreeBSD 13.2-RELEASE releng/13.2-n254617-525ecfdad597 GENERIC\n");
  write_text ("etc/rc.conf", "hostname=\"bsdhost\"\nsshd_enable=\"YES\"\n");
  write_elf ("bin/sh", 62, 2, 1);
  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.type, "freebsd");
  assert_string_equal (os.distro, "freebsd");
  assert_int_equal (os.major_version, 13);
  assert_int_equal (os.minor_version, 2);
  assert_string_equal (os.osinfo, "freebsd13.2");
  assert_string_equal (os.hostname, "bsdhost");
  assert_string_equal (os.arch, "x86_64");
  assert_int_equal (os.n_fstab, 1);
  inspect_os_clear (&os);

  tree_teardown (NULL);
  assert_int_equal (tree_setup (NULL), 0);
  write_text ("bsd", "kernel");
  write_text ("etc/fstab", "a1b2c3d4e5f6a7b8.a / ffs rw 1 1\n");
  write_text ("etc/motd",
              "OpenBSD 7.4 (GENERIC.MP) #1397: Tue Oct 10 09:02:37 MDT 2023\n");
  write_text ("etc/myname", "puffy.example.org\n");
  write_elf ("bin/ls", 62, 2, 1);
  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.type, "openbsd");
  assert_string_equal (os.distro, "openbsd");
  assert_int_equal (os.major_version, 7);
  assert_int_equal (os.minor_version, 4);
  assert_string_equal (os.hostname, "puffy.example.org");
  inspect_os_clear (&os);

  tree_teardown (NULL);
  assert_int_equal (tree_setup (NULL), 0);
  write_text ("netbsd", "kernel");
  write_text ("etc/fstab", "/dev/wd0a / ffs rw 1 1\n");
  write_text ("etc/release",
              "NetBSD 9.3 (GENERIC) #0: Thu Aug  4 15:30:37 UTC 2022\n");
  write_text ("etc/rc.conf", "hostname=nbsd\n");
  write_elf ("bin/sh", 183, 2, 1);
  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.type, "netbsd");
  assert_string_equal (os.distro, "netbsd");
  assert_int_equal (os.major_version, 9);
  assert_int_equal (os.minor_version, 3);
  assert_string_equal (os.osinfo, "netbsd9.3");
  assert_string_equal (os.hostname, "nbsd");
  assert_string_equal (os.arch, "aarch64");
  assert_string_equal (os.package_format, "unknown");
  inspect_os_clear (&os);
  strv_clear (&w);
}


/* ---------------------------------------------------------------------- */
/* btrfs subvolumes as filesystems */

static void
test_resolve_subvol (void **state)
{
  struct inspect_fs fs[] = {
    { .device = "/dev/sda1", .type = "ext4", .uuid = "u-boot", .rootfd = -1 },
    { .device = "/dev/sda2", .type = "btrfs", .uuid = "u-btr", .rootfd = -1 },
    { .device = "btrfsvol:/dev/sda2/@", .type = "btrfs", .uuid = "u-btr",
      .rootfd = -1 },
    { .device = "btrfsvol:/dev/sda2/@home", .type = "btrfs", .uuid = "u-btr",
      .rootfd = -1 },
    { .device = "btrfsvol:/dev/sda2/@/var/lib/x", .type = "btrfs",
      .uuid = "u-btr", .rootfd = -1 },
  };
  static const struct {
    const char *spec, *options;
    int idx;
  } cases[] = {
    { "UUID=u-btr", "defaults,subvol=@", 2 },
    { "UUID=u-btr", "subvol=/@home,compress=zstd", 3 },
    { "UUID=u-btr", "subvol=//@//var/lib/x/", 4 },
    { "/dev/sda2", "subvol=@home", 3 },
    { "UUID=u-btr", "defaults", 1 },         /* the default subvolume */
    { "UUID=u-btr", NULL, 1 },
    { "UUID=u-btr", "subvol=", 1 },
    { "UUID=u-btr", "subvol=/", 1 },
    { "UUID=u-btr", "subvol=@nothere", 1 },  /* not listed: the device */
    { "UUID=u-btr", "subvolid=256", 1 },
    { "UUID=u-boot", "subvol=@", 0 },        /* not btrfs */
    { "UUID=nope", "subvol=@", -1 },
    { "btrfsvol:/dev/sda2/@home", "subvol=@", 3 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    struct inspect_fstab_entry e = { .spec = (char *)cases[i].spec,
                                     .mountpoint = "/x",
                                     .fstype = "btrfs",
                                     .options = (char *)cases[i].options };
    int got = inspect_resolve_fstab_entry (&e, fs, ARRAY_SIZE (fs));
    if (got != cases[i].idx)
      fail_msg ("%s %s: got %d, want %d", cases[i].spec,
                cases[i].options ? cases[i].options : "(null)", got,
                cases[i].idx);
  }
  assert_int_equal (inspect_resolve_fstab_entry (NULL, fs, ARRAY_SIZE (fs)),
                    -1);
  assert_int_equal (inspect_resolve_subvol (7, "subvol=@", fs, ARRAY_SIZE (fs)),
                    7);
  _cleanup_free_ char *d = inspect_btrfsvol_device ("/dev/sda2", "/@home");
  assert_string_equal (d, "btrfsvol:/dev/sda2/@home");
}

/* A Linux root whose /usr is another filesystem (the second tree). */
static char *usrtree;

static void
write_usr (const char *rel, const char *text)
{
  char *save = tree;
  tree = usrtree;
  write_text (rel, text);
  tree = save;
}

static void
write_usr_elf (const char *rel, unsigned machine)
{
  char *save = tree;
  tree = usrtree;
  write_elf (rel, machine, 2, 1);
  tree = save;
}

static int
usr_setup (void **state)
{
  usrtree = xstrdup ("/tmp/test-inspect-usr-XXXXXX");
  if (!mkdtemp (usrtree))
    return -1;
  return tree_setup (state);
}

static int
usr_teardown (void **state)
{
  if (usrtree)
    nftw (usrtree, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (usrtree);
  usrtree = NULL;
  return tree_teardown (state);
}

/* inspect_root, then inspect_root_usr with fs[1] = the /usr tree. */
static int
run_inspect_usr (struct inspect_os *os, struct strv *w, int *ret_usr)
{
  _cleanup_close_ int rfd = open (tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int ufd = open (usrtree, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (rfd >= 0 && ufd >= 0);
  struct inspect_fs fs[] = {
    { .device = "/dev/sda2", .type = "ext4", .uuid = "r-uuid", .rootfd = rfd },
    { .device = "/dev/sda3", .type = "ext4", .uuid = "u-uuid", .rootfd = ufd },
  };
  int r = inspect_root (rfd, "/dev/sda2", os, w);
  if (r != 1)
    return r;
  *ret_usr = inspect_root_usr (os, fs, ARRAY_SIZE (fs), w);
  return r;
}

static void
test_inspect_usr_fs (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };
  int usr = -1;

  /* Fedora/CoreOS-style merged /usr on its own filesystem: the root has
   * /etc (os-release a dangling link to ../usr/lib/os-release), an empty
   * /usr mountpoint and bin -> usr/bin. */
  write_text ("etc/fstab", "UUID=r-uuid / ext4 defaults 0 1\n"
                           "UUID=u-uuid /usr ext4 ro 0 2\n");
  write_text ("etc/hostname", "usrsplit\n");
  symlink_in ("etc/os-release", "../usr/lib/os-release");
  mkdirs ("usr");
  symlink_in ("bin", "usr/bin");
  symlink_in ("lib", "usr/lib");
  write_usr ("lib/os-release",
             "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\n"
             "PRETTY_NAME=\"Fedora Linux 40 (Server Edition)\"\n"
             "BUILD_ID=b40\n");
  write_usr_elf ("bin/bash", 183);
  assert_int_equal (run_inspect_usr (&os, &w, &usr), 1);
  assert_int_equal (usr, 1);
  assert_string_equal (os.distro, "fedora");
  assert_int_equal (os.major_version, 40);
  assert_string_equal (os.product_name, "Fedora Linux 40 (Server Edition)");
  assert_string_equal (os.arch, "aarch64");
  assert_string_equal (os.hostname, "usrsplit");
  assert_string_equal (os.build_id, "b40");
  assert_string_equal (os.package_format, "rpm");
  assert_string_equal (os.package_management, "dnf");
  assert_string_equal (os.osinfo, "fedora40");
  inspect_os_clear (&os);
  strv_clear (&w);
}

static void
test_inspect_usr_fs_merge (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };
  int usr = -1;

  /* Debian with a separate (unmerged) /usr: the root's debian_version
   * wins for distro, version and product; arch comes from /usr because
   * the root's /bin has no known binary. */
  write_text ("etc/fstab", "/dev/sda2 / ext4 defaults 0 1\n"
                           "/dev/vda3 /usr ext4 defaults 0 2\n");
  write_text ("etc/debian_version", "11.9\n");
  mkdirs ("bin");
  write_usr ("lib/os-release", "ID=debian\nVERSION_ID=\"11\"\n"
                               "PRETTY_NAME=\"Debian GNU/Linux 11\"\n");
  write_usr_elf ("bin/bash", 62);
  assert_int_equal (run_inspect_usr (&os, &w, &usr), 1);
  assert_int_equal (usr, 1);
  assert_string_equal (os.distro, "debian");
  assert_int_equal (os.major_version, 11);
  assert_int_equal (os.minor_version, 9);
  assert_string_equal (os.product_name, "11.9");
  assert_string_equal (os.arch, "x86_64");
  assert_string_equal (os.osinfo, "debian11");
  inspect_os_clear (&os);
  strv_clear (&w);

  /* No /usr in the fstab: nothing is consulted. */
  tree_teardown (NULL);
  assert_int_equal (tree_setup (NULL), 0);
  write_text ("etc/fstab", "/dev/sda2 / ext4 defaults 0 1\n");
  symlink_in ("bin", "usr/bin");
  assert_int_equal (run_inspect_usr (&os, &w, &usr), 1);
  assert_int_equal (usr, 0);
  assert_string_equal (os.distro, "unknown");
  assert_string_equal (os.arch, "unknown");
  inspect_os_clear (&os);

  /* A complete root never reads /usr. */
  tree_teardown (NULL);
  assert_int_equal (tree_setup (NULL), 0);
  make_linux_base ();
  write_text ("etc/fstab", "/dev/sda2 / ext4 defaults 0 1\n"
                           "/dev/sda3 /usr ext4 defaults 0 2\n");
  write_text ("etc/os-release", "ID=ubuntu\nVERSION_ID=24.04\n"
                                "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\n");
  assert_int_equal (run_inspect_usr (&os, &w, &usr), 1);
  assert_int_equal (usr, 0);
  assert_string_equal (os.product_name, "Ubuntu 24.04 LTS");
  assert_string_equal (os.arch, "x86_64");
  inspect_os_clear (&os);
  strv_clear (&w);
}

/* ---------------------------------------------------------------------- */
/* Hostile trees: bounded in time and memory. */

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Peak RSS of this process, KiB. */
static long
peak_rss_kib (void)
{
  char line[256];
  long kib = -1;
  FILE *f = fopen ("/proc/self/status", "re");
  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, "VmHWM:", 6) == 0)
      kib = strtol (line + 6, NULL, 10);
  fclose (f);
  return kib;
}

static void
test_inspect_hostile_tree (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  /* Binary os-release; a symlink loop in /etc; lsb-release pointing at the
   * host's os-release; an fstab of 100 000 lines, some of them garbage. */
  write_elf ("bin/bash", 62, 2, 1);
  unsigned char bin[4096];
  for (size_t i = 0; i < sizeof bin; i++)
    bin[i] = (unsigned char)(i * 131 + 7);
  memcpy (bin + 100, "\nID=debian\nPRETTY_NAME=\"x\033[2Jy\"\n", 32);
  write_file ("etc/os-release", bin, sizeof bin);
  symlink_in ("etc/loop1", "loop2");
  symlink_in ("etc/loop2", "loop1");
  symlink_in ("etc/hostname", "loop1");
  symlink_in ("etc/lsb-release", "/etc/os-release/../../../etc/os-release");
  symlink_in ("etc/debian_version", "/proc/self/root/etc/debian_version");

  _cleanup_free_ char *fstab = xcalloc (100000, 64);
  size_t o = 0;
  for (int i = 0; i < 100000; i++)
    o += (size_t)snprintf (fstab + o, 64, i % 3 == 2 ? "garbage\\x%d\n"
                                                     : "/dev/sda%d /m%d ext4 defaults 0 0\n",
                           i, i);
  write_file ("etc/fstab", fstab, o);

  double t0 = now_s ();
  int r = run_inspect (&os, &w);
  double dt = now_s () - t0;
  assert_int_equal (r, 1);
  print_message ("hostile tree: %.3f s, %zu warnings, peak RSS %ld KiB\n", dt,
                 w.n, peak_rss_kib ());
  assert_true (dt < 5.0); /* generous for slow CI; ~0.1 s here */
  assert_string_equal (os.distro, "debian");
  /* Control characters are replaced, never passed through. */
  assert_null (strchr (os.product_name, '\033'));
  assert_string_equal (os.hostname, "unknown");
  /* The first 10 000 entry lines are looked at; a third are garbage. */
  assert_int_equal (os.n_fstab, 6667);
  /* Skipped lines are reported, but the warnings stay few. */
  bool saw_more = false, saw_line = false;
  for (size_t i = 0; i < w.n; i++) {
    saw_more |= strstr (w.v[i], "more than 10000 entries") != NULL;
    saw_line |= strstr (w.v[i], "cannot parse") != NULL;
  }
  assert_true (saw_more);
  assert_true (saw_line);
  assert_true (w.n < 64);
  inspect_os_clear (&os);
  strv_clear (&w);
}

static void
test_apps_huge_dpkg (void **state)
{
  struct inspect_os os;
  struct strv w = { 0 };

  /* A 100 MB dpkg status: read with a cap, listed up to the limits, and
   * a warning says what was skipped. */
  make_linux_base ();
  write_text ("etc/debian_version", "12.5\n");
  mkdirs ("var/lib/dpkg");
  _cleanup_free_ char *path = xasprintf ("%s/var/lib/dpkg/status", tree);
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  size_t written = 0;
  for (unsigned i = 0; written < 100u * 1024 * 1024; i++) {
    int n = fprintf (f,
                     "Package: pkg%u\nStatus: install ok installed\n"
                     "Architecture: amd64\nVersion: 1:%u.0-%u\n"
                     "Description: package %u\n some text for it\n\n",
                     i, i, i, i);
    assert_true (n > 0);
    written += (size_t)n;
  }
  fclose (f);

  assert_int_equal (run_inspect (&os, &w), 1);
  assert_string_equal (os.package_format, "deb");
  _cleanup_close_ int fd = open (tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
  long rss0 = peak_rss_kib ();
  double t0 = now_s ();
  assert_int_equal (inspect_applications (fd, &os, &w), 0);
  double dt = now_s () - t0;
  long rss1 = peak_rss_kib ();
  print_message ("100 MB dpkg status: %.3f s, %zu apps, %zu warnings, "
                 "peak RSS %ld -> %ld KiB\n",
                 dt, os.n_apps, w.n, rss0, rss1);
  assert_true (os.n_apps > 0);
  assert_true (w.n >= 1);
  assert_true (w.n < 16);
  assert_true (dt < 10.0);
  /* Streamed, not slurped: far less than the file's 100 MB. */
  if (rss0 > 0 && rss1 > 0)
    assert_true (rss1 - rss0 < 64 * 1024);
  inspect_os_clear (&os);
  strv_clear (&w);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_resolve_spec),
    cmocka_unit_test (test_fstab_entry_wanted),
    cmocka_unit_test (test_root_id),
    cmocka_unit_test (test_render_tree),
    cmocka_unit_test (test_render_json),
    cmocka_unit_test_setup_teardown (test_inspect_distros, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_fields, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_separate_usr, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_escapes, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_hostile_files, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_not_root, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_bsd, tree_setup,
                                     tree_teardown),
    cmocka_unit_test (test_resolve_subvol),
    cmocka_unit_test_setup_teardown (test_inspect_usr_fs, usr_setup,
                                     usr_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_usr_fs_merge, usr_setup,
                                     usr_teardown),
    cmocka_unit_test_setup_teardown (test_inspect_hostile_tree, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_apps_huge_dpkg, tree_setup,
                                     tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
