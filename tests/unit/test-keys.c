/* Unit tests: src/keys.c (selectors, stdin keys, candidate order, key
 * files, argv scrubbing).  The terminal prompt is not exercised here (it
 * needs a controlling terminal). */
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
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "keys.h"

static char tmpdir[] = "/tmp/ngm-test-keys.XXXXXX";

static void
expect_selector (const char *arg, const char *id, bool is_file,
                 const char *value)
{
  struct key_spec ks = { 0 };
  char *msg = NULL;
  int r = keys_parse_selector (arg, &ks, &msg);
  if (r != 0)
    fail_msg ("%s: %d %s", arg, r, msg ? msg : "");
  assert_null (msg);
  assert_string_equal (ks.id, id);
  assert_int_equal (ks.is_file, is_file);
  assert_string_equal (ks.value, value);
  key_spec_clear (&ks);
  assert_null (ks.id);
}

/* A bad selector: the error, and the message never quotes secret. */
static void
expect_bad_selector (const char *arg, int want, const char *secret)
{
  struct key_spec ks = { 0 };
  char *msg = NULL;
  assert_int_equal (keys_parse_selector (arg, &ks, &msg), want);
  assert_non_null (msg);
  assert_null (ks.id);
  assert_null (ks.value);
  if (secret && strstr (msg, secret))
    fail_msg ("message \"%s\" repeats \"%s\"", msg, secret);
  free (msg);
}

static void
test_selectors (void **state)
{
  (void)state;
  expect_selector ("/dev/sda2:key:secret", "/dev/sda2", false, "secret");
  expect_selector ("all:key:a:b::c:", "all", false, "a:b::c:");
  expect_selector ("all:file:/etc/key", "all", true, "/etc/key");
  expect_selector ("0b1c3e2a-1111-2222-3333-444455556666:key:x y",
                   "0b1c3e2a-1111-2222-3333-444455556666", false, "x y");
  expect_selector ("/dev/vg/lv:file:rel/path:with:colon", "/dev/vg/lv", true,
                   "rel/path:with:colon");

  expect_bad_selector ("", -EINVAL, NULL);
  expect_bad_selector (NULL, -EINVAL, NULL);
  expect_bad_selector ("mysecretpassword", -EINVAL, "mysecret");
  expect_bad_selector (":key:secret1", -EINVAL, "secret1");
  expect_bad_selector ("/dev/sda2:secret2", -EINVAL, "secret2");
  expect_bad_selector ("/dev/sda2:keys:secret3", -EINVAL, "secret3");
  expect_bad_selector ("/dev/sda2:ky:secret4", -EINVAL, "secret4");
  expect_bad_selector ("/dev/sda2:key", -EINVAL, NULL);
  expect_bad_selector ("/dev/sda2:key:", -EINVAL, NULL);
  expect_bad_selector ("/dev/sda2:file:", -EINVAL, NULL);
  expect_bad_selector ("pass:word:with:colons", -EINVAL, "word:with");
  expect_bad_selector ("/dev/sda2:clevis", -ENOTSUP, NULL);
}

static struct key_store
store_with (const char *const *sels)
{
  struct key_store ks = { 0 };
  for (size_t i = 0; sels[i]; i++) {
    struct key_spec s = { 0 };
    assert_int_equal (keys_parse_selector (sels[i], &s, NULL), 0);
    keys_add (&ks, &s);
    assert_null (s.value);
  }
  return ks;
}

static void
expect_candidates (struct key_store *ks, const char *dev, const char *uuid,
                   const char *const *want)
{
  char **v = NULL;
  assert_int_equal (keys_candidates (ks, dev, uuid, &v), 0);
  assert_non_null (v);
  size_t i = 0;
  for (; want[i]; i++) {
    assert_non_null (v[i]);
    assert_string_equal (v[i], want[i]);
    assert_int_equal (keys_candidate_len (v[i]), strlen (want[i]));
  }
  assert_null (v[i]);
  keys_free_candidates (v);
}

