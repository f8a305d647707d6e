/* Unit tests: src/block/crypt.c and src/stack/luks.c.
 *
 * The pure parts (IV arithmetic, cipher specs) and the crypt node against
 * vectors encrypted here with OpenSSL need nothing.  The container tests
 * build real LUKS1/LUKS2 images with tests/fixtures/make-luks.sh
 * (cryptsetup reencrypt --encrypt, offline, no dm) and skip when
 * cryptsetup is missing.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

#include "mem-bdev.h"
#include <openssl/evp.h>

#include "block/bdev.h"
#include "block/crypt.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/luks.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define MiB (1024u * 1024)
/* Must match tests/fixtures/make-luks.sh. */
#define PASS "luks: test passphrase"
#define PASS2 "second key:with:colons"
#define PLAIN_SIZE (8 * MiB)
#define IMG_SIZE (24 * MiB)
#define PAYLOAD_OFFSET (8 * MiB)

static char tmpdir[] = "/tmp/ngm-test-luks.XXXXXX";
static bool have_fixtures;
static unsigned char *plain; /* plain.fs */

static void
fill_random (unsigned char *buf, size_t len, uint64_t seed)
{
  uint64_t x = seed ? seed : 88172645463325252ull;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (unsigned char)(x >> 24);
  }
}

static char *
tmp_path (const char *rel)
{
  return xasprintf ("%s/%s", tmpdir, rel);
}

static unsigned char *
slurp (const char *path, size_t *ret_len)
{
  int fd = open (path, O_RDONLY);
  assert_true (fd >= 0);
  struct stat st;
  assert_int_equal (fstat (fd, &st), 0);
  unsigned char *buf = malloc ((size_t)st.st_size + 1);
  assert_non_null (buf);
  assert_int_equal (pread_full (fd, buf, (size_t)st.st_size, 0), 0);
  close (fd);
  *ret_len = (size_t)st.st_size;
  return buf;
}

/* The UUID of fixture NAME from OUT/env. */
static char *
fixture_uuid (const char *name)
{
  _cleanup_free_ char *env = tmp_path ("fx/env");
  size_t len;
  _cleanup_free_ unsigned char *text = slurp (env, &len);
  text[len] = '\0';
  _cleanup_free_ char *key = xasprintf ("UUID_%s=", name);
  for (char *p = key; *p; p++)
    if (*p == '-')
      *p = '_';
  char *hit = strstr ((char *)text, key);
  assert_non_null (hit);
  hit += strlen (key);
  return strndup (hit, strcspn (hit, "\n"));
}

/* ---- pure arithmetic ------------------------------------------------------
 */

static void
test_iv_sector (void **state)
{
  (void)state;
  assert_int_equal (bdev_crypt_iv_sector (0, 0), 0);
  assert_int_equal (bdev_crypt_iv_sector (512, 0), 1);
  /* 4096-byte sectors count in 512-byte units: sector k -> 8k. */
  assert_int_equal (bdev_crypt_iv_sector (4096, 0), 8);
  assert_int_equal (bdev_crypt_iv_sector (3 * 4096, 5), 29);
  assert_int_equal (bdev_crypt_iv_sector (UINT64_C (1) << 40, 0), UINT64_C (1)
                                                                      << 31);
  /* wraps like dm-crypt's u64 */
  assert_true (bdev_crypt_iv_sector (1024, UINT64_MAX) == 1);
}

