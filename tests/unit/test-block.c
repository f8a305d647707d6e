/* Unit tests: src/block (bdev, file, slice, nbd, image, loop).
 *
 * The image tests make their images at run time with qemu-img and skip
 * when qemu-img or qemu-nbd is missing; the loop test needs root and skips
 * otherwise.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/bdev.h"
#include "block/image.h"
#include "block/loop.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

static char tmpdir[] = "/tmp/ngm-test-block.XXXXXX";
static char *saved_tmpdir_env;

#define MiB (1024u * 1024)
#define RAW_SIZE (8 * MiB)
static unsigned char *raw_data;       /* contents of tmpdir/disk.raw */

/* Deterministic pseudo-random bytes (xorshift64). */
static void
fill_random (unsigned char *buf, size_t len, uint64_t seed)
{
  uint64_t x = seed ? seed : 88172645463325252ull;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (unsigned char) (x >> 24);
  }
}

static char *
tmp_path (const char *rel)
{
  return xasprintf ("%s/%s", tmpdir, rel);
}

static void
write_file (const char *rel, const void *content, size_t len)
{
  _cleanup_free_ char *path = tmp_path (rel);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (pwrite_full (fd, content, len, 0), 0);
  close (fd);
}

/* Run a shell command in tmpdir, quietly; returns its exit status. */
static int
run (const char *fmt, ...)
{
  va_list ap;
  char *cmd = NULL;
  va_start (ap, fmt);
  assert_true (vasprintf (&cmd, fmt, ap) >= 0);
  va_end (ap);
  _cleanup_free_ char *full
      = xasprintf ("cd '%s' && { %s ; } >/dev/null 2>&1", tmpdir, cmd);
  free (cmd);
  int st = system (full);
  return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

static bool
have_qemu (void)
{
  return find_program ("qemu-img", NULL) && find_program ("qemu-nbd", NULL);
}

/* No child process of ours exists any more (running or zombie). */
static bool
no_children (void)
{
  int st;
  return waitpid (-1, &st, WNOHANG) < 0 && errno == ECHILD;
}

static bool
dir_is_empty (const char *path)
{
  DIR *d = opendir (path);
  if (!d)
    return false;
  struct dirent *e;
  bool empty = true;
  while ((e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      empty = false;
  closedir (d);
  return empty;
}

static int
setup (void **state)
{
  log_init (false);      /* NGUESTMOUNT_DEBUG=block shows the details */
  if (!mkdtemp (tmpdir))
    return -1;
  raw_data = malloc (RAW_SIZE);
  if (!raw_data)
    return -1;
  fill_random (raw_data, RAW_SIZE, 42);
  write_file ("disk.raw", raw_data, RAW_SIZE);
  /* qemu-nbd's socket directory goes here, so we can check it is gone. */
  _cleanup_free_ char *sock = tmp_path ("sockets");
  mkdir (sock, 0700);
  saved_tmpdir_env = xstrdup (getenv ("TMPDIR"));
  setenv ("TMPDIR", sock, 1);
  return 0;
}

static int
teardown (void **state)
{
  if (saved_tmpdir_env)
    setenv ("TMPDIR", saved_tmpdir_env, 1);
  else
    unsetenv ("TMPDIR");
  free (saved_tmpdir_env);
  free (raw_data);
  _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */

static void
check_name (unsigned i, const char *expect)
{
  _cleanup_free_ char *n = bdev_disk_name (i);
  assert_string_equal (n, expect);
}

static void
test_disk_names (void **state)
{
  check_name (0, "/dev/sda");
  check_name (1, "/dev/sdb");
  check_name (25, "/dev/sdz");
  check_name (26, "/dev/sdaa");
  check_name (27, "/dev/sdab");
  check_name (51, "/dev/sdaz");
  check_name (52, "/dev/sdba");
  check_name (701, "/dev/sdzz");
  check_name (702, "/dev/sdaaa");
  check_name (18277, "/dev/sdzzz");
  check_name (18278, "/dev/sdaaaa");
}

static void
test_file_range (void **state)
{
  _cleanup_free_ char *path = tmp_path ("disk.raw");
  _cleanup_free_ char *msg = NULL;
  struct bdev *b = NULL;
  unsigned char buf[4096];

  assert_int_equal (bdev_file_open (path, true, "/dev/sda", &b, &msg), 0);
  assert_non_null (b);
  assert_string_equal (b->ops->kind, "file");
  assert_string_equal (b->name, "/dev/sda");
  assert_int_equal (b->size, RAW_SIZE);
  assert_true (b->readonly);
  assert_true (b->direct_fd >= 0);
  assert_int_equal (b->direct_offset, 0);

  assert_int_equal (bdev_pread (b, buf, 100, 12345), 0);
  assert_memory_equal (buf, raw_data + 12345, 100);
  /* Ending exactly at the end is fine; one byte more is not. */
  assert_int_equal (bdev_pread (b, buf, 16, RAW_SIZE - 16), 0);
  assert_memory_equal (buf, raw_data + RAW_SIZE - 16, 16);
  assert_int_equal (bdev_pread (b, buf, 17, RAW_SIZE - 16), -EIO);
  assert_int_equal (bdev_pread (b, buf, 1, RAW_SIZE), -EIO);
  assert_int_equal (bdev_pread (b, buf, 0, RAW_SIZE), 0);
  assert_int_equal (bdev_pread (b, buf, 1, UINT64_MAX), -EIO);
  assert_int_equal (bdev_pread (b, buf, 16, UINT64_MAX - 8), -EIO);
  /* Writes on a read-only node. */
  assert_int_equal (bdev_pwrite (b, buf, 16, 0), -EROFS);
  assert_int_equal (bdev_flush (b), 0);

  /* Reference counting: the extra ref keeps it alive. */
  assert_ptr_equal (bdev_ref (b), b);
  assert_int_equal (b->refcount, 2);
  bdev_unref (b);
  assert_int_equal (bdev_pread (b, buf, 8, 0), 0);
  bdev_unref (b);
  bdev_unref (NULL);
}

static void
test_file_rw (void **state)
{
  _cleanup_free_ char *path = tmp_path ("rw.raw");
  _cleanup_free_ char *msg = NULL;
  struct bdev *b = NULL;
  unsigned char data[1000], back[1000];

  write_file ("rw.raw", raw_data, 64 * 1024);
  fill_random (data, sizeof data, 7);
  assert_int_equal (bdev_file_open (path, false, "/dev/sdb", &b, &msg), 0);
  assert_false (b->readonly);
  assert_int_equal (bdev_pwrite (b, data, sizeof data, 4097), 0);
  assert_int_equal (bdev_pwrite (b, data, 2, 64 * 1024 - 1), -EIO);
  assert_int_equal (bdev_flush (b), 0);
  assert_int_equal (bdev_pread (b, back, sizeof back, 4097), 0);
  assert_memory_equal (back, data, sizeof data);
  bdev_unref (b);
}

static void
test_file_errors (void **state)
{
  _cleanup_free_ char *missing = tmp_path ("missing.img");
  _cleanup_free_ char *empty = tmp_path ("empty.img");
  struct bdev *b = NULL;
  char *msg = NULL;

  assert_int_equal (bdev_file_open (missing, true, "x", &b, &msg), -ENOENT);
  _cleanup_free_ char *e1
      = xasprintf ("cannot attach %s: No such file or directory", missing);
  assert_string_equal (msg, e1);
  free (msg);
  msg = NULL;

  assert_int_equal (bdev_file_open (tmpdir, true, "x", &b, &msg), -EISDIR);
  _cleanup_free_ char *e2 = xasprintf ("cannot attach %s: is a directory",
                                       tmpdir);
  assert_string_equal (msg, e2);
  free (msg);
  msg = NULL;

  write_file ("empty.img", "", 0);
  assert_int_equal (bdev_file_open (empty, true, "x", &b, &msg), -EINVAL);
  _cleanup_free_ char *e3 = xasprintf ("cannot attach %s: the image is empty",
                                       empty);
  assert_string_equal (msg, e3);
  free (msg);
  msg = NULL;

  if (geteuid () != 0) {
    _cleanup_free_ char *secret = tmp_path ("secret.img");
    write_file ("secret.img", "x", 1);
    chmod (secret, 0);
    assert_int_equal (bdev_file_open (secret, true, "x", &b, &msg), -EACCES);
    _cleanup_free_ char *e4
        = xasprintf ("cannot attach %s: Permission denied", secret);
    assert_string_equal (msg, e4);
    free (msg);
    msg = NULL;
  }
  assert_null (b);
}

static void
test_slice (void **state)
{
  _cleanup_free_ char *path = tmp_path ("disk.raw");
  _cleanup_free_ char *msg = NULL;
  struct bdev *disk = NULL, *part = NULL, *inner = NULL, *bad = NULL;
  unsigned char buf[8192];

  assert_int_equal (bdev_file_open (path, true, "/dev/sda", &disk, &msg), 0);
  assert_int_equal (bdev_slice_new (disk, MiB, 4 * MiB, "/dev/sda1", &part),
                    0);
  assert_string_equal (part->ops->kind, "slice");
  assert_string_equal (part->name, "/dev/sda1");
  assert_int_equal (part->size, 4 * MiB);
  assert_true (part->readonly);
  assert_int_equal (part->direct_fd, disk->direct_fd);
  assert_int_equal (part->direct_offset, MiB);

  assert_int_equal (bdev_pread (part, buf, 8192, 3), 0);
  assert_memory_equal (buf, raw_data + MiB + 3, 8192);
  assert_int_equal (bdev_pread (part, buf, 100, 4 * MiB - 100), 0);
  assert_memory_equal (buf, raw_data + 5 * MiB - 100, 100);
  assert_int_equal (bdev_pread (part, buf, 101, 4 * MiB - 100), -EIO);
  assert_int_equal (bdev_pwrite (part, buf, 1, 0), -EROFS);

  /* A slice of a slice: offsets add up. */
  assert_int_equal (bdev_slice_new (part, 12345, 100000, "/dev/x", &inner),
                    0);
  assert_int_equal (inner->direct_offset, MiB + 12345);
  assert_int_equal (bdev_pread (inner, buf, 1000, 999), 0);
  assert_memory_equal (buf, raw_data + MiB + 12345 + 999, 1000);
  assert_int_equal (bdev_pread (inner, buf, 1, 100000), -EIO);

  /* Windows that do not fit. */
  assert_true (bdev_slice_new (part, 4 * MiB, 1, "bad", &bad) < 0);
  assert_true (bdev_slice_new (part, 1, 4 * MiB, "bad", &bad) < 0);
  assert_true (bdev_slice_new (part, UINT64_MAX, 2, "bad", &bad) < 0);
  assert_null (bad);
  assert_int_equal (bdev_slice_new (part, 4 * MiB, 0, "empty", &bad), 0);
  bdev_unref (bad);

  /* The slices hold their parents. */
  bdev_unref (disk);
  bdev_unref (part);
  assert_int_equal (bdev_pread (inner, buf, 10, 0), 0);
  assert_memory_equal (buf, raw_data + MiB + 12345, 10);
  bdev_unref (inner);
}

/* ------------------------------------------------------------------ */

static void
test_probe (void **state)
{
  unsigned char buf[1024], tail[512];

  memset (buf, 0, sizeof buf);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "raw");
  assert_string_equal (image_probe_buffer (buf, 0, NULL, 0), "raw");
  assert_string_equal (image_probe_buffer (NULL, 0, NULL, 0), "raw");

  memcpy (buf, "QFI\xfb\0\0\0\3", 8);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "qcow2");
  assert_string_equal (image_probe_buffer (buf, 4, NULL, 0), "qcow2");
  assert_string_equal (image_probe_buffer (buf, 3, NULL, 0), "raw");

  memset (buf, 0, sizeof buf);
  memcpy (buf, "KDMV", 4);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "vmdk");
  memset (buf, 0, sizeof buf);
  strcpy ((char *) buf, "# Disk DescriptorFile\nversion=1\n");
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "vmdk");
  assert_string_equal (image_probe_buffer (buf, 10, NULL, 0), "raw");

  memset (buf, 0, sizeof buf);
  memcpy (buf, "vhdxfile", 8);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "vhdx");

  memset (buf, 0, sizeof buf);
  memcpy (buf, "<<< Oracle VM VirtualBox Disk Image >>>\n", 40);
  buf[0x40] = 0x7f;
  buf[0x41] = 0x10;
  buf[0x42] = 0xda;
  buf[0x43] = 0xbe;
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "vdi");
  assert_string_equal (image_probe_buffer (buf, 0x43, NULL, 0), "raw");

  memset (buf, 0, sizeof buf);
  memcpy (buf, "conectix", 8);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, NULL, 0), "vpc");
  /* Fixed VHD: only the footer at the end. */
  memset (buf, 0, sizeof buf);
  memset (tail, 0, sizeof tail);
  memcpy (tail, "conectix", 8);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, tail, sizeof tail),
                       "vpc");
  assert_string_equal (image_probe_buffer (buf, sizeof buf, tail, 100), "raw");
  memset (tail, 0, sizeof tail);
  assert_string_equal (image_probe_buffer (buf, sizeof buf, tail, sizeof tail),
                       "raw");

  /* Random bytes (checked not to start with a magic by chance). */
  for (uint64_t seed = 1; seed <= 200; seed++) {
    fill_random (buf, sizeof buf, seed);
    fill_random (tail, sizeof tail, seed * 7919);
    buf[0] = 'R';
    buf[0x40] = 0;
    tail[0] = 'R';
    for (size_t len = 0; len <= sizeof buf; len += 61)
      assert_string_equal (image_probe_buffer (buf, len, tail, sizeof tail),
                           "raw");
  }
}

