/* Unit tests: src/common (util.c, vtree.c). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "common/vtree.h"

static char tmpdir[] = "/tmp/ngm-test-common.XXXXXX";

static void
write_file (const char *rel, const char *content, size_t len)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", tmpdir, rel);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, len), (ssize_t) len);
  close (fd);
}

static int
setup (void **state)
{
  if (!mkdtemp (tmpdir))
    return -1;
  char p[512];
  snprintf (p, sizeof p, "%s/root", tmpdir);
  mkdir (p, 0755);
  snprintf (p, sizeof p, "%s/root/etc", tmpdir);
  mkdir (p, 0755);
  snprintf (p, sizeof p, "%s/outside", tmpdir);
  write_file ("outside", "host secret\n", 12);
  write_file ("root/etc/hostname", "guest\n", 6);
  write_file ("root/etc/empty", "", 0);
  /* Symlinks that try to leave the guest root. */
  snprintf (p, sizeof p, "%s/root/etc/abs", tmpdir);
  symlink ("/etc/passwd", p);
  snprintf (p, sizeof p, "%s/root/etc/rel", tmpdir);
  symlink ("../../outside", p);
  snprintf (p, sizeof p, "%s/root/etc/ok", tmpdir);
  symlink ("/etc/hostname", p);
  snprintf (p, sizeof p, "%s/root/etc/loop", tmpdir);
  symlink ("loop", p);
  return 0;
}

