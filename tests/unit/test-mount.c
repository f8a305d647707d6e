/* Unit tests for detached mounts (src/mount/).
 *
 * The option filter and the filesystem-type checks need nothing.  The
 * mount tests need root and loop devices (they skip otherwise): images are
 * made at test time, attached read-only to loop devices with
 * LOOP_CONFIGURE + autoclear, and mounted detached.
 */
#include <config.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "mount/mount.h"

static char tmpdir[] = "/tmp/ngm-test-mount-XXXXXX";
static bool have_tmpdir;

/* ---------------------------------------------------------------------- */
/* Pure tests. */

static void
check_filter (const char *fstype, const char *in, const char *want)
{
  _cleanup_free_ char *out = mount_filter_guest_options (fstype, in);
  assert_non_null (out);
  if (strcmp (out, want) != 0)
    fail_msg ("filter (%s, \"%s\") = \"%s\", want \"%s\"", fstype ?: "NULL",
              in ?: "NULL", out, want);
}

static void
test_filter_guest_options (void **state)
{
  check_filter ("btrfs", "defaults,subvol=@home,noatime", "subvol=@home");
  check_filter ("btrfs", "x-systemd.requires=foo,subvol=@,compress=zstd:1",
                "subvol=@");
  check_filter ("btrfs", "subvolid=256,subvol=/a/b", "subvol=/a/b,subvolid=256");
  check_filter ("btrfs", "subvol=first,subvol=last", "subvol=last");
  check_filter ("btrfs", "subvol=\"@root\"", "subvol=@root");
  check_filter ("btrfs", "defaults", "");
  check_filter ("btrfs", "", "");
  check_filter ("btrfs", NULL, "");
  check_filter ("ext4", "subvol=@,errors=remount-ro,noatime", "");
  check_filter ("xfs", "defaults,nofail", "");
  check_filter (NULL, "subvol=@", "");
  /* Values we cannot pass on are dropped, not mangled. */
  check_filter ("btrfs", "subvolid=abc", "");
  check_filter ("btrfs", "subvolid=", "");
  check_filter ("btrfs", "subvol=", "");
  check_filter ("btrfs", "subvol=a\tb", "");
  check_filter ("btrfs", "subvol=\"a,b\"", "");
  check_filter ("btrfs", "subvolid=99999999999999999999999", "");
  /* The option name must match exactly. */
  check_filter ("btrfs", "subvolx=1,xsubvol=2,SUBVOL=3", "");
}

static void
test_filter_hostile (void **state)
{
  /* Unterminated quotes, separators only, control bytes, a huge value:
   * no crash, and a string comes back. */
  const char *inputs[] = {
    "subvol=\"abc", "\"", ",,,,", "=,=,=", "subvol=\x01\x02", "\x7f\xff\xfe",
    "subvol=\"a\"b\"", "noatime,\"subvol=x", "subvol==x",
  };
  for (size_t i = 0; i < ARRAY_SIZE (inputs); i++) {
    char *out = mount_filter_guest_options ("btrfs", inputs[i]);
    assert_non_null (out);
    assert_null (strchr (out, '\x01'));
    free (out);
  }

  size_t n = 1 << 20;
  char *big = xcalloc (n + 16, 1);
  memcpy (big, "subvol=", 7);
  memset (big + 7, 'a', n);
  char *out = mount_filter_guest_options ("btrfs", big);
  assert_non_null (out);
  assert_string_equal (out, "");        /* over the value length cap */
  free (out);
  free (big);

  /* subvol=x is found behind any number of options. */
  size_t count = 10000;
  char *many = xcalloc (count * 2 + 16, 1);
  for (size_t i = 0; i < count; i++)
    strcat (many, "a,");
  strcat (many, "subvol=x");
  out = mount_filter_guest_options ("btrfs", many);
  assert_string_equal (out, "subvol=x");
  free (out);
  free (many);
}