static void
test_backing_allowed (void **state)
{
  _cleanup_free_ char *dir = tmp_path ("bk");
  _cleanup_free_ char *sub = tmp_path ("bk/sub");
  _cleanup_free_ char *link1 = tmp_path ("bk/passwd-link");
  _cleanup_free_ char *link2 = tmp_path ("bk/up-link");
  _cleanup_free_ char *link3 = tmp_path ("bk/in-link");
  _cleanup_free_ char *abs_in = tmp_path ("bk/base.img");

  assert_int_equal (mkdir (dir, 0755), 0);
  assert_int_equal (mkdir (sub, 0755), 0);
  write_file ("bk/base.img", "base", 4);
  write_file ("bk/sub/deep.img", "deep", 4);
  write_file ("outside.img", "out", 3);
  assert_int_equal (symlink ("/etc/passwd", link1), 0);
  assert_int_equal (symlink ("../outside.img", link2), 0);
  assert_int_equal (symlink ("sub/deep.img", link3), 0);

  assert_int_equal (image_backing_allowed (dir, "base.img"), 0);
  assert_int_equal (image_backing_allowed (dir, "./base.img"), 0);
  assert_int_equal (image_backing_allowed (dir, "sub/deep.img"), 0);
  assert_int_equal (image_backing_allowed (dir, "sub/../base.img"), 0);
  assert_int_equal (image_backing_allowed (dir, abs_in), 0);
  assert_int_equal (image_backing_allowed (dir, "in-link"), 0);
  assert_int_equal (image_backing_allowed (sub, "../base.img"), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "../outside.img"), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "passwd-link"), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "up-link"), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "/etc/passwd"), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "."), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "sub/.."), -EPERM);
  assert_int_equal (image_backing_allowed (dir, "nonexistent"), -ENOENT);
  assert_int_equal (image_backing_allowed (dir, "/nonexistent/x"), -ENOENT);
  /* Protocol names qemu would not read as files. */
  assert_int_equal (
      image_backing_allowed (dir, "json:{\"file\":{\"filename\":\"x\"}}"),
      -EPERM);
  assert_int_equal (image_backing_allowed (dir, "nbd:localhost:10809"),
                    -EPERM);
  assert_int_equal (image_backing_allowed (dir, ""), -EINVAL);
}

