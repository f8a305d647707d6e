/* nguestmount: LUKS containers in userspace (see luks.h).
 *
 * libcryptsetup does the header work (crypt_load, keyslot unlocking with
 * crypt_volume_key_get); the volume key then goes straight into a crypt
 * bdev and this file wipes its own copy.  Nothing here activates a
 * device-mapper target or writes to the header.
 *
 * Thread model: luks_* may be called from any thread; libcryptsetup's
 * global settings (log callback, metadata locking) are made once under
 * pthread_once.  Per-device log capture goes through the context's own
 * callback pointer, so concurrent opens do not mix their messages.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/crypto.h>

#include "block/bdev.h"
#include "block/crypt.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/luks.h"

/* What one open collects from libcryptsetup's log. */
struct luks_log {
  char *last_error; /* last CRYPT_LOG_ERROR line, sanitized */
  /* The keys being tried: any message containing one is withheld. */
  const char *const *secrets;
  const size_t *secret_lens;
  size_t n_secrets;
};

/* Everything luks_open needs from the header. */
struct luks_info {
  char *uuid;
  const char *type; /* CRYPT_LUKS1 / CRYPT_LUKS2 */
  char *cipher;
  char *mode;
  size_t key_size;
  unsigned sector_size;
  uint64_t offset;    /* bytes */
  uint64_t size;      /* bytes, multiple of sector_size */
  uint64_t iv_offset; /* 512-byte units */
};

static void
luks_info_clear (struct luks_info *i)
{
  free (i->uuid);
  free (i->cipher);
  free (i->mode);
  memset (i, 0, sizeof *i);
}

static bool
msg_has_secret (const char *msg, const struct luks_log *lg)
{
  size_t len = strlen (msg);
  for (size_t i = 0; lg && i < lg->n_secrets; i++) {
    const char *s = lg->secrets[i];
    size_t n = lg->secret_lens ? lg->secret_lens[i] : strlen (s);
    if (n > 0 && memmem (msg, len, s, n))
      return true;
  }
  return false;
}

static void
luks_log_cb (int level, const char *msg, void *usrptr)
{
  struct luks_log *lg = usrptr;

  if (!msg)
    return;
  /* Metadata dumps (salts, digests) are of no use in our debug log. */
  if (level == CRYPT_LOG_DEBUG_JSON)
    return;
  if (msg_has_secret (msg, lg)) {
    log_debug (LOG_CAT_STACK, "libcryptsetup: [message withheld]");
    return;
  }

  _cleanup_free_ char *copy = xstrdup (msg);
  size_t n = strlen (copy);
  while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
    copy[--n] = '\0';
  _cleanup_free_ char *clean = sanitize_string (copy, 512);
  log_debug (LOG_CAT_STACK, "libcryptsetup: %s", clean);
  if (lg && level == CRYPT_LOG_ERROR && clean && *clean) {
    free (lg->last_error);
    lg->last_error = TAKE_PTR (clean);
  }
}

static pthread_once_t luks_once = PTHREAD_ONCE_INIT;

static void
luks_setup (void)
{
  /* The default callback prints errors on stderr: route everything to
   * the debug log instead; the caller prints the one message. */
  crypt_set_log_callback (NULL, luks_log_cb, NULL);
  /* No lock files under /run/cryptsetup for guest headers. */
  crypt_metadata_locking (NULL, 0);
}

/* libcryptsetup names the path it was given ("/proc/self/fd/7"); show the
 * guest device instead. */
static char *
replace_path (const char *msg, const char *path, const char *device)
{
  const char *p = path && *path ? strstr (msg, path) : NULL;
  if (!p)
    return xstrdup (msg);
  return xasprintf ("%.*s%s%s", (int)(p - msg), msg, device, p + strlen (path));
}