static int
teardown (void **state)
{
  char cmd[600];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

static int
open_root (void)
{
  char p[512];
  snprintf (p, sizeof p, "%s/root", tmpdir);
  int fd = open (p, O_PATH | O_DIRECTORY);
  assert_true (fd >= 0);
  return fd;
}

static void
test_read_in_root (void **state)
{
  _cleanup_close_ int root = open_root ();
  char *buf = NULL;
  size_t len;

  assert_int_equal (read_file_in_root (root, "/etc/hostname", 100, &buf, &len), 0);
  assert_string_equal (buf, "guest\n");
  assert_int_equal (len, 6);
  free (buf);

  /* An absolute guest symlink resolves inside the guest, never on the host. */
  assert_int_equal (read_file_in_root (root, "etc/ok", 100, &buf, NULL), 0);
  assert_string_equal (buf, "guest\n");
  free (buf);
  assert_true (read_file_in_root (root, "etc/abs", 100, &buf, NULL) < 0);
  /* ".." at the guest root stays at the guest root. */
  assert_true (read_file_in_root (root, "etc/rel", 100, &buf, NULL) < 0);
  assert_true (read_file_in_root (root, "../outside", 100, &buf, NULL) < 0);
  assert_int_equal (read_file_in_root (root, "etc/loop", 100, &buf, NULL),
                    -ELOOP);
  /* Size cap and non-regular files. */
  assert_int_equal (read_file_in_root (root, "etc/hostname", 3, &buf, NULL),
                    -EFBIG);
  assert_int_equal (read_file_in_root (root, "etc", 100, &buf, NULL), -EINVAL);
  assert_int_equal (read_file_in_root (root, "etc/empty", 100, &buf, &len), 0);
  assert_int_equal (len, 0);
  assert_string_equal (buf, "");
  free (buf);
  assert_int_equal (read_file_in_root (root, "nope", 100, &buf, NULL), -ENOENT);

  char head[4];
  assert_int_equal (read_head_in_root (root, "etc/hostname", head, 4), 4);
  assert_memory_equal (head, "gues", 4);

  assert_true (is_dir_in_root (root, "/etc"));
  assert_true (is_dir_in_root (root, "/"));
  assert_false (is_dir_in_root (root, "/etc/hostname"));
  assert_true (is_file_in_root (root, "/etc/hostname"));
  assert_false (exists_in_root (root, "/etc/abs"));
}

static void
test_sanitize (void **state)
{
  char *s = sanitize_string ("ok \x01\x7f\n\xff\xc3\xa9 end", 100);
  assert_string_equal (s, "ok ????\xc3\xa9 end");
  free (s);
  /* Overlong and surrogate encodings are rejected byte by byte. */
  s = sanitize_string ("\xc0\xaf\xed\xa0\x80", 100);
  assert_string_equal (s, "?????");
  free (s);
  /* Truncated sequence at the end, and the length cap. */
  s = sanitize_string ("ab\xe2\x82", 100);
  assert_string_equal (s, "ab??");
  free (s);
  s = sanitize_string ("abcdef", 3);
  assert_string_equal (s, "abc");
  free (s);
}

static void
test_strings (void **state)
{
  char a[] = "  \t x y \r\n";
  assert_string_equal (strstrip (a), "x y");
  char b[] = "";
  assert_string_equal (strstrip (b), "");
  char c[] = " \n ";
  assert_string_equal (strstrip (c), "");
  assert_true (str_has_prefix ("UUID=abc", "UUID="));
  assert_false (str_has_prefix ("UUI", "UUID="));
  assert_true (str_has_suffix ("x_member", "_member"));
  assert_false (str_has_suffix ("mem", "_member"));

  struct strv v = { 0 };
  strv_push (&v, xstrdup ("a"));
  strv_pushf (&v, "%s-%d", "b", 2);
  assert_int_equal (v.n, 2);
  assert_null (v.v[2]);
  assert_true (strv_contains (&v, "b-2"));
  assert_false (strv_contains (&v, "c"));
  char *j = strv_join (&v, ", ");
  assert_string_equal (j, "a, b-2");
  free (j);
  strv_clear (&v);
  assert_int_equal (v.n, 0);
  j = strv_join (&v, " ");
  assert_string_equal (j, "");
  free (j);

  char *m = NULL;
  assert_int_equal (set_errmsg (&m, -ENOENT, "x %d", 1), -ENOENT);
  assert_string_equal (m, "x 1");
  free (m);
  assert_int_equal (set_errmsg (NULL, -EIO, "ignored"), -EIO);
}

static void
test_pread_full (void **state)
{
  write_file ("data", "0123456789", 10);
  char p[512], buf[10];
  snprintf (p, sizeof p, "%s/data", tmpdir);
  _cleanup_close_ int fd = open (p, O_RDONLY);
  assert_int_equal (pread_full (fd, buf, 4, 3), 0);
  assert_memory_equal (buf, "3456", 4);
  assert_int_equal (pread_full (fd, buf, 4, 8), -EIO);
}

static void
test_find_program (void **state)
{
  char *p = NULL;
  assert_true (find_program ("sh", &p));
  assert_non_null (strstr (p, "/sh"));
  free (p);
  assert_false (find_program ("no-such-program-ngm", NULL));
}

static void
test_vtree (void **state)
{
  struct vnode *root = vtree_new_root ();
  struct vnode *roots = vtree_add_dir (root, "roots");
  struct vnode *sda2 = vtree_add_dir (roots, "sda2");
  vtree_add_file (sda2, "distro", "debian\n", 7);
  vtree_add_file (sda2, "arch", "x86_64\n", 7);
  vtree_add_link (root, "root", "roots/sda2");
  vtree_add_file (root, "warnings", NULL, 0);
  /* Adding a directory twice returns the same one. */
  assert_ptr_equal (vtree_add_dir (roots, "sda2"), sda2);

  struct vnode *n = vtree_lookup (root, "roots/sda2/distro");
  assert_non_null (n);
  assert_int_equal (n->kind, VNODE_FILE);
  assert_string_equal (n->data, "debian\n");
  assert_int_equal (n->len, 7);
  assert_ptr_equal (n->parent, sda2);
  assert_null (vtree_lookup (root, "roots/sda3"));
  assert_null (vtree_lookup (root, "roots/sda2/distro/x"));
  assert_ptr_equal (vtree_lookup (root, "/roots//sda2/"), sda2);

  /* Children sorted by name. */
  assert_string_equal (sda2->children[0]->name, "arch");
  assert_string_equal (sda2->children[1]->name, "distro");
  assert_string_equal (root->children[0]->name, "root");
  assert_string_equal (root->children[1]->name, "roots");
  assert_string_equal (root->children[2]->name, "warnings");

  /* Replacing a file keeps one entry. */
  vtree_add_file (sda2, "arch", "aarch64\n", 8);
  assert_int_equal (sda2->n_children, 2);
  assert_string_equal (vtree_lookup (root, "roots/sda2/arch")->data, "aarch64\n");
  struct vnode *l = vtree_child (root, "root");
  assert_int_equal (l->kind, VNODE_LINK);
  assert_string_equal (l->data, "roots/sda2");
  assert_int_equal (vtree_lookup (root, "warnings")->len, 0);
  vtree_free (root);
  vtree_free (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_read_in_root),
    cmocka_unit_test (test_sanitize),
    cmocka_unit_test (test_strings),
    cmocka_unit_test (test_pread_full),
    cmocka_unit_test (test_find_program),
    cmocka_unit_test (test_vtree),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