static void
test_plain_iv (void **state)
{
  (void)state;
  uint8_t iv[16];
  const uint64_t s = UINT64_C (0x0102030405060708);

  assert_int_equal (bdev_crypt_plain_iv ("plain64", s, iv, 16), 0);
  const uint8_t want64[16] = { 8, 7, 6, 5, 4, 3, 2, 1 };
  assert_memory_equal (iv, want64, 16);

  /* plain: only the low 32 bits */
  assert_int_equal (bdev_crypt_plain_iv ("plain", s, iv, 16), 0);
  const uint8_t want32[16] = { 8, 7, 6, 5 };
  assert_memory_equal (iv, want32, 16);

  assert_int_equal (bdev_crypt_plain_iv ("plain64be", s, iv, 16), 0);
  const uint8_t wantbe[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
  assert_memory_equal (iv, wantbe, 16);

  assert_int_equal (bdev_crypt_plain_iv ("benbi", s, iv, 16), -EINVAL);
  assert_int_equal (bdev_crypt_plain_iv ("plain64", s, iv, 4), -EINVAL);
  assert_int_equal (bdev_crypt_plain_iv (NULL, s, iv, 16), -EINVAL);
}

static void
check_spec (const char *cipher, const char *mode, size_t ks, int want,
            const char *want_in_msg)
{
  char *msg = NULL;
  int r = bdev_crypt_check (cipher, mode, ks, &msg);
  assert_int_equal (r, want);
  if (want_in_msg) {
    assert_non_null (msg);
    if (!strstr (msg, want_in_msg))
      fail_msg ("message \"%s\" lacks \"%s\"", msg, want_in_msg);
  }
  free (msg);
}

static void
test_cipher_check (void **state)
{
  (void)state;
  check_spec ("aes", "xts-plain64", 64, 0, NULL);
  check_spec ("aes", "xts-plain64", 32, 0, NULL);
  check_spec ("aes", "xts-plain", 64, 0, NULL);
  check_spec ("aes", "cbc-essiv:sha256", 32, 0, NULL);
  check_spec ("aes", "cbc-essiv:sha256", 16, 0, NULL);
  check_spec ("aes", "cbc-plain64", 24, 0, NULL);
  check_spec ("aes", "cbc-plain64be", 32, 0, NULL);
  check_spec ("aes", "ecb", 32, 0, NULL);

  check_spec ("serpent", "xts-plain64", 64, -ENOTSUP,
              "unsupported cipher serpent-xts-plain64");
  check_spec ("twofish", "cbc-essiv:sha256", 32, -ENOTSUP,
              "twofish-cbc-essiv:sha256");
  check_spec ("aes", "xts-plain64", 48, -ENOTSUP, "384-bit key");
  check_spec ("aes", "cbc-plain64", 64, -ENOTSUP, "aes-cbc-plain64");
  check_spec ("aes", "cbc-lmk", 32, -ENOTSUP, "aes-cbc-lmk");
  check_spec ("aes", "xts-benbi", 64, -ENOTSUP, NULL);
  check_spec ("aes", "cbc", 32, -ENOTSUP, NULL);              /* no IV gen */
  check_spec ("aes", "cbc-essiv", 32, -ENOTSUP, NULL);        /* no hash */
  check_spec ("aes", "cbc-essiv:sha512", 32, -ENOTSUP, NULL); /* 64-byte salt */
  check_spec ("aes", "cbc-essiv:nosuchhash", 32, -ENOTSUP, NULL);
  check_spec ("aes", "cbc-plain64:x", 32, -ENOTSUP, NULL);
  check_spec ("aes:64", "cbc-lmk", 32, -ENOTSUP, NULL);
  check_spec ("capi:xts(aes)", "plain64", 64, -ENOTSUP, NULL);
  check_spec ("", "xts-plain64", 64, -EINVAL, NULL);
  check_spec ("aes", NULL, 64, -EINVAL, NULL);

  /* Hostile header strings: the message stays short and printable. */
  char hostile[4096];
  memset (hostile, 'A', sizeof hostile - 1);
  hostile[sizeof hostile - 1] = '\0';
  hostile[10] = '\n';
  hostile[11] = '\x1b';
  hostile[12] = '\xff';
  char *msg = NULL;
  assert_int_equal (bdev_crypt_check (hostile, hostile, 64, &msg), -ENOTSUP);
  assert_non_null (msg);
  assert_true (strlen (msg) < 200);
  for (const char *p = msg; *p; p++)
    assert_true ((unsigned char)*p >= 0x20 && *p != 0x7f);
  free (msg);
  assert_int_equal (bdev_crypt_check ("aes", hostile, 64, NULL), -ENOTSUP);
}

/* ---- the crypt node against vectors made here ------------------------- */

/* Reference encryption, written independently of crypt.c: one EVP
 * context per sector, IV built by hand. */
static void
ref_encrypt (const char *evp_name, const char *ivgen, const uint8_t *key,
             size_t key_size, unsigned ss, uint64_t iv_offset,
             unsigned char *data, size_t len)
{
  const EVP_CIPHER *c = EVP_get_cipherbyname (evp_name);
  assert_non_null (c);
  uint8_t salt[32];
  if (strcmp (ivgen, "essiv") == 0) {
    unsigned n = 0;
    assert_true (EVP_Digest (key, key_size, salt, &n, EVP_sha256 (), NULL));
  }
  for (size_t pos = 0; pos < len; pos += ss) {
    uint64_t s = pos / 512 + iv_offset;
    uint8_t iv[16] = { 0 };
    if (strcmp (ivgen, "plain") == 0)
      s &= 0xffffffffu;
    for (int i = 0; i < 8; i++)
      iv[i] = (uint8_t)(s >> (8 * i));
    if (strcmp (ivgen, "essiv") == 0) {
      EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new ();
      int outl;
      uint8_t in[16];
      memcpy (in, iv, 16);
      assert_true (
          EVP_EncryptInit_ex (e, EVP_aes_256_ecb (), NULL, salt, NULL));
      EVP_CIPHER_CTX_set_padding (e, 0);
      assert_true (EVP_EncryptUpdate (e, iv, &outl, in, 16));
      EVP_CIPHER_CTX_free (e);
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    int outl;
    assert_true (EVP_EncryptInit_ex (ctx, c, NULL, key, iv));
    EVP_CIPHER_CTX_set_padding (ctx, 0);
    assert_true (
        EVP_EncryptUpdate (ctx, data + pos, &outl, data + pos, (int)ss));
    assert_int_equal (outl, (int)ss);
    EVP_CIPHER_CTX_free (ctx);
  }
}

struct vector_case {
  const char *mode;
  const char *evp;
  const char *ivgen;
  size_t key_size;
  unsigned ss;
};

static const struct vector_case vector_cases[] = {
  { "xts-plain64", "aes-256-xts", "plain64", 64, 512 },
  { "xts-plain64", "aes-256-xts", "plain64", 64, 4096 },
  { "xts-plain64", "aes-128-xts", "plain64", 32, 1024 },
  { "xts-plain", "aes-256-xts", "plain", 64, 512 },
  { "cbc-plain64", "aes-256-cbc", "plain64", 32, 512 },
  { "cbc-plain64", "aes-128-cbc", "plain64", 16, 4096 },
  { "cbc-essiv:sha256", "aes-256-cbc", "essiv", 32, 512 },
  { "cbc-essiv:sha256", "aes-128-cbc", "essiv", 16, 4096 },
};

#define VEC_PAYLOAD (256 * 1024)
#define VEC_OFFSET 8192

static void
run_vector_case (const struct vector_case *vc, uint64_t iv_offset)
{
  uint8_t key[64];
  fill_random (key, sizeof key, 7 + vc->ss + vc->key_size);
  unsigned char *pt = malloc (VEC_PAYLOAD);
  fill_random (pt, VEC_PAYLOAD, 99);

  /* parent: 8 KiB header garbage, the ciphertext, 4 KiB trailing garbage */
  size_t total = VEC_OFFSET + VEC_PAYLOAD + 4096;
  unsigned char *disk = malloc (total);
  fill_random (disk, total, 5);
  memcpy (disk + VEC_OFFSET, pt, VEC_PAYLOAD);
  ref_encrypt (vc->evp, vc->ivgen, key, vc->key_size, vc->ss, iv_offset,
               disk + VEC_OFFSET, VEC_PAYLOAD);
  assert_memory_not_equal (disk + VEC_OFFSET, pt, 4096);

  struct bdev *parent = test_mem_bdev ("/dev/mem0", total, disk);
  struct bdev_crypt_params p = {
    .cipher = "aes",
    .mode = vc->mode,
    .key = key,
    .key_size = vc->key_size,
    .sector_size = vc->ss,
    .offset = VEC_OFFSET,
    .size = VEC_PAYLOAD,
    .iv_offset = iv_offset,
  };
  struct bdev *c = NULL;
  char *msg = NULL;
  assert_int_equal (
      bdev_crypt_new (parent, &p, false, "/dev/mapper/t", &c, &msg), 0);
  assert_null (msg);
  assert_int_equal (c->size, VEC_PAYLOAD);
  assert_int_equal (c->direct_fd, -1);
  assert_false (c->readonly);

  /* whole payload, aligned */
  unsigned char *out = malloc (VEC_PAYLOAD);
  assert_int_equal (bdev_pread (c, out, VEC_PAYLOAD, 0), 0);
  assert_memory_equal (out, pt, VEC_PAYLOAD);
  /* unaligned pieces, including the very last byte */
  const struct {
    uint64_t off;
    size_t len;
  } pieces[] = {
    { 1, 1 },       { 100, 5000 },          { 511, 2 },
    { 4095, 4098 }, { VEC_PAYLOAD - 1, 1 }, { 3, VEC_PAYLOAD - 3 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (pieces); i++) {
    memset (out, 0, VEC_PAYLOAD);
    assert_int_equal (bdev_pread (c, out, pieces[i].len, pieces[i].off), 0);
    assert_memory_equal (out, pt + pieces[i].off, pieces[i].len);
  }
  /* past the end */
  assert_int_equal (bdev_pread (c, out, 2, VEC_PAYLOAD - 1), -EIO);

  /* writes: aligned and read-modify-write; the parent must then hold
   * exactly what the reference encryption of the new plaintext gives */
  unsigned char *patch = malloc (20000);
  fill_random (patch, 20000, 1234);
  assert_int_equal (bdev_pwrite (c, patch, 8192, 8192), 0);
  memcpy (pt + 8192, patch, 8192);
  assert_int_equal (bdev_pwrite (c, patch + 7, 10001, 70001), 0);
  memcpy (pt + 70001, patch + 7, 10001);
  assert_int_equal (bdev_pwrite (c, patch, 1, VEC_PAYLOAD - 1), 0);
  pt[VEC_PAYLOAD - 1] = patch[0];

  unsigned char *want = malloc (VEC_PAYLOAD);
  memcpy (want, pt, VEC_PAYLOAD);
  ref_encrypt (vc->evp, vc->ivgen, key, vc->key_size, vc->ss, iv_offset, want,
               VEC_PAYLOAD);
  unsigned char *mbuf = test_mem_buf (parent);
  assert_memory_equal (mbuf + VEC_OFFSET, want, VEC_PAYLOAD);
  /* nothing outside the payload was touched */
  assert_memory_equal (mbuf, disk, VEC_OFFSET);
  assert_memory_equal (mbuf + VEC_OFFSET + VEC_PAYLOAD,
                       disk + VEC_OFFSET + VEC_PAYLOAD, 4096);
  assert_int_equal (bdev_pread (c, out, VEC_PAYLOAD, 0), 0);
  assert_memory_equal (out, pt, VEC_PAYLOAD);

  bdev_unref (c);
  bdev_unref (parent);
  free (want);
  free (patch);
  free (out);
  free (disk);
  free (pt);
}

static void
test_vectors (void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE (vector_cases); i++) {
    run_vector_case (&vector_cases[i], 0);
    run_vector_case (&vector_cases[i], 12345);
  }
}

static void
test_crypt_new_errors (void **state)
{
  (void)state;
  unsigned char disk[16384] = { 0 };
  uint8_t key[64] = { 1 };
  struct bdev *parent = test_mem_bdev ("/dev/mem0", sizeof disk, disk);
  struct bdev *c = NULL;
  char *msg = NULL;
  struct bdev_crypt_params p = {
    .cipher = "aes",
    .mode = "xts-plain64",
    .key = key,
    .key_size = 64,
    .sector_size = 512,
    .offset = 4096,
    .size = 12288,
  };

  p.sector_size = 1000;
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), -EINVAL);
  free (msg), msg = NULL;
  p.sector_size = 8192;
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), -EINVAL);
  free (msg), msg = NULL;
  p.sector_size = 4096;
  p.size = 12000; /* not whole sectors */
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), -EINVAL);
  free (msg), msg = NULL;
  p.size = 16384; /* past the parent's end */
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), -EINVAL);
  free (msg), msg = NULL;
  p.offset = UINT64_MAX - 100;
  p.size = 4096;
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), -EINVAL);
  free (msg), msg = NULL;
  p.offset = 4096;
  p.cipher = "serpent";
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), -ENOTSUP);
  assert_non_null (strstr (msg, "serpent-xts-plain64"));
  free (msg), msg = NULL;

  /* read-only: writes refused */
  p.cipher = "aes";
  assert_int_equal (bdev_crypt_new (parent, &p, true, "x", &c, &msg), 0);
  assert_true (c->readonly);
  assert_int_equal (bdev_pwrite (c, disk, 512, 0), -EROFS);
  bdev_unref (c);
  bdev_unref (parent);
}