/* ------------------------------------------------------------------ */

static void
verify_reads (struct bdev *b, const unsigned char *expect, uint64_t size)
{
  static const struct {
    uint64_t off;
    size_t len;
  } reads[] = {
    { 0, 4096 },    { 0, 1 },           { 12345, 777 },
    { 65535, 2 },   { 3 * MiB - 1, 3 }, { MiB + 3, 5 * MiB },
    { 511, 513 },
  };
  _cleanup_free_ unsigned char *buf = xcalloc (1, 5 * MiB);

  for (size_t i = 0; i < ARRAY_SIZE (reads); i++) {
    memset (buf, 0xaa, reads[i].len);
    assert_int_equal (bdev_pread (b, buf, reads[i].len, reads[i].off), 0);
    assert_memory_equal (buf, expect + reads[i].off, reads[i].len);
  }
  assert_int_equal (bdev_pread (b, buf, 100, size - 100), 0);
  assert_memory_equal (buf, expect + size - 100, 100);
  assert_int_equal (bdev_pread (b, buf, 101, size - 100), -EIO);
}

struct reader_arg {
  struct bdev *b;
  uint64_t seed;
  int errors;
};

static void *
reader_thread (void *p)
{
  struct reader_arg *a = p;
  unsigned char buf[65536];
  uint64_t x = a->seed;

  for (int i = 0; i < 200; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t len = 1 + (size_t) ((x >> 33) % sizeof buf);
    uint64_t off = (x >> 11) % (RAW_SIZE - len);
    if (bdev_pread (a->b, buf, len, off) != 0
        || memcmp (buf, raw_data + off, len) != 0)
      a->errors++;
  }
  return NULL;
}

