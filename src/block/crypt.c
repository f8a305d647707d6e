/* nguestmount: dm-crypt compatible sector encryption with OpenSSL (see
 * crypt.h for the format and the supported ciphers).
 *
 * Thread model: the node's immutable state (fetched EVP_CIPHER objects,
 * key, salt) is shared read-only; every pread/pwrite creates its own
 * EVP_CIPHER_CTX, keys it once and only resets the IV per sector.  Writes
 * that cover part of an encryption sector take rmw_lock for the whole
 * request so two such writes to one sector cannot lose each other's data.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "block/bdev.h"
#include "block/crypt.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

/* Largest bounce buffer (a multiple of every sector size). */
#define CRYPT_CHUNK (1024u * 1024)
#define CRYPT_MAX_KEY 64
#define CRYPT_MAX_IV 16

enum crypt_ivgen {
  IVGEN_NONE, /* ecb: no IV at all */
  IVGEN_NULL, /* all zero */
  IVGEN_PLAIN,
  IVGEN_PLAIN64,
  IVGEN_PLAIN64BE,
  IVGEN_ESSIV,
};

/* What a cipher spec resolves to.  The EVP objects are owned. */
struct crypt_spec {
  EVP_CIPHER *evp;       /* data cipher */
  EVP_CIPHER *essiv_evp; /* ESSIV: block cipher keyed by the salt */
  EVP_MD *essiv_md;      /* ESSIV: the hash of the key */
  enum crypt_ivgen ivgen;
  size_t iv_len;
};

struct crypt_data {
  struct bdev *parent;
  struct crypt_spec spec;
  uint8_t *key; /* secmem, key_alloc bytes */
  size_t key_size;
  size_t key_alloc;
  uint8_t *salt; /* secmem (ESSIV only), key_alloc bytes */
  size_t salt_size;
  unsigned sector_size;
  uint64_t offset;
  uint64_t iv_offset;
  pthread_mutex_t rmw_lock;
};

/* ---- locked memory ----------------------------------------------------- */

static size_t
secmem_round (size_t size)
{
  size_t page = (size_t)sysconf (_SC_PAGESIZE);
  if (size == 0)
    size = 1;
  return (size + page - 1) / page * page;
}

