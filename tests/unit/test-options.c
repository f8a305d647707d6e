/* Unit tests: command line parsing (src/options.c). */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

static int
parse (struct options *o, char **msg, ...)
{
  char *argv[64];
  int argc = 0;
  va_list ap;
  argv[argc++] = (char *) "nguestmount";
  va_start (ap, msg);
  for (char *a; (a = va_arg (ap, char *));)
    argv[argc++] = a;
  va_end (ap);
  argv[argc] = NULL;
  *msg = NULL;
  return options_parse (argc, argv, o, msg);
}

static void
test_short_form (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "a.qcow2", "b.img", "/mnt", NULL), 0);
  assert_int_equal (o.n_images, 2);
  assert_string_equal (o.images[0].path, "a.qcow2");
  assert_null (o.images[0].format);
  assert_string_equal (o.images[1].path, "b.img");
  assert_string_equal (o.mountpoint, "/mnt");
  assert_int_equal (o.mode, VIEW_AUTO);
  assert_true (o.readonly);
  assert_int_equal (o.ready_fd, -1);
  options_clear (&o);
}

static void
test_add_and_format_order (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "-a", "x.img", "--format=qcow2", "-a",
                           "y.qcow2", "z.qcow2", "--format", "-a", "w",
                           "-i", "/mnt", NULL),
                    0);
  assert_int_equal (o.n_images, 4);
  assert_null (o.images[0].format);
  assert_string_equal (o.images[1].format, "qcow2");
  assert_string_equal (o.images[2].path, "w");
  assert_null (o.images[2].format);
  /* Positional images come after the -a ones and keep the format in force
   * where they stood. */
  assert_string_equal (o.images[3].path, "z.qcow2");
  assert_string_equal (o.images[3].format, "qcow2");
  assert_int_equal (o.mode, VIEW_INSPECT);
  options_clear (&o);
}

static void
test_format_reset (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "--format=vmdk", "-a", "a", "--format=",
                           "-a", "b", "/m", NULL),
                    0);
  assert_string_equal (o.images[0].format, "vmdk");
  assert_null (o.images[1].format);
  options_clear (&o);
}

static void
test_positional_keeps_format (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "--format=vhdx", "d.vhdx", "/m", NULL), 0);
  assert_int_equal (o.n_images, 1);
  assert_string_equal (o.images[0].format, "vhdx");
  assert_string_equal (o.mountpoint, "/m");
  options_clear (&o);
}

static void
test_bad_format (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "--format=foo", "-a", "d.img", "/m", NULL),
                    -EINVAL);
  assert_non_null (strstr (msg, "unsupported format 'foo' for d.img"));
  assert_non_null (strstr (msg, "raw, qcow2, vmdk, vhdx, vpc, vdi"));
  free (msg);
}

static void
test_mount_arg (void **state)
{
  struct mount_arg m;
  char *msg = NULL;
  assert_int_equal (options_parse_mount ("/dev/sda1", &m, &msg), 0);
  assert_string_equal (m.device, "/dev/sda1");
  assert_string_equal (m.mountpoint, "/");
  assert_null (m.options);
  assert_null (m.fstype);
  free (m.device);
  free (m.mountpoint);

  assert_int_equal (options_parse_mount ("/dev/sda3:/home:subvol=@home:btrfs",
                                         &m, &msg),
                    0);
  assert_string_equal (m.mountpoint, "/home");
  assert_string_equal (m.options, "subvol=@home");
  assert_string_equal (m.fstype, "btrfs");
  free (m.device);
  free (m.mountpoint);
  free (m.options);
  free (m.fstype);

  /* Empty fields fall back to defaults. */
  assert_int_equal (options_parse_mount ("/dev/sda2:::xfs", &m, &msg), 0);
  assert_string_equal (m.mountpoint, "/");
  assert_null (m.options);
  assert_string_equal (m.fstype, "xfs");
  free (m.device);
  free (m.mountpoint);
  free (m.fstype);

  assert_int_equal (options_parse_mount ("btrfsvol:/dev/sda2/@home:/home",
                                         &m, &msg),
                    0);
  assert_string_equal (m.device, "btrfsvol:/dev/sda2/@home");
  assert_string_equal (m.mountpoint, "/home");
  free (m.device);
  free (m.mountpoint);
  assert_int_equal (options_parse_mount ("btrfsvol:/dev/sda2/@", &m, &msg), 0);
  assert_string_equal (m.device, "btrfsvol:/dev/sda2/@");
  assert_string_equal (m.mountpoint, "/");
  free (m.device);
  free (m.mountpoint);

  assert_int_equal (options_parse_mount (":/boot", &m, &msg), -EINVAL);
  assert_non_null (strstr (msg, "empty device name"));
  free (msg);
  msg = NULL;
  assert_int_equal (options_parse_mount ("/dev/sda1:boot", &m, &msg), -EINVAL);
  assert_non_null (strstr (msg, "absolute"));
  free (msg);
}

static void
test_modes_and_conflicts (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "-a", "d", "-m", "/dev/sda1", "-m",
                           "/dev/sda2:/boot", "/m", NULL),
                    0);
  assert_int_equal (o.mode, VIEW_MOUNTS);
  assert_int_equal (o.n_mounts, 2);
  options_clear (&o);

  assert_int_equal (parse (&o, &msg, "-a", "d", "--all", "/m", NULL), 0);
  assert_int_equal (o.mode, VIEW_ALL);
  options_clear (&o);

  assert_int_equal (parse (&o, &msg, "-a", "d", "-i", "--all", "/m", NULL),
                    -EINVAL);
  free (msg);
  assert_int_equal (parse (&o, &msg, "-a", "d", "-i", "-m", "/dev/sda1", "/m",
                           NULL),
                    -EINVAL);
  assert_non_null (strstr (msg, "-m cannot be combined"));
  free (msg);
}