static void
test_image_qcow2 (void **state)
{
  if (!have_qemu ())
    skip ();
  _cleanup_free_ char *path = tmp_path ("disk.qcow2");
  _cleanup_free_ char *sockets = tmp_path ("sockets");
  _cleanup_free_ char *msg = NULL, *fmt = NULL;
  struct bdev *b = NULL;

  assert_int_equal (run ("qemu-img convert -f raw -O qcow2 disk.raw "
                         "disk.qcow2"),
                    0);
  assert_true (no_children ());
  assert_int_equal (
      image_open (path, NULL, true, false, "/dev/sda", &b, &fmt, &msg), 0);
  assert_string_equal (fmt, "qcow2");
  assert_string_equal (b->ops->kind, "nbd");
  assert_string_equal (b->name, "/dev/sda");
  assert_int_equal (b->size, RAW_SIZE);
  assert_true (b->readonly);
  assert_int_equal (b->direct_fd, -1);
  /* qemu-nbd runs; its socket and directory are already gone. */
  assert_false (no_children ());
  assert_true (dir_is_empty (sockets));

  verify_reads (b, raw_data, RAW_SIZE);
  assert_int_equal (bdev_pwrite (b, raw_data, 1, 0), -EROFS);

  /* Concurrent readers over the connections. */
  pthread_t t[4];
  struct reader_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (struct reader_arg) { .b = b, .seed = (uint64_t) i + 1 };
    assert_int_equal (pthread_create (&t[i], NULL, reader_thread, &args[i]),
                      0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join (t[i], NULL);
    assert_int_equal (args[i].errors, 0);
  }

  bdev_unref (b);
  assert_true (no_children ());

  /* The same through an explicit format and a slice on top. */
  free (fmt);
  fmt = NULL;
  struct bdev *part = NULL;
  assert_int_equal (
      image_open (path, "qcow2", true, false, "/dev/sdb", &b, &fmt, &msg), 0);
  assert_int_equal (bdev_slice_new (b, MiB, 2 * MiB, "/dev/sdb1", &part), 0);
  assert_int_equal (part->direct_fd, -1);
  bdev_unref (b);
  unsigned char buf[1000];
  assert_int_equal (bdev_pread (part, buf, sizeof buf, 2 * MiB - 1000), 0);
  assert_memory_equal (buf, raw_data + 3 * MiB - 1000, sizeof buf);
  bdev_unref (part);
  assert_true (no_children ());
}