static void
test_fstype_supported (void **state)
{
  assert_true (mount_fstype_supported ("ext4"));
  assert_false (mount_fstype_supported ("swap"));
  assert_false (mount_fstype_supported (""));
  assert_false (mount_fstype_supported (NULL));
  assert_false (mount_fstype_supported ("LVM2_member"));
  assert_false (mount_fstype_supported ("linux_raid_member"));
  assert_false (mount_fstype_supported ("isw_raid_member"));
  assert_false (mount_fstype_supported ("crypto_LUKS"));
  assert_false (mount_fstype_supported ("BitLocker"));
  assert_false (mount_fstype_supported ("no-such-fs"));
  assert_false (mount_fstype_supported ("ext"));       /* no prefix match */
  assert_false (mount_fstype_supported ("proc"));      /* nodev */
  assert_false (mount_fstype_supported ("tmpfs"));     /* nodev */
  assert_false (mount_fstype_supported ("fuseblk"));   /* needs a daemon */
  /* Block filesystems agree with the kernel's own list. */
  const char *fs[] = { "xfs", "btrfs", "squashfs", "vfat" };
  char list[16384];
  _cleanup_fclose_ FILE *f = fopen ("/proc/filesystems", "re");
  assert_non_null (f);
  size_t n = fread (list, 1, sizeof list - 1, f);
  list[n] = '\0';
  for (size_t i = 0; i < ARRAY_SIZE (fs); i++) {
    _cleanup_free_ char *line = xasprintf ("\n\t%s\n", fs[i]);
    assert_int_equal (mount_fstype_supported (fs[i]),
                      strstr (list, line) != NULL);
  }
}

/* ---------------------------------------------------------------------- */
/* Helpers for the root tests. */

static void __attribute__ ((format (printf, 1, 2)))
run (const char *fmt, ...)
{
  va_list ap;
  char *cmd = NULL, *full;

  va_start (ap, fmt);
  assert_true (vasprintf (&cmd, fmt, ap) >= 0);
  va_end (ap);
  full = xasprintf ("cd '%s' && { %s ; } >/dev/null 2>&1", tmpdir, cmd);
  int status = system (full);
  if (status != 0)
    fail_msg ("command failed (%d): %s", status, cmd);
  free (cmd);
  free (full);
}