/* Several threads reading random ranges at once must all see the right
 * plaintext (per-call cipher contexts). */
struct reader_arg {
  struct bdev *c;
  const unsigned char *pt;
  size_t size;
  unsigned seed;
  int bad;
};

static void *
reader (void *opaque)
{
  struct reader_arg *a = opaque;
  unsigned char *buf = malloc (65536);
  unsigned s = a->seed;
  for (int i = 0; i < 300; i++) {
    s = s * 1103515245 + 12345;
    size_t len = 1 + (s >> 8) % 65536;
    s = s * 1103515245 + 12345;
    uint64_t off = (s >> 4) % (a->size - len + 1);
    if (bdev_pread (a->c, buf, len, off) < 0
        || memcmp (buf, a->pt + off, len) != 0)
      a->bad++;
  }
  free (buf);
  return NULL;
}

static void
test_threads (void **state)
{
  (void)state;
  const size_t size = 1 * MiB;
  uint8_t key[64];
  fill_random (key, 64, 3);
  unsigned char *pt = malloc (size), *ct = malloc (size);
  fill_random (pt, size, 11);
  memcpy (ct, pt, size);
  ref_encrypt ("aes-256-xts", "plain64", key, 64, 4096, 0, ct, size);
  struct bdev *parent = test_mem_bdev ("/dev/mem0", size, ct);
  struct bdev_crypt_params p = {
    .cipher = "aes",
    .mode = "xts-plain64",
    .key = key,
    .key_size = 64,
    .sector_size = 4096,
    .offset = 0,
    .size = size,
  };
  struct bdev *c = NULL;
  assert_int_equal (bdev_crypt_new (parent, &p, true, "t", &c, NULL), 0);

  pthread_t th[4];
  struct reader_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (struct reader_arg){ c, pt, size, (unsigned)i + 1, 0 };
    assert_int_equal (pthread_create (&th[i], NULL, reader, &args[i]), 0);
  }
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join (th[i], NULL);
    bad += args[i].bad;
  }
  assert_int_equal (bad, 0);
  bdev_unref (c);
  bdev_unref (parent);
  free (pt);
  free (ct);
}