static void
test_image_rw (void **state)
{
  if (!have_qemu ())
    skip ();
  _cleanup_free_ char *path = tmp_path ("rw.qcow2");
  _cleanup_free_ char *msg = NULL, *fmt = NULL;
  _cleanup_free_ unsigned char *data = xcalloc (1, 3 * MiB);
  _cleanup_free_ unsigned char *back = xcalloc (1, 3 * MiB);
  struct bdev *b = NULL;

  fill_random (data, 3 * MiB, 99);
  assert_int_equal (run ("qemu-img create -f qcow2 rw.qcow2 16M"), 0);
  assert_int_equal (
      image_open (path, NULL, false, false, "/dev/sda", &b, &fmt, &msg), 0);
  assert_false (b->readonly);
  assert_int_equal (bdev_pwrite (b, data, 3 * MiB, 777), 0);
  assert_int_equal (bdev_flush (b), 0);
  bdev_unref (b);
  assert_true (no_children ());

  assert_int_equal (
      image_open (path, "qcow2", true, false, "/dev/sda", &b, NULL, &msg), 0);
  assert_int_equal (bdev_pread (b, back, 3 * MiB, 777), 0);
  assert_memory_equal (back, data, 3 * MiB);
  assert_int_equal (bdev_pread (b, back, 777, 0), 0);
  for (int i = 0; i < 777; i++)
    assert_int_equal (back[i], 0);
  bdev_unref (b);
  assert_true (no_children ());
}