static void
test_candidate_order (void **state)
{
  (void)state;
  const char *sels[] = {
    "all:key:ALL1",
    "/dev/sdb1:key:B1",
    "/dev/sda2:key:A2-first",
    "ABCDEF01-0000-0000-0000-000000000000:key:BY-UUID",
    "all:key:ALL2",
    "sda2:key:A2-short-name",
    NULL,
  };
  struct key_store ks = store_with (sels);
  FILE *in = fmemopen ((char *)"stdin1\nstdin2\n", 14, "r");
  assert_int_equal (keys_read_stdin (&ks, in), 0);
  fclose (in);

  /* device and uuid matches in command line order, then all, then stdin */
  expect_candidates (&ks, "/dev/sda2", "abcdef01-0000-0000-0000-000000000000",
                     (const char *[]){ "A2-first", "BY-UUID", "A2-short-name",
                                       "ALL1", "ALL2", "stdin1", "stdin2",
                                       NULL });
  expect_candidates (
      &ks, "/dev/sdb1", NULL,
      (const char *[]){ "B1", "ALL1", "ALL2", "stdin1", "stdin2", NULL });
  expect_candidates (
      &ks, "/dev/sdc1", "other",
      (const char *[]){ "ALL1", "ALL2", "stdin1", "stdin2", NULL });
  key_store_clear (&ks);
  assert_int_equal (ks.n, 0);
  assert_int_equal (ks.n_stdin, 0);

  /* nothing given, not interactive: an empty vector */
  expect_candidates (&ks, "/dev/sda2", NULL, (const char *[]){ NULL });
}

static void
test_stdin (void **state)
{
  (void)state;
  struct key_store ks = { 0 };
  /* CRLF keeps the '\r'; empty lines are skipped; the last line needs
   * no newline; spaces and ':' are part of the key. */
  static const char input[] = "one\r\n\n two : x \nlast";
  FILE *in = fmemopen ((char *)input, sizeof input - 1, "r");
  assert_int_equal (keys_read_stdin (&ks, in), 0);
  fclose (in);
  assert_true (ks.from_stdin_done);
  assert_int_equal (ks.n_stdin, 3);
  assert_string_equal (ks.stdin_keys[0], "one\r");
  assert_string_equal (ks.stdin_keys[1], " two : x ");
  assert_string_equal (ks.stdin_keys[2], "last");
  key_store_clear (&ks);

  /* empty input: no keys, no error */
  in = fmemopen ((char *)"\n\n", 2, "r");
  assert_int_equal (keys_read_stdin (&ks, in), 0);
  fclose (in);
  assert_int_equal (ks.n_stdin, 0);
  key_store_clear (&ks);

  /* a line over the limit: -E2BIG, nothing kept */
  size_t big = KEYS_MAX_LINE + 10;
  char *huge = malloc (big + 8);
  memcpy (huge, "ok\n", 3);
  memset (huge + 3, 'x', big);
  memcpy (huge + 3 + big, "\nok2\n", 5);
  in = fmemopen (huge, big + 8, "r");
  assert_int_equal (keys_read_stdin (&ks, in), -E2BIG);
  fclose (in);
  assert_int_equal (ks.n_stdin, 0);
  free (huge);

  /* binary bytes are kept as they are (NUL included) */
  static const char bin[] = "a\0b\x01\xff\n";
  in = fmemopen ((char *)bin, sizeof bin - 1, "r");
  assert_int_equal (keys_read_stdin (&ks, in), 0);
  fclose (in);
  assert_int_equal (ks.n_stdin, 1);
  char **v = NULL;
  assert_int_equal (keys_candidates (&ks, "/dev/sda", NULL, &v), 0);
  assert_int_equal (keys_candidate_len (v[0]), 5);
  assert_memory_equal (v[0], "a\0b\x01\xff", 5);
  keys_free_candidates (v);
  key_store_clear (&ks);
}