static void
test_secmem (void **state)
{
  (void)state;
  unsigned char *p = bdev_crypt_secmem_alloc (100);
  assert_non_null (p);
  for (int i = 0; i < 100; i++)
    assert_int_equal (p[i], 0);
  memset (p, 0xaa, 100);
  bdev_crypt_secmem_free (p, 100);
  bdev_crypt_secmem_free (NULL, 100);
}

/* ---- real containers ------------------------------------------------------
 */

#define SKIP_WITHOUT_FIXTURES()                                                \
  do {                                                                         \
    if (!have_fixtures) {                                                      \
      print_message ("cryptsetup not available: skipped\n");                   \
      skip ();                                                                 \
    }                                                                          \
  } while (0)

static void
sha256_file (const char *path, unsigned char out[32])
{
  size_t len;
  _cleanup_free_ unsigned char *buf = slurp (path, &len);
  unsigned n;
  assert_true (EVP_Digest (buf, len, out, &n, EVP_sha256 (), NULL));
}

/* Open fixture NAME (a file under fx/, or an absolute path) with keys;
 * returns luks_open's result. */
static int
open_fixture (const char *name, const char *const *keys, size_t n,
              bool readonly, struct bdev **ret_disk, struct bdev **ret,
              char **ret_msg)
{
  _cleanup_free_ char *path = name[0] == '/'
                                  ? xstrdup (name)
                                  : xasprintf ("%s/fx/%s.img", tmpdir, name);
  struct bdev *disk = NULL;
  char *msg = NULL;
  assert_int_equal (bdev_file_open (path, readonly, "/dev/sda2", &disk, &msg),
                    0);
  int r = luks_open (disk, path, "/dev/sda2", keys, n, readonly, ret, ret_msg);
  *ret_disk = disk;
  return r;
}