/* The size of LUKS2 data segment 0 when it is fixed (not "dynamic"). */
static int
luks2_segment_size (struct crypt_device *cd, uint64_t *ret_size,
                    bool *ret_dynamic)
{
  const char *json = NULL;
  *ret_dynamic = true;
  if (crypt_dump_json (cd, &json, 0) < 0 || !json)
    return -EINVAL;

  json_object *root = json_tokener_parse (json);
  if (!root)
    return -EINVAL;
  int r = -EINVAL;
  json_object *segs, *seg, *size;
  if (json_object_object_get_ex (root, "segments", &segs)
      && json_object_object_get_ex (segs, "0", &seg)
      && json_object_object_get_ex (seg, "size", &size)
      && json_object_is_type (size, json_type_string)) {
    const char *s = json_object_get_string (size);
    if (strcmp (s, "dynamic") == 0)
      r = 0;
    else {
      char *end;
      errno = 0;
      unsigned long long v = strtoull (s, &end, 10);
      if (errno == 0 && end != s && *end == '\0' && s[0] != '-') {
        *ret_size = v;
        *ret_dynamic = false;
        r = 0;
      }
    }
  }
  json_object_put (root);
  return r;
}

/* Load and validate the header; on success *ret_cd is the context (with
 * lg as its log target) and *info is filled. */
static int
luks_load (const char *path, const char *device, uint64_t dev_size,
           struct luks_log *lg, struct crypt_device **ret_cd,
           struct luks_info *info, char **ret_msg)
{
  struct crypt_device *cd = NULL;
  int r;

  pthread_once (&luks_once, luks_setup);
  if (!path || !device)
    return set_errmsg (ret_msg, -EINVAL, "LUKS: missing device path");

  /* libcryptsetup's debug messages (never key material; the callback
   * withholds anything containing a key being tried) when ours are on. */
  crypt_set_debug_level (log_enabled (LOG_CAT_STACK) ? CRYPT_DEBUG_ALL
                                                     : CRYPT_DEBUG_NONE);
  r = crypt_init (&cd, path);
  if (r < 0)
    return set_errmsg (ret_msg, r, "%s: cannot open the LUKS device: %s",
                       device, strerror (-r));
  crypt_set_log_callback (cd, luks_log_cb, lg);

  r = crypt_load (cd, CRYPT_LUKS, NULL);
  if (r < 0) {
    _cleanup_free_ char *reason
        = lg->last_error ? replace_path (lg->last_error, path, device)
                         : xstrdup (strerror (-r));
    crypt_free (cd);
    if (r == -ENOMEM)
      return set_errmsg (ret_msg, r,
                         "%s: out of memory loading the LUKS "
                         "header",
                         device);
    if (r == -EIO)
      return set_errmsg (ret_msg, r, "%s: cannot read the LUKS header: %s",
                         device, reason);
    return set_errmsg (ret_msg, -EINVAL, "%s: corrupt LUKS header: %s", device,
                       reason);
  }

  struct luks_info i = { 0 };
  i.type = crypt_get_type (cd);
  i.uuid = xstrdup (crypt_get_uuid (cd));
  i.cipher = xstrdup (crypt_get_cipher (cd));
  i.mode = xstrdup (crypt_get_cipher_mode (cd));
  int ks = crypt_get_volume_key_size (cd);
  int ss = crypt_get_sector_size (cd);
  i.key_size = ks > 0 ? (size_t)ks : 0;
  i.sector_size = ss > 0 ? (unsigned)ss : 512;
  i.iv_offset = crypt_get_iv_offset (cd);
  uint64_t off_sectors = crypt_get_data_offset (cd);
  bool luks2 = i.type && strcmp (i.type, CRYPT_LUKS2) == 0;

  log_debug (LOG_CAT_STACK,
             "%s: %s, UUID %s, %s-%s, %zu-bit key, "
             "%u-byte sectors, payload at sector %" PRIu64,
             device, i.type ? i.type : "?", i.uuid ? i.uuid : "-",
             i.cipher ? i.cipher : "?", i.mode ? i.mode : "?", i.key_size * 8,
             i.sector_size, off_sectors);