/* Output of a shell command run in the temporary directory. */
static char *
capture (const char *cmd)
{
  _cleanup_free_ char *full = xasprintf ("cd '%s' && %s 2>/dev/null", tmpdir,
                                         cmd);
  FILE *p = popen (full, "r");
  assert_non_null (p);
  char buf[4096];
  size_t n = fread (buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  pclose (p);
  return xstrdup (buf);
}

static char *
sha256 (const char *file)
{
  _cleanup_free_ char *cmd = xasprintf ("sha256sum %s", file);
  char *out = capture (cmd);
  assert_true (strlen (out) >= 64);
  out[64] = '\0';
  return out;
}

static bool
can_mount (void)
{
  return geteuid () == 0 && access ("/dev/loop-control", W_OK) == 0
         && find_program ("mkfs.ext4", NULL) && find_program ("debugfs", NULL)
         && find_program ("sha256sum", NULL)
         && mount_fstype_supported ("ext4");
}

#define REQUIRE_MOUNT()                                                 \
  do {                                                                  \
    if (!can_mount ()) {                                                \
      fprintf (stderr, "needs root, loop devices, mkfs.ext4, debugfs: " \
               "skipped\n");                                            \
      skip ();                                                          \
    }                                                                   \
  } while (0)

/* Attach an image (in tmpdir) to a free loop device with autoclear.
 * Returns the loop device's fd; *ret_dev is "/dev/loopN". */
static int
attach (const char *file, bool readonly, char **ret_dev)
{
  _cleanup_free_ char *path = xasprintf ("%s/%s", tmpdir, file);
  int mode = readonly ? O_RDONLY : O_RDWR;
  _cleanup_close_ int backing = open (path, mode | O_CLOEXEC);
  _cleanup_close_ int ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  assert_true (backing >= 0);
  assert_true (ctl >= 0);

  for (int tries = 0; tries < 64; tries++) {
    int n = ioctl (ctl, LOOP_CTL_GET_FREE);
    assert_true (n >= 0);
    char *dev = xasprintf ("/dev/loop%d", n);
    int lfd = open (dev, mode | O_CLOEXEC);
    if (lfd < 0) {
      free (dev);
      continue;
    }
    struct loop_config cfg = { 0 };
    cfg.fd = backing;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR
                        | (readonly ? LO_FLAGS_READ_ONLY : 0);
    if (ioctl (lfd, LOOP_CONFIGURE, &cfg) == 0) {
      *ret_dev = dev;
      return lfd;
    }
    int e = errno;
    close (lfd);
    free (dev);
    if (e != EBUSY)
      fail_msg ("LOOP_CONFIGURE: %s", strerror (e));
  }
  fail_msg ("no free loop device");
  return -1;
}

/* Is loop device dev attached to one of our images?  Other programs may
 * take the same device number once we let go, so look at what it is
 * attached to, not only whether it is. */
static bool
loop_attached (const char *dev)
{
  _cleanup_free_ char *sys = xasprintf ("/sys/block/%s/loop/backing_file",
                                        dev + 5);
  char buf[4096] = "";
  _cleanup_fclose_ FILE *f = fopen (sys, "re");
  return f && fgets (buf, sizeof buf, f) && str_has_prefix (buf, tmpdir);
}

/* The loop device let go of our image (autoclear) within a few seconds. */
static void
assert_loop_detached (const char *dev)
{
  for (int i = 0; i < 500; i++) {
    if (!loop_attached (dev))
      return;
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep (&ts, NULL);
  }
  fail_msg ("%s is still attached", dev);
}

static bool
in_mountinfo (const char *dev)
{
  _cleanup_free_ char *needle = xasprintf (" %s ", dev);
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  assert_non_null (f);
  while (getline (&line, &cap, f) > 0)
    if (strstr (line, needle))
      return true;
  return false;
}

static char *
read_in_mount (int mntfd, const char *path)
{
  _cleanup_close_ int fd = openat (mntfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail_msg ("openat %s: %s", path, strerror (errno));
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  assert_true (n >= 0);
  buf[n] = '\0';
  return xstrdup (buf);
}

static void
make_ext4 (const char *file)
{
  run ("rm -rf tree && mkdir -p tree/etc && "
       "echo 'LABEL=root / ext4 defaults 0 1' > tree/etc/fstab && "
       "rm -f %s && truncate -s 16M %s && mkfs.ext4 -q -F -d tree %s",
       file, file, file);
}

/* ---------------------------------------------------------------------- */
/* Root tests. */

static void
test_mount_ro (void **state)
{
  REQUIRE_MOUNT ();
  make_ext4 ("ro.img");
  _cleanup_free_ char *before = sha256 ("ro.img");

  _cleanup_free_ char *dev = NULL;
  int lfd = attach ("ro.img", true, &dev);
  int mntfd = -1;
  _cleanup_free_ char *used = NULL, *msg = NULL;
  int r = mount_detached (dev, "ext4", NULL, true, &mntfd, &used, &msg);
  close (lfd);                  /* the mount keeps the device */
  if (r < 0)
    fail_msg ("mount_detached: %s", msg ?: strerror (-r));
  assert_string_equal (used, "ro");

  _cleanup_free_ char *fstab = read_in_mount (mntfd, "etc/fstab");
  assert_string_equal (fstab, "LABEL=root / ext4 defaults 0 1\n");

  /* Attached nowhere, and the mount alone keeps the loop device. */
  assert_false (in_mountinfo (dev));
  assert_true (loop_attached (dev));

  /* Read-only, nosuid, nodev. */
  struct statvfs sv;
  assert_int_equal (fstatvfs (mntfd, &sv), 0);
  assert_true (sv.f_flag & ST_RDONLY);
  assert_true (sv.f_flag & ST_NOSUID);
  assert_true (sv.f_flag & ST_NODEV);
  errno = 0;
  assert_true (openat (mntfd, "newfile", O_CREAT | O_WRONLY | O_CLOEXEC,
                       0644) < 0);
  assert_int_equal (errno, EROFS);
  assert_true (mkdirat (mntfd, "newdir", 0755) < 0);
  assert_int_equal (errno, EROFS);

  close (mntfd);
  assert_loop_detached (dev);
  _cleanup_free_ char *after = sha256 ("ro.img");
  assert_string_equal (before, after);
}

/* A journal that needs recovery: plain "ro" is refused on a read-only
 * device, "ro,noload" mounts without replaying, the image is unchanged. */
static void
test_mount_dirty_ext4 (void **state)
{
  REQUIRE_MOUNT ();
  make_ext4 ("dirty.img");
  run ("debugfs -w -R 'feature needs_recovery' dirty.img");
  _cleanup_free_ char *feat = capture ("dumpe2fs -h dirty.img");
  assert_non_null (strstr (feat, "needs_recovery"));
  _cleanup_free_ char *before = sha256 ("dirty.img");

  _cleanup_free_ char *dev = NULL;
  int lfd = attach ("dirty.img", true, &dev);
  int mntfd = -1;
  _cleanup_free_ char *used = NULL, *msg = NULL;
  int r = mount_detached (dev, "ext4", NULL, true, &mntfd, &used, &msg);
  close (lfd);
  if (r < 0)
    fail_msg ("mount_detached: %s", msg ?: strerror (-r));
  assert_string_equal (used, "ro,noload");

  _cleanup_free_ char *fstab = read_in_mount (mntfd, "etc/fstab");
  assert_string_equal (fstab, "LABEL=root / ext4 defaults 0 1\n");
  assert_false (in_mountinfo (dev));

  close (mntfd);
  assert_loop_detached (dev);
  _cleanup_free_ char *after = sha256 ("dirty.img");
  assert_string_equal (before, after);
}

/* Read-write: no ladder, writes reach the image. */
static void
test_mount_rw (void **state)
{
  REQUIRE_MOUNT ();
  make_ext4 ("rw.img");

  _cleanup_free_ char *dev = NULL;
  int lfd = attach ("rw.img", false, &dev);
  int mntfd = -1;
  _cleanup_free_ char *used = NULL, *msg = NULL;
  int r = mount_detached (dev, "ext4", NULL, false, &mntfd, &used, &msg);
  close (lfd);
  if (r < 0)
    fail_msg ("mount_detached: %s", msg ?: strerror (-r));
  assert_string_equal (used, "rw");

  struct statvfs sv;
  assert_int_equal (fstatvfs (mntfd, &sv), 0);
  assert_false (sv.f_flag & ST_RDONLY);
  assert_true (sv.f_flag & ST_NOSUID);
  assert_true (sv.f_flag & ST_NODEV);

  int fd = openat (mntfd, "written", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "data\n", 5), 5);
  assert_int_equal (close (fd), 0);
  assert_false (in_mountinfo (dev));

  close (mntfd);
  assert_loop_detached (dev);
  _cleanup_free_ char *content = capture ("debugfs -R 'cat /written' rw.img");
  assert_string_equal (content, "data\n");
}

/* Failures come back with the kernel's reason. */
static void
test_mount_errors (void **state)
{
  REQUIRE_MOUNT ();
  make_ext4 ("err.img");
  run ("rm -f zero.img && truncate -s 16M zero.img");

  int mntfd = -1;
  char *used = NULL, *msg = NULL;

  /* An option the filesystem does not know: the kernel says which. */
  _cleanup_free_ char *dev = NULL;
  int lfd = attach ("err.img", true, &dev);
  int r = mount_detached (dev, "ext4", "nosuchoption", true, &mntfd, &used,
                          &msg);
  assert_true (r < 0);
  assert_null (used);
  assert_non_null (msg);
  if (!strstr (msg, "nosuchoption"))
    fail_msg ("no kernel reason in \"%s\"", msg);
  free (msg);
  msg = NULL;

  /* Options are passed one by one, key=value as strings. */
  r = mount_detached (dev, "ext4", "errors=continue,noatime", true, &mntfd,
                      &used, &msg);
  if (r < 0)
    fail_msg ("mount with options: %s", msg ?: strerror (-r));
  assert_string_equal (used, "ro");
  struct statvfs sv;
  assert_int_equal (fstatvfs (mntfd, &sv), 0);
  assert_true (sv.f_flag & ST_NOATIME);
  assert_true (sv.f_flag & ST_NOSUID);
  close (mntfd);
  free (used);
  used = NULL;
  close (lfd);
  assert_loop_detached (dev);

  /* Nothing mountable: every rung fails, an error and a message. */
  _cleanup_free_ char *zdev = NULL;
  lfd = attach ("zero.img", true, &zdev);
  r = mount_detached (zdev, "ext4", NULL, true, &mntfd, &used, &msg);
  close (lfd);
  assert_true (r < 0);
  assert_null (used);
  assert_non_null (msg);
  fprintf (stderr, "# zero image: %s (%s)\n", msg, strerror (-r));
  free (msg);
  msg = NULL;
  assert_loop_detached (zdev);

  /* No such device / no such filesystem type / bad arguments. */
  r = mount_detached ("/nonexistent/device", "ext4", NULL, true, &mntfd,
                      &used, &msg);
  assert_int_equal (r, -ENOENT);
  assert_non_null (msg);
  free (msg);
  msg = NULL;
  r = mount_detached ("/dev/null", "no-such-fs", NULL, true, &mntfd, &used,
                      &msg);
  assert_int_equal (r, -ENODEV);
  free (msg);
  msg = NULL;
  assert_int_equal (mount_detached ("", "ext4", NULL, true, &mntfd, &used,
                                    &msg), -EINVAL);
  free (msg);
}

/* xfs with a dirty log, made the honest way: write through a read-write
 * mount, force the log to disk, then shut the filesystem down without
 * flushing (XFS_IOC_GOINGDOWN), so no unmount record is written. */
#define XFS_IOC_GOINGDOWN_ _IOR ('X', 125, uint32_t)
#define XFS_FSOP_GOING_FLAGS_NOLOGFLUSH_ 0x2

static void
test_mount_dirty_xfs (void **state)
{
  REQUIRE_MOUNT ();
  if (!find_program ("mkfs.xfs", NULL) || !mount_fstype_supported ("xfs"))
    skip ();
  run ("rm -f xfs.img && truncate -s 300M xfs.img && mkfs.xfs -q -f xfs.img");

  _cleanup_free_ char *dev = NULL;
  int lfd = attach ("xfs.img", false, &dev);
  int mntfd = -1;
  _cleanup_free_ char *used = NULL, *msg = NULL;
  int r = mount_detached (dev, "xfs", NULL, false, &mntfd, &used, &msg);
  close (lfd);
  if (r < 0)
    fail_msg ("mount_detached rw: %s", msg ?: strerror (-r));
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf (name, sizeof name, "dir%d", i);
    assert_int_equal (mkdirat (mntfd, name, 0755), 0);
  }
  int dfd = openat (mntfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (dfd >= 0);
  assert_int_equal (syncfs (dfd), 0);
  uint32_t flags = XFS_FSOP_GOING_FLAGS_NOLOGFLUSH_;
  assert_int_equal (ioctl (dfd, XFS_IOC_GOINGDOWN_, &flags), 0);
  close (dfd);
  close (mntfd);
  assert_loop_detached (dev);
  free (used);
  used = NULL;

  _cleanup_free_ char *before = sha256 ("xfs.img");
  _cleanup_free_ char *rdev = NULL;
  lfd = attach ("xfs.img", true, &rdev);
  r = mount_detached (rdev, "xfs", NULL, true, &mntfd, &used, &msg);
  close (lfd);
  if (r < 0)
    fail_msg ("mount_detached ro: %s", msg ?: strerror (-r));
  if (strcmp (used, "ro") == 0) {
    close (mntfd);
    assert_loop_detached (rdev);
    fprintf (stderr, "# the xfs log came out clean: cannot test norecovery\n");
    skip ();
  }
  assert_string_equal (used, "ro,norecovery");
  struct stat st;
  assert_int_equal (fstatat (mntfd, ".", &st, 0), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_false (in_mountinfo (rdev));
  close (mntfd);
  assert_loop_detached (rdev);
  _cleanup_free_ char *after = sha256 ("xfs.img");
  assert_string_equal (before, after);
}

static void
test_mount_btrfs (void **state)
{
  REQUIRE_MOUNT ();
  if (!find_program ("mkfs.btrfs", NULL) || !mount_fstype_supported ("btrfs"))
    skip ();
  run ("rm -f btrfs.img && truncate -s 128M btrfs.img && "
       "mkfs.btrfs -q -f btrfs.img");

  /* Make a subvolume with a file in it through a read-write mount. */
  _cleanup_free_ char *wdev = NULL;
  int lfd = attach ("btrfs.img", false, &wdev);
  int mntfd = -1;
  _cleanup_free_ char *used = NULL, *msg = NULL;
  int r = mount_detached (wdev, "btrfs", NULL, false, &mntfd, &used, &msg);
  close (lfd);
  if (r < 0)
    fail_msg ("mount_detached rw: %s", msg ?: strerror (-r));
  struct btrfs_ioctl_vol_args args = { 0 };
  strcpy (args.name, "sub");
  int dfd = openat (mntfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (dfd >= 0);
  assert_int_equal (ioctl (dfd, BTRFS_IOC_SUBVOL_CREATE, &args), 0);
  int fd = openat (mntfd, "sub/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "hi\n", 3), 3);
  assert_int_equal (close (fd), 0);
  assert_int_equal (syncfs (dfd), 0);
  close (dfd);
  close (mntfd);
  assert_loop_detached (wdev);
  free (used);
  used = NULL;

  _cleanup_free_ char *dev = NULL;
  lfd = attach ("btrfs.img", true, &dev);
  _cleanup_free_ char *opts =
    mount_filter_guest_options ("btrfs", "defaults,subvol=sub,compress=zstd");
  assert_string_equal (opts, "subvol=sub");
  r = mount_detached (dev, "btrfs", opts, true, &mntfd, &used, &msg);
  close (lfd);
  if (r < 0)
    fail_msg ("mount_detached: %s", msg ?: strerror (-r));
  assert_string_equal (used, "ro");
  /* The subvolume is the root of the mount. */
  _cleanup_free_ char *f = read_in_mount (mntfd, "f");
  assert_string_equal (f, "hi\n");
  close (mntfd);
  assert_loop_detached (dev);
}

static int
setup (void **state)
{
  if (!mkdtemp (tmpdir))
    return -1;
  have_tmpdir = true;
  return 0;
}

static int
teardown (void **state)
{
  if (have_tmpdir) {
    _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      return -1;
  }
  return 0;
}

int
main (void)
{
  log_init (false);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_filter_guest_options),
    cmocka_unit_test (test_filter_hostile),
    cmocka_unit_test (test_fstype_supported),
    cmocka_unit_test (test_mount_ro),
    cmocka_unit_test (test_mount_dirty_ext4),
    cmocka_unit_test (test_mount_rw),
    cmocka_unit_test (test_mount_errors),
    cmocka_unit_test (test_mount_dirty_xfs),
    cmocka_unit_test (test_mount_btrfs),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