static void
check_container (const char *name, const char *key)
{
  _cleanup_free_ char *path = xasprintf ("%s/fx/%s.img", tmpdir, name);
  unsigned char before[32], after[32];
  sha256_file (path, before);

  const char *keys[] = { key };
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;
  int r = open_fixture (name, keys, 1, true, &disk, &c, &msg);
  if (r != 0)
    fail_msg ("%s: luks_open: %d %s", name, r, msg ? msg : "");

  _cleanup_free_ char *uuid = fixture_uuid (name);
  _cleanup_free_ char *want_name = xasprintf ("/dev/mapper/luks-%s", uuid);
  assert_string_equal (c->name, want_name);
  assert_int_equal (c->size, IMG_SIZE - PAYLOAD_OFFSET);
  assert_int_equal (c->direct_fd, -1);
  assert_true (c->readonly);

  /* byte-exact: the payload starts with the original filesystem */
  unsigned char *buf = malloc (PLAIN_SIZE);
  assert_int_equal (bdev_pread (c, buf, PLAIN_SIZE, 0), 0);
  assert_int_equal (buf[1080], 0x53); /* ext4 magic 0xEF53 */
  assert_int_equal (buf[1081], 0xef);
  if (memcmp (buf, plain, PLAIN_SIZE) != 0) {
    size_t i = 0;
    while (buf[i] == plain[i])
      i++;
    fail_msg ("%s: decrypted payload differs from plain.fs at byte %zu", name,
              i);
  }
  /* unaligned reads across sector boundaries */
  assert_int_equal (bdev_pread (c, buf, 10000, 4095), 0);
  assert_memory_equal (buf, plain + 4095, 10000);
  assert_int_equal (bdev_pread (c, buf, 3, 1079), 0);
  assert_memory_equal (buf, plain + 1079, 3);

  free (buf);
  bdev_unref (c);
  bdev_unref (disk);
  /* nothing was written to the image, not even a header repair */
  sha256_file (path, after);
  assert_memory_equal (before, after, 32);
}