  if (luks2) {
    uint32_t req = 0;
    if (crypt_persistent_flags_get (cd, CRYPT_FLAGS_REQUIREMENTS, &req) == 0
        && req != 0) {
      r = set_errmsg (ret_msg, -ENOTSUP,
                      "%s: LUKS2 header has requirements "
                      "this program does not support (%s)",
                      device,
                      req
                              & (CRYPT_REQUIREMENT_OFFLINE_REENCRYPT
                                 | CRYPT_REQUIREMENT_ONLINE_REENCRYPT)
                          ? "reencryption in progress"
                          : "unknown flags");
      goto fail;
    }
    struct crypt_params_integrity ip = { 0 };
    if (crypt_get_integrity_info (cd, &ip) == 0 && ip.integrity
        && *ip.integrity) {
      _cleanup_free_ char *shown = sanitize_string (ip.integrity, 64);
      r = set_errmsg (ret_msg, -ENOTSUP,
                      "%s: unsupported LUKS2 "
                      "authenticated encryption (integrity %s)",
                      device, shown);
      goto fail;
    }
  }

  {
    _cleanup_free_ char *why = NULL;
    r = bdev_crypt_check (i.cipher, i.mode, i.key_size, &why);
    if (r < 0) {
      set_errmsg (ret_msg, r, "%s: %s", device,
                  why ? why : "unsupported cipher");
      goto fail;
    }
  }

  if (i.sector_size < 512 || i.sector_size > 4096
      || (i.sector_size & (i.sector_size - 1)) != 0) {
    r = set_errmsg (ret_msg, -EINVAL,
                    "%s: corrupt LUKS header: invalid "
                    "sector size %u",
                    device, i.sector_size);
    goto fail;
  }
  if (off_sectors > dev_size / 512) {
    r = set_errmsg (ret_msg, -EINVAL,
                    "%s: corrupt LUKS header: payload "
                    "offset (sector %" PRIu64 ") is beyond the end of the "
                    "device (%" PRIu64 " bytes)",
                    device, off_sectors, dev_size);
    goto fail;
  }
  i.offset = off_sectors * 512;
  i.size = dev_size - i.offset;
  if (luks2) {
    uint64_t seg_size = 0;
    bool dynamic = true;
    if (luks2_segment_size (cd, &seg_size, &dynamic) == 0 && !dynamic) {
      if (seg_size > i.size) {
        r = set_errmsg (ret_msg, -EINVAL,
                        "%s: corrupt LUKS header: data "
                        "segment of %" PRIu64 " bytes does not fit in the "
                        "device",
                        device, seg_size);
        goto fail;
      }
      i.size = seg_size;
    }
  }
  i.size -= i.size % i.sector_size;

  *info = i;
  *ret_cd = cd;
  return 0;

fail:
  luks_info_clear (&i);
  crypt_free (cd);
  return r;
}

int
luks_check (const char *path, const char *device, char **ret_uuid,
            char **ret_msg)
{
  struct luks_log lg = { 0 };
  struct crypt_device *cd = NULL;
  struct luks_info info = { 0 };

  /* The device size only matters for the payload bounds; use the size
   * libcryptsetup sees through path. */
  uint64_t size = UINT64_MAX;
  {
    _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
      size = (uint64_t)st.st_size;
  }
  int r = luks_load (path, device, size, &lg, &cd, &info, ret_msg);
  free (lg.last_error);
  if (r < 0)
    return r;
  if (ret_uuid)
    *ret_uuid = TAKE_PTR (info.uuid);
  luks_info_clear (&info);
  crypt_free (cd);
  return 0;
}

char *
luks_uuid (const char *path)
{
  char *uuid = NULL;
  if (!path || luks_check (path, path, &uuid, NULL) < 0)
    return NULL;
  return uuid;
}