/* Every other format, converted from the raw disk and probed. */
static void
test_image_formats (void **state)
{
  if (!have_qemu ())
    skip ();
  static const struct {
    const char *file, *fmt, *opts;
  } imgs[] = {
    { "d.vmdk", "vmdk", "" },
    { "d.vhdx", "vhdx", "" },
    { "d.vhd", "vpc", "" },
    { "fixed.vhd", "vpc", "-o subformat=fixed" },
    { "d.vdi", "vdi", "" },
    { "copy.raw", "raw", "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (imgs); i++) {
    _cleanup_free_ char *path = tmp_path (imgs[i].file);
    _cleanup_free_ char *msg = NULL, *fmt = NULL;
    struct bdev *b = NULL;
    unsigned char buf[4096];

    assert_int_equal (run ("qemu-img convert -f raw -O %s %s disk.raw %s",
                           imgs[i].fmt, imgs[i].opts, imgs[i].file),
                      0);
    int r = image_open (path, NULL, true, false, "/dev/sda", &b, &fmt, &msg);
    if (r < 0)
      fail_msg ("%s: %s", imgs[i].file, msg);
    assert_string_equal (fmt, imgs[i].fmt);
    /* vpc rounds the size up to its disk geometry. */
    assert_true (b->size >= RAW_SIZE);
    assert_int_equal (bdev_pread (b, buf, sizeof buf, RAW_SIZE - 5000), 0);
    assert_memory_equal (buf, raw_data + RAW_SIZE - 5000, sizeof buf);
    assert_int_equal (bdev_pread (b, buf, 333, 1), 0);
    assert_memory_equal (buf, raw_data + 1, 333);
    bdev_unref (b);
    assert_true (no_children ());
    unlink (path);
  }
}

static void
expect_open_error (const char *path, const char *format, bool allow_backing,
                   const char *expect)
{
  struct bdev *b = NULL;
  char *msg = NULL, *fmt = NULL;

  int r = image_open (path, format, true, allow_backing, "/dev/sda", &b, &fmt,
                      &msg);
  if (r >= 0)
    fail_msg ("%s: opened, expected \"%s\"", path, expect);
  assert_null (b);
  assert_null (fmt);
  assert_non_null (msg);
  if (strcmp (msg, expect) != 0)
    fail_msg ("%s: got \"%s\", expected \"%s\"", path, msg, expect);
  free (msg);
  assert_true (no_children ());
}

/* Rename the qcow2 backing-format header extension (0xe2792aca). */
static void
drop_backing_format (const char *path)
{
  unsigned char hdr[4096];
  int fd = open (path, O_RDWR | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (pread_full (fd, hdr, sizeof hdr, 0), 0);
  bool found = false;
  for (size_t i = 72; i + 4 <= sizeof hdr && !found; i += 4) {
    if (memcmp (hdr + i, "\xe2\x79\x2a\xca", 4) == 0) {
      assert_int_equal (pwrite_full (fd, "\x12\x34\x56\x78", 4, i), 0);
      found = true;
    }
  }
  close (fd);
  assert_true (found);
}

static void
test_image_backing (void **state)
{
  if (!have_qemu ())
    skip ();
  _cleanup_free_ char *x1 = tmp_path ("x.qcow2");
  _cleanup_free_ char *x2 = tmp_path ("xu.qcow2");
  _cleanup_free_ char *x3 = tmp_path ("xj.qcow2");
  _cleanup_free_ char *x4 = tmp_path ("xl.qcow2");
  _cleanup_free_ char *x5 = tmp_path ("bk2/chain.qcow2");
  _cleanup_free_ char *ok = tmp_path ("overlay.qcow2");
  _cleanup_free_ char *ok2 = tmp_path ("overlay-nofmt.qcow2");
  _cleanup_free_ char *msg = NULL, *fmt = NULL;
  struct bdev *b = NULL;

  assert_int_equal (run ("qemu-img create -f qcow2 -b /etc/passwd -F raw "
                         "x.qcow2"),
                    0);
  assert_int_equal (run ("qemu-img create -f qcow2 -u -b /etc/passwd -F raw "
                         "xu.qcow2 1M"),
                    0);
  for (int i = 0; i < 2; i++) {
    const char *p = i == 0 ? x1 : x2;
    _cleanup_free_ char *e = xasprintf (
        "cannot attach %s: backing file /etc/passwd is outside the image's "
        "directory (use --allow-backing to allow it)",
        p);
    expect_open_error (p, NULL, false, e);
    expect_open_error (p, "qcow2", false, e);
  }
  /* --allow-backing lets it through. */
  assert_int_equal (
      image_open (x2, NULL, true, true, "/dev/sda", &b, &fmt, &msg), 0);
  bdev_unref (b);
  assert_true (no_children ());

  /* A protocol instead of a file name. */
  assert_int_equal (run ("qemu-img create -f qcow2 -u -b "
                         "'json:{\"driver\":\"raw\",\"file\":{\"driver\":"
                         "\"file\",\"filename\":\"/etc/passwd\"}}' "
                         "-F raw xj.qcow2 1M"),
                    0);
  {
    struct bdev *bj = NULL;
    char *m = NULL;
    assert_true (image_open (x3, NULL, true, false, "x", &bj, NULL, &m) < 0);
    _cleanup_free_ char *prefix
        = xasprintf ("cannot attach %s: backing file json:", x3);
    assert_true (str_has_prefix (m, prefix));
    assert_non_null (strstr (m, "is outside the image's directory"));
    free (m);
  }

  /* A symlink in the image's directory that leads out of it. */
  _cleanup_free_ char *link = tmp_path ("escape.raw");
  assert_int_equal (symlink ("/etc/passwd", link), 0);
  assert_int_equal (run ("qemu-img create -f qcow2 -u -b escape.raw -F raw "
                         "xl.qcow2 1M"),
                    0);
  _cleanup_free_ char *e4 = xasprintf (
      "cannot attach %s: backing file escape.raw is outside the image's "
      "directory (use --allow-backing to allow it)",
      x4);
  expect_open_error (x4, NULL, false, e4);

  /* A backing file that does not exist. */
  assert_int_equal (run ("mkdir bk2 && qemu-img create -f qcow2 -u -b "
                         "gone.raw -F raw bk2/chain.qcow2 1M"),
                    0);
  _cleanup_free_ char *e5 = xasprintf (
      "cannot attach %s: backing file gone.raw: No such file or directory",
      x5);
  expect_open_error (x5, NULL, false, e5);

  /* Inside the directory: allowed, and the chain is read through. */
  assert_int_equal (run ("qemu-img create -f qcow2 -b disk.raw -F raw "
                         "overlay.qcow2"),
                    0);
  assert_int_equal (
      image_open (ok, NULL, true, false, "/dev/sda", &b, NULL, &msg), 0);
  verify_reads (b, raw_data, RAW_SIZE);
  bdev_unref (b);
  assert_true (no_children ());

  /* A two-level chain, the top without a backing format (qemu-img no
   * longer writes such images, so its backing-format header extension is
   * renamed into an unknown one, which qemu ignores): qemu-img probes. */
  assert_int_equal (run ("qemu-img create -f qcow2 -b disk.raw -F raw "
                         "mid.qcow2 && qemu-img create -f qcow2 -u -b "
                         "mid.qcow2 -F qcow2 overlay-nofmt.qcow2 8M"),
                    0);
  drop_backing_format (ok2);
  assert_int_equal (
      image_open (ok2, NULL, true, false, "/dev/sda", &b, NULL, &msg), 0);
  unsigned char buf[512];
  assert_int_equal (bdev_pread (b, buf, sizeof buf, 4 * MiB + 1), 0);
  assert_memory_equal (buf, raw_data + 4 * MiB + 1, sizeof buf);
  bdev_unref (b);
  assert_true (no_children ());

  /* The chain's second level points out of the directory. */
  assert_int_equal (run ("qemu-img create -f qcow2 -u -b /etc/passwd -F raw "
                         "mid2.qcow2 1M && qemu-img create -f qcow2 -u -b "
                         "mid2.qcow2 -F qcow2 top2.qcow2 1M"),
                    0);
  _cleanup_free_ char *top2 = tmp_path ("top2.qcow2");
  _cleanup_free_ char *e6 = xasprintf (
      "cannot attach %s: backing file /etc/passwd is outside the image's "
      "directory (use --allow-backing to allow it)",
      top2);
  expect_open_error (top2, NULL, false, e6);
}

static void
test_image_references (void **state)
{
  if (!have_qemu ())
    skip ();
  /* A vmdk descriptor whose extent is a host file. */
  static const char vmdk[]
      = "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=12345678\n"
        "parentCID=ffffffff\n"
        "createType=\"monolithicFlat\"\n"
        "\n"
        "RW 4 FLAT \"/etc/passwd\" 0\n"
        "\n"
        "ddb.virtualHWVersion = \"4\"\n"
        "ddb.geometry.cylinders = \"1\"\n"
        "ddb.geometry.heads = \"1\"\n"
        "ddb.geometry.sectors = \"4\"\n"
        "ddb.adapterType = \"ide\"\n";
  write_file ("extent.vmdk", vmdk, sizeof vmdk - 1);
  _cleanup_free_ char *v = tmp_path ("extent.vmdk");
  _cleanup_free_ char *ev = xasprintf (
      "cannot attach %s: extent file /etc/passwd is outside the image's "
      "directory (use --allow-backing to allow it)",
      v);
  expect_open_error (v, NULL, false, ev);

  /* An extent inside the directory but shorter than it claims to be
   * (qemu-nbd 7.2 hangs on this with --aio=io_uring). */
  static const char vmdk_short[]
      = "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=12345678\n"
        "parentCID=ffffffff\n"
        "createType=\"monolithicFlat\"\n"
        "\n"
        "RW 8 FLAT \"short.bin\" 0\n"
        "\n"
        "ddb.adapterType = \"ide\"\n";
  write_file ("short.vmdk", vmdk_short, sizeof vmdk_short - 1);
  write_file ("short.bin", raw_data, 1000);
  _cleanup_free_ char *sv = tmp_path ("short.vmdk");
  _cleanup_free_ char *msg = NULL, *fmt = NULL;
  struct bdev *b = NULL;
  unsigned char buf[4096];
  int r = image_open (sv, NULL, true, false, "/dev/sda", &b, &fmt, &msg);
  if (r < 0)
    fail_msg ("%s", msg);
  assert_string_equal (fmt, "vmdk");
  assert_true (b->size >= 4096);
  assert_int_equal (bdev_pread (b, buf, sizeof buf, 0), 0);
  assert_memory_equal (buf, raw_data, 1000);
  bdev_unref (b);
  assert_true (no_children ());

  /* A qcow2 with an external data file elsewhere. */
  assert_int_equal (run ("mkdir -p dd && qemu-img create -f qcow2 -o "
                         "data_file=%s/data.raw,data_file_raw=on "
                         "dd/ext.qcow2 8M",
                         tmpdir),
                    0);
  _cleanup_free_ char *q = tmp_path ("dd/ext.qcow2");
  _cleanup_free_ char *eq = xasprintf (
      "cannot attach %s: data file %s/data.raw is outside the image's "
      "directory (use --allow-backing to allow it)",
      q, tmpdir);
  expect_open_error (q, NULL, false, eq);
}

static void
test_image_errors (void **state)
{
  _cleanup_free_ char *missing = tmp_path ("missing.qcow2");
  _cleanup_free_ char *raw = tmp_path ("disk.raw");
  _cleanup_free_ char *e1
      = xasprintf ("cannot attach %s: No such file or directory", missing);
  expect_open_error (missing, NULL, false, e1);

  _cleanup_free_ char *e2 = xasprintf (
      "unsupported format 'bogus' for %s (supported: raw, qcow2, vmdk, vhdx, "
      "vpc, vdi)",
      raw);
  expect_open_error (raw, "bogus", false, e2);

  _cleanup_free_ char *e3 = xasprintf ("cannot attach %s: is a directory",
                                       tmpdir);
  expect_open_error (tmpdir, NULL, false, e3);

  /* A qed image is refused by name rather than shown as raw bytes. */
  unsigned char qed[4096] = "QED";
  write_file ("x.qed", qed, sizeof qed);
  _cleanup_free_ char *qp = tmp_path ("x.qed");
  _cleanup_free_ char *e4 = xasprintf (
      "unsupported format 'qed' for %s (supported: raw, qcow2, vmdk, vhdx, "
      "vpc, vdi)",
      qp);
  expect_open_error (qp, NULL, false, e4);

  /* Raw needs no qemu at all. */
  struct bdev *b = NULL;
  char *fmt = NULL, *msg = NULL;
  assert_int_equal (image_open (raw, NULL, true, false, "/dev/sda", &b, &fmt,
                                &msg),
                    0);
  assert_string_equal (fmt, "raw");
  assert_string_equal (b->ops->kind, "file");
  assert_true (b->direct_fd >= 0);
  free (fmt);
  bdev_unref (b);

  if (!have_qemu ())
    skip ();
  /* Valid magic, garbage header. */
  unsigned char bad[65536];
  fill_random (bad, sizeof bad, 5);
  memcpy (bad, "QFI\xfb", 4);
  write_file ("corrupt.qcow2", bad, sizeof bad);
  _cleanup_free_ char *cp = tmp_path ("corrupt.qcow2");
  b = NULL;
  assert_true (image_open (cp, NULL, true, false, "/dev/sda", &b, NULL, &msg)
               < 0);
  assert_null (b);
  _cleanup_free_ char *prefix = xasprintf ("cannot attach %s: ", cp);
  assert_true (str_has_prefix (msg, prefix));
  assert_true (strlen (msg) > strlen (prefix));
  free (msg);
  msg = NULL;
  assert_true (no_children ());

  /* qemu-nbd fails by itself (raw given as qcow2 to bdev_nbd_open): its
   * own message comes back. */
  assert_true (bdev_nbd_open (raw, "qcow2", true, 2, "/dev/sda", &b, &msg)
               < 0);
  _cleanup_free_ char *p2 = xasprintf ("cannot attach %s: ", raw);
  assert_true (str_has_prefix (msg, p2));
  assert_non_null (strstr (msg, "qcow2"));
  free (msg);
  msg = NULL;
  assert_true (no_children ());

  /* Without qemu-nbd in PATH. */
  _cleanup_free_ char *qc = tmp_path ("disk.qcow2");
  _cleanup_free_ char *empty = tmp_path ("emptybin");
  _cleanup_free_ char *path = xstrdup (getenv ("PATH"));
  assert_int_equal (run ("qemu-img convert -f raw -O qcow2 disk.raw "
                         "disk.qcow2 && mkdir -p emptybin"),
                    0);
  setenv ("PATH", empty, 1);
  _cleanup_free_ char *e5 = xasprintf (
      "cannot attach %s: qemu-nbd not found (install qemu-utils)", qc);
  expect_open_error (qc, NULL, false, e5);
  if (path)
    setenv ("PATH", path, 1);
  else
    unsetenv ("PATH");
}

/* ------------------------------------------------------------------ */

static void
test_loop (void **state)
{
  if (geteuid () != 0 || access ("/dev/loop-control", F_OK) != 0)
    skip ();
  _cleanup_free_ char *path = tmp_path ("disk.raw");
  unsigned char buf[4096];

  for (int dio = 0; dio < 2; dio++) {
    _cleanup_free_ char *msg = NULL, *dev = NULL;
    int fd = -1;
    _cleanup_close_ int backing = open (path, O_RDONLY | O_CLOEXEC);
    assert_true (backing >= 0);

    int r = loop_attach (backing, MiB, 2 * MiB, true, dio, 0, &fd, &dev,
                         &msg);
    if (r < 0)
      fail_msg ("loop_attach: %s", msg);
    assert_true (str_has_prefix (dev, "/dev/loop"));
    uint64_t size = 0;
    assert_int_equal (ioctl (fd, BLKGETSIZE64, &size), 0);
    assert_int_equal (size, 2 * MiB);
    int ro = 0;
    assert_int_equal (ioctl (fd, BLKROGET, &ro), 0);
    assert_int_equal (ro, 1);
    assert_int_equal (pread_full (fd, buf, sizeof buf, 0), 0);
    assert_memory_equal (buf, raw_data + MiB, sizeof buf);
    assert_int_equal (pread_full (fd, buf, sizeof buf, 2 * MiB - 4096), 0);
    assert_memory_equal (buf, raw_data + 3 * MiB - 4096, sizeof buf);

    _cleanup_free_ char *sysfs
        = xasprintf ("/sys/block/%s/loop/backing_file", dev + 5);
    assert_int_equal (access (sysfs, F_OK), 0);
    /* Autoclear: once the last fd goes, the device detaches. */
    close (fd);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
      if (access (sysfs, F_OK) != 0)
        gone = true;
      else
        usleep (10000);
    }
    assert_true (gone);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_disk_names),
    cmocka_unit_test (test_file_range),
    cmocka_unit_test (test_file_rw),
    cmocka_unit_test (test_file_errors),
    cmocka_unit_test (test_slice),
    cmocka_unit_test (test_probe),
    cmocka_unit_test (test_backing_allowed),
    cmocka_unit_test (test_image_qcow2),
    cmocka_unit_test (test_image_rw),
    cmocka_unit_test (test_image_formats),
    cmocka_unit_test (test_image_backing),
    cmocka_unit_test (test_image_references),
    cmocka_unit_test (test_image_errors),
    cmocka_unit_test (test_loop),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