static void
test_luks2_xts_pbkdf2 (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  check_container ("luks2-xts-pbkdf2", PASS);
  /* keyslot 1 */
  check_container ("luks2-xts-pbkdf2", PASS2);
}

static void
test_luks2_xts4k_argon2id (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  /* 4096-byte sectors: only right if IVs count 512-byte units */
  check_container ("luks2-xts4k-argon2id", PASS);
}

static void
test_luks2_variants (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  check_container ("luks2-xts-argon2i", PASS);
  check_container ("luks2-cbc-essiv", PASS);
  check_container ("luks2-cbc-plain64", PASS);
  check_container ("luks2-xts-plain", PASS);
}

static void
test_luks1 (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  check_container ("luks1-xts", PASS);
  check_container ("luks1-cbc-essiv", PASS);
}

static void
test_key_order (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  const char *keys[] = { "nope", "", PASS2, "never tried" };
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;
  assert_int_equal (
      open_fixture ("luks2-xts-pbkdf2", keys, 4, true, &disk, &c, &msg), 0);
  assert_null (msg);
  bdev_unref (c);
  bdev_unref (disk);
}

static void
test_wrong_key (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;

  const char *one[] = { "wrong secret" };
  assert_int_equal (
      open_fixture ("luks2-xts-argon2i", one, 1, true, &disk, &c, &msg),
      -EPERM);
  assert_string_equal (msg, "wrong passphrase for /dev/sda2");
  assert_null (c);
  free (msg), msg = NULL;
  bdev_unref (disk);

  const char *two[] = { "wrong secret", "other wrong secret" };
  assert_int_equal (open_fixture ("luks1-xts", two, 2, true, &disk, &c, &msg),
                    -EPERM);
  assert_string_equal (msg, "wrong passphrase for /dev/sda2 (2 keys tried)");
  free (msg), msg = NULL;
  bdev_unref (disk);

  assert_int_equal (open_fixture ("luks1-xts", NULL, 0, true, &disk, &c, &msg),
                    -EPERM);
  assert_string_equal (msg, "no key given for /dev/sda2 (use --key or "
                            "--keys-from-stdin)");
  free (msg);
  bdev_unref (disk);
}

