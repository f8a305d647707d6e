/* nguestmount: LUKS1 and LUKS2 containers opened in userspace.
 *
 * libcryptsetup loads the header and recovers the volume key from a
 * keyslot (every keyslot type cryptsetup creates: pbkdf2, argon2i,
 * argon2id); the payload is then decrypted by a crypt bdev
 * (src/block/crypt.h), never by dm-crypt, so no device-mapper is needed.
 * libcryptsetup's own log goes to log_debug (LOG_CAT_STACK); it never
 * sees key material, and any message that would contain a passphrase being
 * tried is withheld.  Metadata locking is switched off (the host's
 * /run/cryptsetup is not touched) and nothing is ever written to the
 * header.
 */
#ifndef NGM_LUKS_H
#define NGM_LUKS_H

#include <stdbool.h>
#include <stddef.h>

#include "block/bdev.h"
#include "block/crypt.h"

/* Open the LUKS container on bdev b.  path: a host path through which
 * libcryptsetup can read b's bytes from offset 0 (an export file as
 * "/proc/self/fd/N", or an image file).  device is the guest name used in
 * messages ("/dev/sda2").  Each passphrase is tried in order against every
 * keyslot.  On success *ret is a bdev of the decrypted payload named
 * "/dev/mapper/luks-<UUID>" (direct_fd = -1), read-only when readonly is
 * set or b is read-only.
 * Errors (message in *ret_msg):
 *   -EPERM   "wrong passphrase for DEVICE", or "no key given for DEVICE
 *            (use --key or --keys-from-stdin)" when there is none;
 *   -ENOTSUP "DEVICE: unsupported cipher CIPHER-MODE" (and LUKS2
 *            authenticated encryption, reencryption in progress);
 *   -EINVAL  "DEVICE: corrupt LUKS header: <libcryptsetup's reason>";
 *   other -errno for host problems (-ENOMEM, -EIO). */
int luks_open (struct bdev *b, const char *path, const char *device,
               const char *const *passphrases, size_t n_passphrases,
               bool readonly, struct bdev **ret, char **ret_msg);

/* Same with explicit lengths, for key files that may hold any bytes
 * (including NUL).  key_lens may be NULL (then strlen is used). */
int luks_open_keys (struct bdev *b, const char *path, const char *device,
                    const char *const *keys, const size_t *key_lens,
                    size_t n_keys, bool readonly, struct bdev **ret,
                    char **ret_msg);

/* The UUID libcryptsetup reports for the LUKS header at path (for key
 * lookup by UUID before trying), or NULL when there is no valid header. */
char *luks_uuid (const char *path);

/* Check the header at path without any key: 0 when luks_open could
 * decrypt it given the right key, else the error luks_open would give
 * (-EINVAL corrupt header, -ENOTSUP unsupported cipher) with its message.
 * Lets the caller fail before prompting for a passphrase.  *ret_uuid
 * (optional) receives the UUID. */
int luks_check (const char *path, const char *device, char **ret_uuid,
                char **ret_msg);

#endif /* NGM_LUKS_H */
