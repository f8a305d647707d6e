/* Unit tests: the guest's mdadm.conf (src/inspect/mdadm.c). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inspect/mdadm.h"

static size_t
parse (const char *text, struct mdadm_array **ret)
{
  return inspect_parse_mdadm_conf (text, strlen (text), 100, ret);
}

static void
test_uuid_forms (void **state)
{
  char u[33];
  assert_true (inspect_normalize_uuid ("0a1b2c3d:4e5f6071:8293a4b5:c6d7e8f9", u));
  assert_string_equal (u, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  assert_true (inspect_normalize_uuid ("0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9", u));
  assert_string_equal (u, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  assert_false (inspect_normalize_uuid ("0a1b2c3d:4e5f6071:8293a4b5", u));
  assert_false (inspect_normalize_uuid ("0a1b2c3d:4e5f6071:8293a4b5:c6d7e8f9aa", u));
  assert_false (inspect_normalize_uuid ("zz1b2c3d:4e5f6071:8293a4b5:c6d7e8f9", u));
  assert_false (inspect_normalize_uuid ("", u));
}

static void
test_debian_conf (void **state)
{
  /* As Debian's installer writes it. */
  const char *conf =
    "# mdadm.conf\n"
    "#\n"
    "HOMEHOST <system>\n"
    "MAILADDR root\n"
    "\n"
    "# definitions of existing MD arrays\n"
    "ARRAY /dev/md/0  metadata=1.2 UUID=0a1b2c3d:4e5f6071:8293a4b5:c6d7e8f9 "
    "name=host:0\n"
    "ARRAY /dev/md1 level=raid5 num-devices=3\n"
    "   UUID=11111111:22222222:33333333:44444444\n"
    "array /dev/md2 uuid=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd # comment\n"
    "arr /dev/md3 UUID=aaaaaaaa:bbbbbbbb:cccccccc:ddddddd0\r\n"
    "ARRAY <ignore> UUID=aaaaaaaa:bbbbbbbb:cccccccc:ddddddd1\n"
    "ARRAY /dev/md4\n"
    "DEVICE partitions\n"
    "ARRAY /dev/md5 UUID=aaaaaaaa:bbbbbbbb:cccccccc:ddddddd5";
  struct mdadm_array *a;
  size_t n = parse (conf, &a);
  assert_int_equal (n, 5);
  assert_string_equal (a[0].device, "/dev/md/0");
  assert_string_equal (a[0].uuid, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  assert_string_equal (a[1].device, "/dev/md1");      /* continuation */
  assert_string_equal (a[1].uuid, "11111111222222223333333344444444");
  assert_string_equal (a[2].device, "/dev/md2");
  assert_string_equal (a[3].device, "/dev/md3");      /* abbreviated, CRLF */
  assert_string_equal (a[4].device, "/dev/md5");      /* no final newline */
  inspect_mdadm_free (a, n);
}

static void
test_hostile (void **state)
{
  struct mdadm_array *a;
  /* NUL bytes, control characters, binary junk, a huge line. */
  const char junk[] = "ARRAY /dev/md0\0 UUID=1:2\n\x01\x02\xff ARRAY\n"
                      "ARRAY /dev/m\x01" "d9 UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd\n";
  size_t n = inspect_parse_mdadm_conf (junk, sizeof junk - 1, 100, &a);
  assert_int_equal (n, 1);
  assert_string_equal (a[0].device, "/dev/m?d9");
  inspect_mdadm_free (a, n);

  size_t big = 4 * 1024 * 1024;
  char *s = malloc (big + 1);
  memset (s, ' ', big);
  memcpy (s, "ARRAY /dev/md0", 14);
  s[big] = '\0';
  assert_int_equal (inspect_parse_mdadm_conf (s, big, 100, &a), 0);
  inspect_mdadm_free (a, 0);
  free (s);

  /* The cap on the number of arrays. */
  char *many = malloc (100000 * 60);
  size_t len = 0;
  for (int i = 0; i < 100000; i++)
    len += (size_t) sprintf (many + len,
                             "ARRAY /dev/md%d UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd\n",
                             i);
  n = inspect_parse_mdadm_conf (many, len, 1000, &a);
  assert_int_equal (n, 1000);
  inspect_mdadm_free (a, n);
  free (many);

  assert_int_equal (parse ("", &a), 0);
  assert_null (a);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_uuid_forms),
    cmocka_unit_test (test_debian_conf),
    cmocka_unit_test (test_hostile),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