/* Copy fixture NAME to a scratch file, run patch on its bytes. */
static char *
patched_copy (const char *name, void (*patch) (unsigned char *, size_t))
{
  _cleanup_free_ char *src = xasprintf ("%s/fx/%s.img", tmpdir, name);
  char *dst = xasprintf ("%s/patched-%s.img", tmpdir, name);
  size_t len;
  _cleanup_free_ unsigned char *buf = slurp (src, &len);
  patch (buf, len);
  int fd = open (dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (pwrite_full (fd, buf, len, 0), 0);
  close (fd);
  return dst;
}

static void
smash_primary (unsigned char *buf, size_t len)
{
  (void)len;
  fill_random (buf, 4096, 77);
}

static void
smash_both (unsigned char *buf, size_t len)
{
  (void)len;
  fill_random (buf, 4096, 77);
  fill_random (buf + 16384, 4096, 78); /* LUKS2 secondary header */
}

static void
smash_json (unsigned char *buf, size_t len)
{
  (void)len;
  /* flip bytes in the JSON area of both copies: checksums fail */
  buf[4096 + 10] ^= 0x55;
  buf[16384 + 4096 + 10] ^= 0x55;
}

static void
luks1_bad_magic (unsigned char *buf, size_t len)
{
  (void)len;
  buf[0] = 'X';
}

static void
luks1_twofish (unsigned char *buf, size_t len)
{
  (void)len;
  /* LUKS1 cipher-name field: 32 bytes at offset 8, no checksum */
  memset (buf + 8, 0, 32);
  memcpy (buf + 8, "twofish", 7);
}

static void
luks1_huge_offset (unsigned char *buf, size_t len)
{
  (void)len;
  /* payload offset (sectors, big endian) at byte 104 */
  buf[104] = 0x7f;
  buf[105] = 0xff;
}

static void
expect_open_error (const char *path, int want, const char *want_msg)
{
  const char *keys[] = { PASS };
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;
  int r = open_fixture (path, keys, 1, true, &disk, &c, &msg);
  if (r != want)
    fail_msg ("%s: got %d (%s), want %d", path, r, msg ? msg : "", want);
  assert_null (c);
  assert_non_null (msg);
  if (!strstr (msg, want_msg))
    fail_msg ("message \"%s\" lacks \"%s\"", msg, want_msg);
  assert_null (strstr (msg, PASS));
  free (msg);
  bdev_unref (disk);
}

static void
test_corrupt_header (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();

  /* LUKS2 keeps two metadata copies: a broken primary is survivable. */
  _cleanup_free_ char *p1 = patched_copy ("luks2-xts-pbkdf2", smash_primary);
  const char *keys[] = { PASS };
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;
  assert_int_equal (open_fixture (p1, keys, 1, true, &disk, &c, &msg), 0);
  unsigned char sb[2];
  assert_int_equal (bdev_pread (c, sb, 2, 1080), 0);
  assert_int_equal (sb[0], 0x53);
  bdev_unref (c);
  bdev_unref (disk);

  _cleanup_free_ char *p2 = patched_copy ("luks2-xts-pbkdf2", smash_both);
  expect_open_error (p2, -EINVAL, "/dev/sda2: corrupt LUKS header: ");
  _cleanup_free_ char *p3 = patched_copy ("luks2-cbc-essiv", smash_json);
  expect_open_error (p3, -EINVAL, "/dev/sda2: corrupt LUKS header: ");
  _cleanup_free_ char *p4 = patched_copy ("luks1-xts", luks1_bad_magic);
  expect_open_error (p4, -EINVAL, "/dev/sda2: corrupt LUKS header: ");
  _cleanup_free_ char *p5 = patched_copy ("luks1-xts", luks1_huge_offset);
  expect_open_error (p5, -EINVAL, "/dev/sda2: corrupt LUKS header");
  /* the message names the guest device, not the host path */
  {
    struct bdev *d2 = NULL, *c2 = NULL;
    char *m = NULL;
    assert_int_equal (open_fixture (p2, keys, 1, true, &d2, &c2, &m), -EINVAL);
    assert_null (strstr (m, tmpdir));
    free (m);
    bdev_unref (d2);
  }

  /* not LUKS at all */
  _cleanup_free_ char *plainfs = tmp_path ("fx/plain.fs");
  expect_open_error (plainfs, -EINVAL, "corrupt LUKS header");
  assert_null (luks_uuid (plainfs));
}

static void
test_unsupported_cipher (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  _cleanup_free_ char *serpent = tmp_path ("fx/luks2-serpent.img");
  expect_open_error (serpent, -ENOTSUP,
                     "/dev/sda2: unsupported cipher serpent-xts-plain64");
  char *msg = NULL;
  assert_int_equal (luks_check (serpent, "/dev/sdb1", NULL, &msg), -ENOTSUP);
  assert_string_equal (msg,
                       "/dev/sdb1: unsupported cipher serpent-xts-plain64");
  free (msg);

  _cleanup_free_ char *tf = patched_copy ("luks1-xts", luks1_twofish);
  expect_open_error (tf, -ENOTSUP, "unsupported cipher twofish-xts-plain64");
}

static void
test_uuid (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  const char *names[] = { "luks2-xts-pbkdf2", "luks1-cbc-essiv" };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++) {
    _cleanup_free_ char *path = xasprintf ("%s/fx/%s.img", tmpdir, names[i]);
    _cleanup_free_ char *want = fixture_uuid (names[i]);
    _cleanup_free_ char *got = luks_uuid (path);
    assert_non_null (got);
    assert_string_equal (got, want);
    char *u = NULL;
    assert_int_equal (luks_check (path, "/dev/sda2", &u, NULL), 0);
    assert_string_equal (u, want);
    free (u);
  }
  assert_null (luks_uuid ("/nonexistent/file"));
}

static void
test_read_write (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  _cleanup_free_ char *src = tmp_path ("fx/luks2-xts4k-argon2id.img");
  _cleanup_free_ char *path = tmp_path ("rw.img");
  size_t len;
  {
    _cleanup_free_ unsigned char *img = slurp (src, &len);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal (pwrite_full (fd, img, len, 0), 0);
    close (fd);
  }

  const char *keys[] = { PASS };
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;
  assert_int_equal (open_fixture (path, keys, 1, false, &disk, &c, &msg), 0);
  assert_false (c->readonly);
  unsigned char data[9000];
  fill_random (data, sizeof data, 4242);
  assert_int_equal (bdev_pwrite (c, data, sizeof data, 3 * MiB + 123), 0);
  assert_int_equal (bdev_flush (c), 0);
  bdev_unref (c);
  bdev_unref (disk);

  /* reopen: the new bytes, and the rest of the filesystem intact */
  assert_int_equal (open_fixture (path, keys, 1, true, &disk, &c, &msg), 0);
  unsigned char *buf = malloc (PLAIN_SIZE);
  assert_int_equal (bdev_pread (c, buf, PLAIN_SIZE, 0), 0);
  assert_memory_equal (buf + 3 * MiB + 123, data, sizeof data);
  assert_memory_equal (buf, plain, 3 * MiB + 123);
  assert_memory_equal (buf + 3 * MiB + 123 + sizeof data,
                       plain + 3 * MiB + 123 + sizeof data,
                       PLAIN_SIZE - 3 * MiB - 123 - sizeof data);
  free (buf);
  bdev_unref (c);
  bdev_unref (disk);
}