int
luks_open_keys (struct bdev *b, const char *path, const char *device,
                const char *const *keys, const size_t *key_lens, size_t n_keys,
                bool readonly, struct bdev **ret, char **ret_msg)
{
  struct luks_log lg = { 0 };
  struct crypt_device *cd = NULL;
  struct luks_info info = { 0 };
  _cleanup_free_ char *other_msg = NULL;
  _cleanup_free_ char *name = NULL;
  _cleanup_free_ char *why = NULL;
  uint8_t *vk = NULL;
  int r;

  if (!b || !ret)
    return -EINVAL;
  if (!device)
    device = b->name;

  r = luks_load (path, device, b->size, &lg, &cd, &info, ret_msg);
  if (r < 0) {
    free (lg.last_error);
    return r;
  }

  if (n_keys == 0 || !keys) {
    r = set_errmsg (ret_msg, -EPERM,
                    "no key given for %s (use --key or "
                    "--keys-from-stdin)",
                    device);
    goto out;
  }

  vk = bdev_crypt_secmem_alloc (info.key_size);
  if (!vk) {
    r = set_errmsg (ret_msg, -ENOMEM, "%s: cannot allocate key memory", device);
    goto out;
  }

  int other_err = 0;
  r = -EPERM;
  for (size_t k = 0; k < n_keys; k++) {
    if (!keys[k])
      continue;
    size_t len = key_lens ? key_lens[k] : strlen (keys[k]);
    size_t vk_len = info.key_size;

    lg.secrets = &keys[k];
    lg.secret_lens = &len;
    lg.n_secrets = 1;
    free (lg.last_error);
    lg.last_error = NULL;
    int s = crypt_volume_key_get (cd, CRYPT_ANY_SLOT, (char *)vk, &vk_len,
                                  keys[k], len);
    lg.secrets = NULL;
    lg.secret_lens = NULL;
    lg.n_secrets = 0;

    if (s >= 0 && vk_len == info.key_size) {
      log_debug (LOG_CAT_STACK, "%s: key %zu of %zu opens keyslot %d", device,
                 k + 1, n_keys, s);
      r = 0;
      break;
    }
    if (s >= 0)
      s = -EINVAL;
    log_debug (LOG_CAT_STACK, "%s: key %zu of %zu: %s", device, k + 1, n_keys,
               strerror (-s));
    if (s != -EPERM && other_err == 0) {
      other_err = s;
      free (other_msg);
      other_msg = lg.last_error ? replace_path (lg.last_error, path, device)
                                : xstrdup (strerror (-s));
    }
  }

  if (r < 0) {
    if (other_err == -ENOMEM)
      r = set_errmsg (ret_msg, -ENOMEM,
                      "%s: not enough memory to derive "
                      "the LUKS key (%s)",
                      device, other_msg);
    else if (other_err != 0)
      r = set_errmsg (ret_msg, other_err, "cannot unlock %s: %s", device,
                      other_msg);
    else if (n_keys == 1)
      r = set_errmsg (ret_msg, -EPERM, "wrong passphrase for %s", device);
    else
      r = set_errmsg (ret_msg, -EPERM,
                      "wrong passphrase for %s (%zu keys "
                      "tried)",
                      device, n_keys);
    goto out;
  }

  if (info.uuid && *info.uuid) {
    _cleanup_free_ char *u = sanitize_string (info.uuid, 64);
    name = xasprintf ("/dev/mapper/luks-%s", u);
  }
  else {
    const char *base = strrchr (device, '/');
    name = xasprintf ("/dev/mapper/luks-%s", base ? base + 1 : device);
  }

  struct bdev_crypt_params p = {
    .cipher = info.cipher,
    .mode = info.mode,
    .key = vk,
    .key_size = info.key_size,
    .sector_size = info.sector_size,
    .offset = info.offset,
    .size = info.size,
    .iv_offset = info.iv_offset,
  };
  r = bdev_crypt_new (b, &p, readonly, name, ret, &why);
  if (r < 0)
    set_errmsg (ret_msg, r, "%s: %s", device, why ? why : strerror (-r));

out:
  bdev_crypt_secmem_free (vk, info.key_size);
  free (lg.last_error);
  luks_info_clear (&info);
  crypt_free (cd);
  return r;
}

int
luks_open (struct bdev *b, const char *path, const char *device,
           const char *const *passphrases, size_t n_passphrases, bool readonly,
           struct bdev **ret, char **ret_msg)
{
  return luks_open_keys (b, path, device, passphrases, NULL, n_passphrases,
                         readonly, ret, ret_msg);
}