static void
test_missing_things (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "/m", NULL), -EINVAL);
  assert_string_equal (msg, "no disk image given (use -a IMAGE)");
  free (msg);
  assert_int_equal (parse (&o, &msg, "-a", "d", NULL), -EINVAL);
  assert_string_equal (msg, "no mountpoint given");
  free (msg);
  assert_int_equal (parse (&o, &msg, NULL), -EINVAL);
  free (msg);
}

static void
test_rw_refused (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "--rw", "-a", "d", "/m", NULL), -EINVAL);
  assert_non_null (strstr (msg, "read-write mode is not supported yet"));
  free (msg);
  assert_int_equal (parse (&o, &msg, "-w", "-a", "d", "/m", NULL), -EINVAL);
  free (msg);
}

static void
test_misc_flags (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "-v", "-x", "--no-fork", "--pid-file",
                           "/run/p", "--fd=7", "-o", "allow_other", "-o",
                           "default_permissions", "--allow-backing", "--root",
                           "sda2", "-r", "-a", "d", "/m", NULL),
                    0);
  assert_true (o.verbose);
  assert_true (o.trace);
  assert_true (o.no_fork);
  assert_true (o.allow_backing);
  assert_string_equal (o.pid_file, "/run/p");
  assert_int_equal (o.ready_fd, 7);
  assert_int_equal (o.fuse_opts.n, 2);
  assert_string_equal (o.fuse_opts.v[1], "default_permissions");
  assert_string_equal (o.root, "sda2");
  options_clear (&o);

  assert_int_equal (parse (&o, &msg, "--fd=x", "-a", "d", "/m", NULL), -EINVAL);
  free (msg);
  assert_int_equal (parse (&o, &msg, "--fd=-1", "-a", "d", "/m", NULL), -EINVAL);
  free (msg);
  assert_int_equal (parse (&o, &msg, "--bogus", "-a", "d", "/m", NULL), -EINVAL);
  assert_non_null (strstr (msg, "--bogus"));
  free (msg);
  assert_int_equal (parse (&o, &msg, "-q", "-a", "d", "/m", NULL), -EINVAL);
  assert_non_null (strstr (msg, "-q"));
  free (msg);
  assert_int_equal (parse (&o, &msg, "-a", NULL), -EINVAL);
  free (msg);
}

static void
test_help_version (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "--help", NULL), 0);
  assert_true (o.help);
  options_clear (&o);
  assert_int_equal (parse (&o, &msg, "-V", NULL), 0);
  assert_true (o.version);
  options_clear (&o);
  assert_non_null (strstr (options_usage (), "--allow-backing"));
}

static void
test_keys (void **state)
{
  struct options o;
  char *msg;
  assert_int_equal (parse (&o, &msg, "--key", "/dev/sda2:key:a:b c",
                           "--key=all:file:/k", "--keys-from-stdin",
                           "--echo-keys", "-a", "d", "/m", NULL),
                    0);
  assert_int_equal (o.keys.n, 2);
  assert_string_equal (o.keys.v[0], "/dev/sda2:key:a:b c");
  assert_string_equal (o.keys.v[1], "all:file:/k");
  assert_true (o.keys_from_stdin);
  assert_true (o.echo_keys);
  options_clear (&o);
  assert_int_equal (o.keys.n, 0);
}

static void
test_inspect_only (void **state)
{
  struct options o;
  char *msg;
  /* No mountpoint: every positional argument is an image. */
  assert_int_equal (parse (&o, &msg, "--inspect-only", "--xml", "a.qcow2",
                           "b.img", NULL),
                    0);
  assert_true (o.inspect_only);
  assert_true (o.output_xml);
  assert_int_equal (o.n_images, 2);
  assert_null (o.mountpoint);
  options_clear (&o);
  assert_int_equal (parse (&o, &msg, "--inspect-only", "--xml", "--json", "-a",
                           "a", NULL),
                    0);
  assert_false (o.output_xml);
  options_clear (&o);
  assert_int_equal (parse (&o, &msg, "--inspect-only", "--all", "-a", "a",
                           NULL),
                    -EINVAL);
  assert_non_null (strstr (msg, "--inspect-only mounts nothing"));
  free (msg);
  assert_int_equal (parse (&o, &msg, "--inspect-only", NULL), -EINVAL);
  assert_string_equal (msg, "no disk image given (use -a IMAGE)");
  free (msg);
}

static void
test_hostile_args (void **state)
{
  struct options o;
  char *msg;
  /* A very long argument and odd characters are taken verbatim. */
  char *big = calloc (1, 100001);
  memset (big, 'x', 100000);
  assert_int_equal (parse (&o, &msg, "-a", big, "/m\n\t", NULL), 0);
  assert_int_equal (strlen (o.images[0].path), 100000);
  assert_string_equal (o.mountpoint, "/m\n\t");
  options_clear (&o);
  assert_int_equal (parse (&o, &msg, "-a", "", "/m", NULL), -EINVAL);
  free (msg);
  free (big);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_short_form),
    cmocka_unit_test (test_add_and_format_order),
    cmocka_unit_test (test_format_reset),
    cmocka_unit_test (test_positional_keeps_format),
    cmocka_unit_test (test_bad_format),
    cmocka_unit_test (test_mount_arg),
    cmocka_unit_test (test_modes_and_conflicts),
    cmocka_unit_test (test_missing_things),
    cmocka_unit_test (test_rw_refused),
    cmocka_unit_test (test_misc_flags),
    cmocka_unit_test (test_help_version),
    cmocka_unit_test (test_keys),
    cmocka_unit_test (test_inspect_only),
    cmocka_unit_test (test_hostile_args),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