void *
bdev_crypt_secmem_alloc (size_t size)
{
  size_t len = secmem_round (size);
  void *p = mmap (NULL, len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  if (mlock (p, len) < 0) {
    /* Not fatal: RLIMIT_MEMLOCK may be tiny for an unprivileged user.
     * The memory is still excluded from core dumps and wiped on free. */
    log_debug (LOG_CAT_BLOCK, "mlock of %zu bytes of key memory: %m", len);
  }
  (void)madvise (p, len, MADV_DONTDUMP);
  (void)madvise (p, len, MADV_DONTFORK);
  return p;
}

void
bdev_crypt_secmem_free (void *p, size_t size)
{
  if (!p)
    return;
  size_t len = secmem_round (size);
  OPENSSL_cleanse (p, len);
  (void)munlock (p, len);
  (void)munmap (p, len);
}

/* ---- IV arithmetic ------------------------------------------------------ */

uint64_t
bdev_crypt_iv_sector (uint64_t payload_offset, uint64_t iv_offset)
{
  /* 512-byte units whatever the encryption sector size (no
   * iv_large_sectors); wraps modulo 2^64 like dm-crypt's u64. */
  return (payload_offset >> 9) + iv_offset;
}

int
bdev_crypt_plain_iv (const char *name, uint64_t s, uint8_t *iv, size_t iv_len)
{
  if (!name || !iv || iv_len < 8)
    return -EINVAL;
  memset (iv, 0, iv_len);
  if (strcmp (name, "plain") == 0) {
    for (unsigned i = 0; i < 4; i++)
      iv[i] = (uint8_t)(s >> (8 * i));
  }
  else if (strcmp (name, "plain64") == 0) {
    for (unsigned i = 0; i < 8; i++)
      iv[i] = (uint8_t)(s >> (8 * i));
  }
  else if (strcmp (name, "plain64be") == 0) {
    for (unsigned i = 0; i < 8; i++)
      iv[iv_len - 1 - i] = (uint8_t)(s >> (8 * i));
  }
  else
    return -EINVAL;
  return 0;
}

/* ---- cipher specs ---------------------------------------------------------
 */

static void
crypt_spec_clear (struct crypt_spec *s)
{
  EVP_CIPHER_free (s->evp);
  EVP_CIPHER_free (s->essiv_evp);
  EVP_MD_free (s->essiv_md);
  memset (s, 0, sizeof *s);
}

static EVP_CIPHER *
fetch_aes (const char *chain, size_t key_bits)
{
  char name[32];
  snprintf (name, sizeof name, "AES-%zu-%s", key_bits, chain);
  EVP_CIPHER *c = EVP_CIPHER_fetch (NULL, name, NULL);
  if (!c) {
    log_debug (LOG_CAT_BLOCK, "OpenSSL has no %s", name);
    ERR_clear_error ();
  }
  return c;
}

/* Resolve cipher + mode + key size.  The messages name the whole spec the
 * way cryptsetup prints it ("aes-xts-plain64"). */
static int
crypt_spec_resolve (const char *cipher, const char *mode, size_t key_size,
                    struct crypt_spec *ret, char **ret_msg)
{
  struct crypt_spec s = { 0 };

  if (!cipher || !*cipher || !mode || !*mode)
    return set_errmsg (ret_msg, -EINVAL, "empty cipher specification");

  /* Show at most a sane amount of a (possibly hostile) header string. */
  _cleanup_free_ char *shown = NULL;
  {
    _cleanup_free_ char *raw = xasprintf ("%s-%s", cipher, mode);
    shown = sanitize_string (raw, 96);
  }

  if (strcmp (cipher, "aes") != 0)
    return set_errmsg (ret_msg, -ENOTSUP, "unsupported cipher %s", shown);

  /* mode = chain[-ivgen[:ivopts]] */
  char chain[16];
  const char *dash = strchr (mode, '-');
  size_t chain_len = dash ? (size_t)(dash - mode) : strlen (mode);
  if (chain_len == 0 || chain_len >= sizeof chain)
    return set_errmsg (ret_msg, -ENOTSUP, "unsupported cipher %s", shown);
  memcpy (chain, mode, chain_len);
  chain[chain_len] = '\0';
  const char *ivspec = dash ? dash + 1 : NULL;

  char ivgen[16] = "";
  const char *ivopts = NULL;
  if (ivspec) {
    const char *colon = strchr (ivspec, ':');
    size_t n = colon ? (size_t)(colon - ivspec) : strlen (ivspec);
    if (n == 0 || n >= sizeof ivgen)
      return set_errmsg (ret_msg, -ENOTSUP, "unsupported cipher %s", shown);
    memcpy (ivgen, ivspec, n);
    ivgen[n] = '\0';
    ivopts = colon ? colon + 1 : NULL;
  }

  size_t key_bits = key_size * 8;
  if (strcmp (chain, "xts") == 0) {
    if (key_size != 32 && key_size != 64)
      return set_errmsg (ret_msg, -ENOTSUP,
                         "unsupported cipher %s with a %zu-bit key", shown,
                         key_bits);
    s.evp = fetch_aes ("XTS", key_bits / 2);
  }
  else if (strcmp (chain, "cbc") == 0 || strcmp (chain, "ecb") == 0) {
    if (key_size != 16 && key_size != 24 && key_size != 32)
      return set_errmsg (ret_msg, -ENOTSUP,
                         "unsupported cipher %s with a %zu-bit key", shown,
                         key_bits);
    s.evp = fetch_aes (chain[0] == 'c' ? "CBC" : "ECB", key_bits);
  }
  else
    return set_errmsg (ret_msg, -ENOTSUP, "unsupported cipher %s", shown);
  if (!s.evp)
    return set_errmsg (ret_msg, -ENOTSUP,
                       "unsupported cipher %s (not available in OpenSSL)",
                       shown);

  int r = 0;
  if (strcmp (chain, "ecb") == 0) {
    if (ivspec && strcmp (ivspec, "null") != 0)
      r = -ENOTSUP;
    s.ivgen = IVGEN_NONE;
  }
  else if (!ivspec)
    r = -ENOTSUP; /* cbc/xts need an IV generator */
  else if (strcmp (ivgen, "plain") == 0 && !ivopts)
    s.ivgen = IVGEN_PLAIN;
  else if (strcmp (ivgen, "plain64") == 0 && !ivopts)
    s.ivgen = IVGEN_PLAIN64;
  else if (strcmp (ivgen, "plain64be") == 0 && !ivopts)
    s.ivgen = IVGEN_PLAIN64BE;
  else if (strcmp (ivgen, "null") == 0 && !ivopts)
    s.ivgen = IVGEN_NULL;
  else if (strcmp (ivgen, "essiv") == 0 && ivopts && *ivopts) {
    s.ivgen = IVGEN_ESSIV;
    s.essiv_md = EVP_MD_fetch (NULL, ivopts, NULL);
    if (!s.essiv_md) {
      ERR_clear_error ();
      r = -ENOTSUP;
    }
    else {
      /* The salt (the digest of the key) keys the same block cipher in
       * ECB mode, so its size must be a valid AES key size. */
      int md_size = EVP_MD_get_size (s.essiv_md);
      if (md_size == 16 || md_size == 24 || md_size == 32)
        s.essiv_evp = fetch_aes ("ECB", (size_t)md_size * 8);
      if (!s.essiv_evp)
        r = -ENOTSUP;
    }
  }
  else
    r = -ENOTSUP;
  if (r < 0) {
    crypt_spec_clear (&s);
    return set_errmsg (ret_msg, r, "unsupported cipher %s", shown);
  }

  s.iv_len
      = s.ivgen == IVGEN_NONE ? 0 : (size_t)EVP_CIPHER_get_iv_length (s.evp);
  if (s.ivgen != IVGEN_NONE && (s.iv_len < 8 || s.iv_len > CRYPT_MAX_IV)) {
    crypt_spec_clear (&s);
    return set_errmsg (ret_msg, -ENOTSUP, "unsupported cipher %s", shown);
  }
  *ret = s;
  return 0;
}

int
bdev_crypt_check (const char *cipher, const char *mode, size_t key_size,
                  char **ret_msg)
{
  struct crypt_spec s;
  int r = crypt_spec_resolve (cipher, mode, key_size, &s, ret_msg);
  if (r < 0)
    return r;
  crypt_spec_clear (&s);
  return 0;
}

/* ---- the transform --------------------------------------------------------
 */

static int
ossl_error (const char *what)
{
  unsigned long e = ERR_get_error ();
  char buf[256] = "";
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  log_debug (LOG_CAT_BLOCK, "crypt: %s failed: %s", what, buf);
  return -EIO;
}

/* Compute the IV of the sector at payload byte offset off. */
static int
crypt_make_iv (const struct crypt_data *d, EVP_CIPHER_CTX *essiv_ctx,
               uint64_t off, uint8_t *iv)
{
  uint64_t s = bdev_crypt_iv_sector (off, d->iv_offset);
  size_t n = d->spec.iv_len;

  switch (d->spec.ivgen) {
  case IVGEN_NONE:
    return 0;
  case IVGEN_NULL:
    memset (iv, 0, n);
    return 0;
  case IVGEN_PLAIN:
    return bdev_crypt_plain_iv ("plain", s, iv, n);
  case IVGEN_PLAIN64:
    return bdev_crypt_plain_iv ("plain64", s, iv, n);
  case IVGEN_PLAIN64BE:
    return bdev_crypt_plain_iv ("plain64be", s, iv, n);
  case IVGEN_ESSIV: {
    /* IV = E_salt (plain64 (s)), one block of the ECB cipher. */
    uint8_t in[CRYPT_MAX_IV];
    int outl = 0;
    bdev_crypt_plain_iv ("plain64", s, in, n);
    if (!EVP_EncryptUpdate (essiv_ctx, iv, &outl, in, (int)n)
        || (size_t)outl != n)
      return ossl_error ("ESSIV");
    return 0;
  }
  }
  return -EINVAL;
}

/* En- or decrypt len bytes (whole sectors) in place; data holds the
 * sectors starting at payload byte offset off. */
static int
crypt_xform (struct crypt_data *d, int enc, uint8_t *data, size_t len,
             uint64_t off)
{
  const unsigned ss = d->sector_size;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  EVP_CIPHER_CTX *ectx = NULL;
  int r = 0;

  if (!ctx)
    return -ENOMEM;
  if (!EVP_CipherInit_ex2 (ctx, d->spec.evp, d->key, NULL, enc, NULL)) {
    r = ossl_error ("cipher init");
    goto out;
  }
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  if (d->spec.ivgen == IVGEN_ESSIV) {
    ectx = EVP_CIPHER_CTX_new ();
    if (!ectx) {
      r = -ENOMEM;
      goto out;
    }
    if (!EVP_EncryptInit_ex2 (ectx, d->spec.essiv_evp, d->salt, NULL, NULL)) {
      r = ossl_error ("ESSIV init");
      goto out;
    }
    EVP_CIPHER_CTX_set_padding (ectx, 0);
  }

  for (size_t pos = 0; pos < len; pos += ss) {
    uint8_t iv[CRYPT_MAX_IV];
    int outl = 0;

    if (d->spec.ivgen != IVGEN_NONE) {
      r = crypt_make_iv (d, ectx, off + pos, iv);
      if (r < 0)
        goto out;
      if (!EVP_CipherInit_ex2 (ctx, NULL, NULL, iv, enc, NULL)) {
        r = ossl_error ("IV setup");
        goto out;
      }
    }
    if (!EVP_CipherUpdate (ctx, data + pos, &outl, data + pos, (int)ss)
        || (unsigned)outl != ss) {
      r = ossl_error (enc ? "encrypt" : "decrypt");
      goto out;
    }
  }

out:
  EVP_CIPHER_CTX_free (ctx); /* cleanses the key schedule */
  EVP_CIPHER_CTX_free (ectx);
  return r;
}

/* ---- bdev ops ------------------------------------------------------------ */

static void
wipe_free (void *p, size_t len)
{
  if (p) {
    OPENSSL_cleanse (p, len);
    free (p);
  }
}

static int
crypt_pread (struct bdev *b, void *buf, size_t count, uint64_t offset)
{
  struct crypt_data *d = b->data;
  const uint64_t ss = d->sector_size;
  int r;

  /* Aligned: decrypt in the caller's buffer. */
  if (offset % ss == 0 && count % ss == 0) {
    r = bdev_pread (d->parent, buf, count, d->offset + offset);
    if (r < 0)
      return r;
    return crypt_xform (d, 0, buf, count, offset);
  }

  /* Unaligned: whole sectors through a bounce buffer.  The payload size
   * is a multiple of ss, so rounding up never leaves the node. */
  uint64_t first = offset / ss * ss;
  uint64_t end = (offset + count + ss - 1) / ss * ss;
  size_t bounce_len = end - first < CRYPT_CHUNK ? end - first : CRYPT_CHUNK;
  uint8_t *bounce = malloc (bounce_len);
  if (!bounce)
    return -ENOMEM;

  uint8_t *out = buf;
  uint64_t pos = offset;
  size_t remaining = count;
  r = 0;
  while (remaining > 0) {
    uint64_t sec = pos / ss * ss;
    uint64_t want_end = (pos + remaining + ss - 1) / ss * ss;
    size_t len = want_end - sec < bounce_len ? want_end - sec : bounce_len;
    r = bdev_pread (d->parent, bounce, len, d->offset + sec);
    if (r < 0)
      break;
    r = crypt_xform (d, 0, bounce, len, sec);
    if (r < 0)
      break;
    size_t skip = pos - sec;
    size_t n = len - skip < remaining ? len - skip : remaining;
    memcpy (out, bounce + skip, n);
    out += n;
    pos += n;
    remaining -= n;
  }
  wipe_free (bounce, bounce_len);
  return r;
}

static int
crypt_pwrite (struct bdev *b, const void *buf, size_t count, uint64_t offset)
{
  struct crypt_data *d = b->data;
  const uint64_t ss = d->sector_size;
  bool aligned = offset % ss == 0 && count % ss == 0;
  uint64_t first = offset / ss * ss;
  uint64_t end = (offset + count + ss - 1) / ss * ss;
  size_t bounce_len = end - first < CRYPT_CHUNK ? end - first : CRYPT_CHUNK;
  uint8_t *bounce = malloc (bounce_len);
  int r = 0;

  if (!bounce)
    return -ENOMEM;
  if (!aligned)
    pthread_mutex_lock (&d->rmw_lock);

  const uint8_t *in = buf;
  uint64_t pos = offset;
  size_t remaining = count;
  while (remaining > 0) {
    uint64_t sec = pos / ss * ss;
    uint64_t want_end = (pos + remaining + ss - 1) / ss * ss;
    size_t len = want_end - sec < bounce_len ? want_end - sec : bounce_len;
    size_t skip = pos - sec;
    size_t n = len - skip < remaining ? len - skip : remaining;

    if (skip != 0 || n != len) {
      /* Partly covered: keep the rest of the sectors' plaintext. */
      r = bdev_pread (d->parent, bounce, len, d->offset + sec);
      if (r < 0)
        break;
      r = crypt_xform (d, 0, bounce, len, sec);
      if (r < 0)
        break;
    }
    memcpy (bounce + skip, in, n);
    r = crypt_xform (d, 1, bounce, len, sec);
    if (r < 0)
      break;
    r = bdev_pwrite (d->parent, bounce, len, d->offset + sec);
    if (r < 0)
      break;
    in += n;
    pos += n;
    remaining -= n;
  }

  if (!aligned)
    pthread_mutex_unlock (&d->rmw_lock);
  wipe_free (bounce, bounce_len);
  return r;
}

static int
crypt_flush (struct bdev *b)
{
  struct crypt_data *d = b->data;
  return bdev_flush (d->parent);
}

static void
crypt_destroy (struct bdev *b)
{
  struct crypt_data *d = b->data;
  if (!d)
    return;
  bdev_unref (d->parent);
  crypt_spec_clear (&d->spec);
  bdev_crypt_secmem_free (d->key, d->key_alloc);
  bdev_crypt_secmem_free (d->salt, d->key_alloc);
  pthread_mutex_destroy (&d->rmw_lock);
  free (d);
}

static const struct bdev_ops crypt_ops_ro = {
  .kind = "crypt",
  .pread = crypt_pread,
  .destroy = crypt_destroy,
};

static const struct bdev_ops crypt_ops_rw = {
  .kind = "crypt",
  .pread = crypt_pread,
  .pwrite = crypt_pwrite,
  .flush = crypt_flush,
  .destroy = crypt_destroy,
};

int
bdev_crypt_new (struct bdev *parent, const struct bdev_crypt_params *p,
                bool readonly, const char *name, struct bdev **ret,
                char **ret_msg)
{
  if (!parent || !p || !ret)
    return -EINVAL;

  unsigned ss = p->sector_size;
  if (ss < 512 || ss > 4096 || (ss & (ss - 1)) != 0)
    return set_errmsg (ret_msg, -EINVAL, "invalid encryption sector size %u",
                       ss);
  if (p->size % ss != 0)
    return set_errmsg (ret_msg, -EINVAL,
                       "payload size %" PRIu64 " is not a multiple of the "
                       "%u-byte encryption sector",
                       p->size, ss);
  if (p->offset > parent->size || p->size > parent->size - p->offset)
    return set_errmsg (ret_msg, -EINVAL,
                       "payload [%" PRIu64 ", +%" PRIu64 ") lies outside "
                       "%s (%" PRIu64 " bytes)",
                       p->offset, p->size, parent->name, parent->size);
  if (!p->key || p->key_size == 0 || p->key_size > CRYPT_MAX_KEY)
    return set_errmsg (ret_msg, -EINVAL, "invalid volume key size %zu",
                       p->key_size);

  struct crypt_data *d = xcalloc (1, sizeof *d);
  int r
      = crypt_spec_resolve (p->cipher, p->mode, p->key_size, &d->spec, ret_msg);
  if (r < 0) {
    free (d);
    return r;
  }
  d->key_alloc = CRYPT_MAX_KEY;
  d->key = bdev_crypt_secmem_alloc (d->key_alloc);
  if (!d->key) {
    crypt_spec_clear (&d->spec);
    free (d);
    return set_errmsg (ret_msg, -ENOMEM, "cannot allocate key memory");
  }
  memcpy (d->key, p->key, p->key_size);
  d->key_size = p->key_size;

  if (d->spec.ivgen == IVGEN_ESSIV) {
    unsigned int md_len = 0;
    d->salt = bdev_crypt_secmem_alloc (d->key_alloc);
    if (!d->salt
        || !EVP_Digest (d->key, d->key_size, d->salt, &md_len, d->spec.essiv_md,
                        NULL)) {
      ERR_clear_error ();
      bdev_crypt_secmem_free (d->salt, d->key_alloc);
      bdev_crypt_secmem_free (d->key, d->key_alloc);
      crypt_spec_clear (&d->spec);
      free (d);
      return set_errmsg (ret_msg, -EIO, "cannot compute the ESSIV salt");
    }
    d->salt_size = md_len;
  }

  d->parent = bdev_ref (parent);
  d->sector_size = ss;
  d->offset = p->offset;
  d->iv_offset = p->iv_offset;
  pthread_mutex_init (&d->rmw_lock, NULL);

  bool ro = readonly || parent->readonly;
  struct bdev *b
      = bdev_new (ro ? &crypt_ops_ro : &crypt_ops_rw, name, p->size, ro, d);
  /* direct_fd stays -1: the kernel cannot read plaintext from the parent. */
  log_debug (LOG_CAT_BLOCK,
             "%s: %s-%s over %s at %" PRIu64 ", %" PRIu64 " bytes, "
             "%u-byte sectors, iv offset %" PRIu64 "%s",
             b->name, p->cipher, p->mode, parent->name, p->offset, p->size, ss,
             p->iv_offset, ro ? ", read-only" : "");
  *ret = b;
  return 0;
}