static void
test_key_files (void **state)
{
  (void)state;
  _cleanup_free_ char *f = xasprintf ("%s/keyfile", tmpdir);
  static const char content[] = "bin\0ary\nkey\n";
  int fd = open (f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true (fd >= 0);
  assert_int_equal (pwrite_full (fd, content, sizeof content - 1, 0), 0);
  close (fd);

  _cleanup_free_ char *sel = xasprintf ("all:file:%s", f);
  _cleanup_free_ char *sel2 = xasprintf ("/dev/sda1:file:%s/missing", tmpdir);
  const char *sels[] = { sel, sel2, NULL };
  struct key_store ks = store_with (sels);

  /* the whole file, every byte, trailing newline included */
  char **v = NULL;
  assert_int_equal (keys_candidates (&ks, "/dev/sdb1", NULL, &v), 0);
  assert_non_null (v[0]);
  assert_null (v[1]);
  assert_int_equal (keys_candidate_len (v[0]), sizeof content - 1);
  assert_memory_equal (v[0], content, sizeof content - 1);
  keys_free_candidates (v);

  /* a missing file for that device is an error naming the file */
  char *msg = NULL;
  v = NULL;
  assert_int_equal (keys_candidates_full (&ks, "/dev/sda1", NULL, &v, &msg),
                    -ENOENT);
  assert_null (v);
  assert_non_null (strstr (msg, "/missing"));
  assert_non_null (strstr (msg, "/dev/sda1"));
  free (msg);
  key_store_clear (&ks);

  /* an empty key file */
  _cleanup_free_ char *e = xasprintf ("%s/empty", tmpdir);
  fd = open (e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  close (fd);
  _cleanup_free_ char *sel3 = xasprintf ("all:file:%s", e);
  const char *sels3[] = { sel3, NULL };
  ks = store_with (sels3);
  msg = NULL;
  assert_int_equal (keys_candidates_full (&ks, "/dev/sda1", NULL, &v, &msg),
                    -EINVAL);
  assert_non_null (strstr (msg, "empty"));
  free (msg);
  key_store_clear (&ks);

  /* a directory */
  _cleanup_free_ char *sel4 = xasprintf ("all:file:%s", tmpdir);
  const char *sels4[] = { sel4, NULL };
  ks = store_with (sels4);
  assert_int_equal (keys_candidates (&ks, "/dev/sda1", NULL, &v), -EISDIR);
  key_store_clear (&ks);
}

static void
test_interactive_without_tty (void **state)
{
  (void)state;
  /* In a test run there is usually no controlling terminal: the prompt
   * must fail cleanly with a message, not hang. */
  int fd = open ("/dev/tty", O_RDWR | O_NOCTTY);
  if (fd >= 0) {
    close (fd);
    skip ();
  }
  struct key_store ks = { .interactive = true };
  char **v = NULL;
  char *msg = NULL;
  int r = keys_candidates_full (&ks, "/dev/sda2", "u-u-i-d", &v, &msg);
  assert_true (r < 0);
  assert_null (v);
  assert_non_null (strstr (msg, "/dev/sda2"));
  free (msg);
}

static void
test_scrub_argv (void **state)
{
  (void)state;
  char a0[] = "nguestmount";
  char a1[] = "--key";
  char a2[] = "/dev/sda2:key:topsecret";
  char a3[] = "--key=all:key:pa:ss";
  char a4[] = "-key";
  char a5[] = "uuid:file:/etc/keyfile";
  char a6[] = "-key=oops-a-password";
  char a7[] = "-a";
  char a8[] = "disk.img";
  char a9[] = "--";
  char a10[] = "--key=after:key:dashdash";
  char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, NULL };
  int argc = 11;

  keys_scrub_argv (argc, argv);

  assert_string_equal (a1, "--key");
  assert_string_equal (a2, "/dev/sda2:key:");
  for (size_t i = strlen ("/dev/sda2:key:"); i < sizeof a2; i++)
    assert_int_equal (a2[i], '\0');
  assert_string_equal (a3, "--key=all:key:");
  for (size_t i = strlen ("--key=all:key:"); i < sizeof a3; i++)
    assert_int_equal (a3[i], '\0');
  assert_string_equal (a5, "uuid:file:/etc/keyfile"); /* not secret */
  assert_string_equal (a6, "-key=");                  /* malformed: all */
  for (size_t i = 5; i < sizeof a6; i++)
    assert_int_equal (a6[i], '\0');
  assert_string_equal (a8, "disk.img");
  assert_string_equal (a10, "--key=after:key:dashdash"); /* after "--" */

  /* a trailing --key with no argument is harmless */
  char b0[] = "x", b1[] = "--key";
  char *argv2[] = { b0, b1, NULL };
  keys_scrub_argv (2, argv2);
  assert_string_equal (b1, "--key");
}

static int
setup (void **state)
{
  (void)state;
  return mkdtemp (tmpdir) ? 0 : -1;
}

static int
teardown (void **state)
{
  (void)state;
  _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

int
main (void)
{
  log_init (false);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_selectors),
    cmocka_unit_test (test_candidate_order),
    cmocka_unit_test (test_stdin),
    cmocka_unit_test (test_key_files),
    cmocka_unit_test (test_interactive_without_tty),
    cmocka_unit_test (test_scrub_argv),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
