/* nguestmount: dm-crypt compatible sector encryption in userspace.
 *
 * A crypt node is the decrypted view of [offset, offset + size) of its
 * parent, in the sector format dm-crypt uses for LUKS: every encryption
 * sector (512 to 4096 bytes) is encrypted on its own with an IV derived
 * from its position.  The cipher is OpenSSL's libcrypto (EVP).
 *
 * IV sector numbers count 512-byte units from the start of the payload,
 * whatever the encryption sector size, plus iv_offset: this is dm-crypt's
 * default (its iv_large_sectors flag, which would count in sector_size
 * units, is never set by cryptsetup for LUKS1 or LUKS2).  A 4096-byte
 * sector k therefore uses IV sector 8k + iv_offset.
 *
 * Supported: cipher "aes" with the chain modes xts, cbc and ecb and the IV
 * generators plain, plain64, plain64be, essiv:HASH (and none for ecb).
 * Anything else (serpent, twofish, lmk, tcw, benbi, authenticated modes,
 * keycount > 1) is refused with -ENOTSUP and a message naming it.
 *
 * The key is kept in locked memory (mlock, excluded from core dumps) and
 * wiped when the node is destroyed.
 *
 * Thread model: reads and aligned writes may run concurrently; each call
 * uses its own cipher contexts.  Writes that cover part of an encryption
 * sector (read-modify-write) are serialized by a mutex in the node.
 */
#ifndef NGM_CRYPT_H
#define NGM_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/bdev.h"

struct bdev_crypt_params {
  const char *cipher;   /* "aes" */
  const char *mode;     /* "xts-plain64", "cbc-essiv:sha256", ... */
  const void *key;      /* volume key (copied into locked memory) */
  size_t key_size;      /* bytes */
  unsigned sector_size; /* encryption sector: 512, 1024, 2048 or 4096 */
  uint64_t offset;      /* payload start in the parent, bytes */
  uint64_t size;        /* payload length, a multiple of sector_size */
  uint64_t iv_offset;   /* added to every IV sector (512-byte units) */
};

/* Can cipher-mode with a key of key_size bytes be handled?  0, or -ENOTSUP
 * (or -EINVAL for a malformed spec) with a message naming the cipher. */
int bdev_crypt_check (const char *cipher, const char *mode, size_t key_size,
                      char **ret_msg);

/* A crypt node over parent (takes its own reference).  The node is
 * read-only when readonly is set or the parent is read-only.  direct_fd is
 * -1: the bytes must go through this process. */
int bdev_crypt_new (struct bdev *parent, const struct bdev_crypt_params *p,
                    bool readonly, const char *name, struct bdev **ret,
                    char **ret_msg);

/* Pure IV arithmetic, exposed for the unit tests: the IV sector of the
 * encryption sector starting at byte payload_offset of the payload. */
uint64_t bdev_crypt_iv_sector (uint64_t payload_offset, uint64_t iv_offset);

/* Fill iv[0..iv_len) for IV sector s with the "plain" (32-bit LE),
 * "plain64" (64-bit LE) or "plain64be" (64-bit BE in the last 8 bytes)
 * generator; the rest is zero.  name is one of those three; returns 0 or
 * -EINVAL. */
int bdev_crypt_plain_iv (const char *name, uint64_t s, uint8_t *iv,
                         size_t iv_len);

/* Page-aligned memory that is locked (never swapped), not dumped, and
 * zeroed on allocation.  secmem_free wipes it before unmapping.  NULL on
 * failure. */
void *bdev_crypt_secmem_alloc (size_t size);
void bdev_crypt_secmem_free (void *p, size_t size);

#endif /* NGM_CRYPT_H */