/* With every debug category on, nothing logged during luks_open may
 * contain a passphrase, right or wrong. */
static void
test_no_secret_in_log (void **state)
{
  (void)state;
  SKIP_WITHOUT_FIXTURES ();
  _cleanup_free_ char *logpath = tmp_path ("debug.log");
  fflush (stderr);
  int saved = dup (2);
  int fd = open (logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true (fd >= 0 && saved >= 0);
  dup2 (fd, 2);
  close (fd);
  log_init (true);

  const char *keys[] = { "WrongSecret-1", PASS };
  struct bdev *disk = NULL, *c = NULL;
  char *msg = NULL;
  int r = open_fixture ("luks1-cbc-essiv", keys, 2, true, &disk, &c, &msg);
  bdev_unref (c);
  bdev_unref (disk);
  const char *bad[] = { "WrongSecret-2" };
  int r2 = open_fixture ("luks2-xts-pbkdf2", bad, 1, true, &disk, &c, &msg);
  bdev_unref (disk);
  free (msg);

  fflush (stderr);
  dup2 (saved, 2);
  close (saved);
  log_init (false);
  assert_int_equal (r, 0);
  assert_int_equal (r2, -EPERM);

  size_t len;
  _cleanup_free_ unsigned char *text = slurp (logpath, &len);
  text[len] = '\0';
  assert_true (len > 0); /* debug logging did happen */
  assert_non_null (strstr ((char *)text, "libcryptsetup"));
  assert_null (strstr ((char *)text, "WrongSecret"));
  assert_null (strstr ((char *)text, PASS));
}

/* ---- setup ------------------------------------------------------------ */

static int
setup (void **state)
{
  (void)state;
  if (!mkdtemp (tmpdir))
    return -1;
  if (!find_program ("cryptsetup", NULL) || !find_program ("python3", NULL)
      || !find_program ("mkfs.ext4", NULL)) {
    fprintf (stderr, "test-luks: cryptsetup, python3 or mkfs.ext4 missing: "
                     "container tests skipped\n");
    return 0;
  }
  const char *srcdir = getenv ("top_srcdir");
  if (!srcdir)
    srcdir = TOP_SRCDIR;
  _cleanup_free_ char *cmd
      = xasprintf ("bash '%s/tests/fixtures/make-luks.sh' '%s/fx' >'%s/fx.log' "
                   "2>&1",
                   srcdir, tmpdir, tmpdir);
  if (system (cmd) != 0) {
    _cleanup_free_ char *cat = xasprintf ("cat '%s/fx.log' >&2", tmpdir);
    if (system (cat) != 0) { /* nothing more to show */
    }
    fprintf (stderr, "test-luks: make-luks.sh failed\n");
    return -1;
  }
  _cleanup_free_ char *pf = tmp_path ("fx/plain.fs");
  size_t len;
  plain = slurp (pf, &len);
  if (len != PLAIN_SIZE)
    return -1;
  have_fixtures = true;
  return 0;
}

static int
teardown (void **state)
{
  (void)state;
  free (plain);
  _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

int
main (void)
{
  log_init (false);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_iv_sector),
    cmocka_unit_test (test_plain_iv),
    cmocka_unit_test (test_cipher_check),
    cmocka_unit_test (test_vectors),
    cmocka_unit_test (test_crypt_new_errors),
    cmocka_unit_test (test_threads),
    cmocka_unit_test (test_secmem),
    cmocka_unit_test (test_luks2_xts_pbkdf2),
    cmocka_unit_test (test_luks2_xts4k_argon2id),
    cmocka_unit_test (test_luks2_variants),
    cmocka_unit_test (test_luks1),
    cmocka_unit_test (test_key_order),
    cmocka_unit_test (test_wrong_key),
    cmocka_unit_test (test_corrupt_header),
    cmocka_unit_test (test_unsupported_cipher),
    cmocka_unit_test (test_uuid),
    cmocka_unit_test (test_read_write),
    cmocka_unit_test (test_no_secret_in_log),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
