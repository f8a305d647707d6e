/* nguestmount: guest fstab entries → guest filesystems (see inspect.h).
 *
 * Everything here is pure: an fstab line (already parsed and sanitized by
 * parse_fstab) is matched against the list of probed filesystems.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libmount.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "inspect/inspect.h"

static bool
c_islower (char c)
{
  return c >= 'a' && c <= 'z';
}

static bool
c_isdigit (char c)
{
  return c >= '0' && c <= '9';
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Strip one pair of matching quotes: "abc" or 'abc' → abc. */
static char *
unquote (const char *s)
{
  size_t n = strlen (s);
  if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
    char *r = xcalloc (n - 1, 1);
    memcpy (r, s + 1, n - 2);
    return r;
  }
  return xstrdup (s);
}

/* udev escapes unsafe characters of /dev/disk/by-label names as \xHH. */
static char *
udev_unescape (const char *s)
{
  size_t n = strlen (s), o = 0;
  char *r = xcalloc (n + 1, 1);
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x'
        && (hi = hexval (s[i + 2])) >= 0 && (lo = hexval (s[i + 3])) >= 0
        && (hi || lo)) {
      r[o++] = (char)(hi * 16 + lo);
      i += 3;
    }
    else
      r[o++] = s[i];
  }
  r[o] = '\0';
  return r;
}

enum tag_kind { TAG_UUID, TAG_LABEL, TAG_PARTUUID, TAG_PARTLABEL };

static int
find_by_tag (enum tag_kind kind, const char *value, const struct inspect_fs *fs,
             size_t n_fs)
{
  if (!*value)
    return -1;
  for (size_t i = 0; i < n_fs; i++) {
    const char *v = NULL;
    bool nocase = false;
    switch (kind) {
    case TAG_UUID:
      v = fs[i].uuid;
      nocase = true;
      break;
    case TAG_LABEL:
      v = fs[i].label;
      break;
    case TAG_PARTUUID:
      v = fs[i].partuuid;
      nocase = true;
      break;
    case TAG_PARTLABEL:
      v = fs[i].partlabel;
      break;
    }
    if (v && (nocase ? strcasecmp (v, value) == 0 : strcmp (v, value) == 0))
      return (int)i;
  }
  return -1;
}

static int
find_by_device (const char *dev, const struct inspect_fs *fs, size_t n_fs)
{
  for (size_t i = 0; i < n_fs; i++)
    if (fs[i].device && strcmp (fs[i].device, dev) == 0)
      return (int)i;
  return -1;
}

/* "a" → 0, "z" → 25, "aa" → 26 (Linux disk naming). */
static char *
disk_letters (unsigned idx)
{
  char tmp[16];
  size_t n = 0;
  for (;;) {
    tmp[n++] = (char)('a' + idx % 26);
    if (idx < 26)
      break;
    idx = idx / 26 - 1;
  }
  char *r = xcalloc (n + 1, 1);
  for (size_t i = 0; i < n; i++)
    r[i] = tmp[n - 1 - i];
  return r;
}

/* /dev/[shv]dX[N], /dev/xvdX[N] → /dev/sdX[N]; /dev/nvmeCnS[pN] → disk C.
 * Returns NULL when spec is none of those. */
static char *
guest_disk_name (const char *spec)
{
  const char *p;
  if (str_has_prefix (spec, "/dev/xvd"))
    p = spec + 8;
  else if (str_has_prefix (spec, "/dev/sd") || str_has_prefix (spec, "/dev/hd")
           || str_has_prefix (spec, "/dev/vd"))
    p = spec + 7;
  else if (str_has_prefix (spec, "/dev/nvme")) {
    /* nvme<controller>n<namespace>[p<partition>] */
    char *end;
    p = spec + 9;
    if (!c_isdigit (*p))
      return NULL;
    unsigned long ctrl = strtoul (p, &end, 10);
    if (*end != 'n' || !c_isdigit (end[1]) || ctrl > 1000)
      return NULL;
    p = end + 1;
    while (c_isdigit (*p))
      p++;
    const char *part = "";
    if (*p == 'p' && c_isdigit (p[1])) {
      part = p + 1;
      for (const char *q = part; *q; q++)
        if (!c_isdigit (*q))
          return NULL;
    }
    else if (*p)
      return NULL;
    _cleanup_free_ char *letters = disk_letters ((unsigned)ctrl);
    return xasprintf ("/dev/sd%s%s", letters, part);
  }
  else
    return NULL;

  const char *letters = p;
  while (c_islower (*p))
    p++;
  if (p == letters || p - letters > 3)
    return NULL;
  for (const char *q = p; *q; q++)
    if (!c_isdigit (*q))
      return NULL;
  return xasprintf ("/dev/sd%s", letters);
}

/* /dev/mapper/VG-LV ("--" stands for "-" inside a name) → /dev/VG/LV. */
static char *
mapper_to_lv (const char *name)
{
  size_t n = strlen (name);
  _cleanup_free_ char *vg = xcalloc (n + 1, 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (name[i] == '-') {
      if (name[i + 1] == '-') {
        vg[o++] = '-';
        i++;
        continue;
      }
      /* The separator. */
      if (o == 0 || name[i + 1] == '\0')
        return NULL;
      _cleanup_free_ char *lv = xcalloc (n + 1, 1);
      size_t l = 0;
      for (size_t j = i + 1; j < n; j++) {
        if (name[j] == '-') {
          if (name[j + 1] != '-')
            return NULL;
          j++;
        }
        lv[l++] = name[j];
      }
      return xasprintf ("/dev/%s/%s", vg, lv);
    }
    vg[o++] = name[i];
  }
  return NULL;
}

int
inspect_resolve_spec (const char *spec, const struct inspect_fs *fs,
                      size_t n_fs)
{
  static const struct {
    const char *prefix;
    enum tag_kind kind;
    bool udev_escaped;
  } tags[] = {
    { "UUID=", TAG_UUID, false },
    { "LABEL=", TAG_LABEL, false },
    { "PARTUUID=", TAG_PARTUUID, false },
    { "PARTLABEL=", TAG_PARTLABEL, false },
    { "/dev/disk/by-uuid/", TAG_UUID, true },
    { "/dev/disk/by-label/", TAG_LABEL, true },
    { "/dev/disk/by-partuuid/", TAG_PARTUUID, true },
    { "/dev/disk/by-partlabel/", TAG_PARTLABEL, true },
  };

  if (!spec || !*spec || (!fs && n_fs))
    return -1;

  for (size_t i = 0; i < ARRAY_SIZE (tags); i++) {
    if (!str_has_prefix (spec, tags[i].prefix))
      continue;
    const char *v = spec + strlen (tags[i].prefix);
    _cleanup_free_ char *value
        = tags[i].udev_escaped ? udev_unescape (v) : unquote (v);
    return find_by_tag (tags[i].kind, value, fs, n_fs);
  }

  int r = find_by_device (spec, fs, n_fs);
  if (r >= 0)
    return r;

  if (str_has_prefix (spec, "/dev/mapper/")) {
    _cleanup_free_ char *lv = mapper_to_lv (spec + 12);
    return lv ? find_by_device (lv, fs, n_fs) : -1;
  }

  _cleanup_free_ char *disk = guest_disk_name (spec);
  if (disk)
    return find_by_device (disk, fs, n_fs);
  return -1;
}

char *
inspect_btrfsvol_device (const char *device, const char *subvol_path)
{
  const char *p = subvol_path ? subvol_path : "";
  while (*p == '/')
    p++;
  return xasprintf ("btrfsvol:%s/%s", device, p);
}

int
inspect_resolve_subvol (int idx, const char *options,
                        const struct inspect_fs *fs, size_t n_fs)
{
  if (idx < 0 || (size_t)idx >= n_fs || !options || !fs[idx].type
      || !fs[idx].device || strcmp (fs[idx].type, "btrfs") != 0
      || str_has_prefix (fs[idx].device, "btrfsvol:"))
    return idx;

  char *value = NULL;
  size_t len = 0;
  if (mnt_optstr_get_option (options, "subvol", &value, &len) != 0 || !value
      || len == 0)
    return idx;
  _cleanup_free_ char *subvol = xcalloc (len + 1, 1);
  memcpy (subvol, value, len);
  /* "/@//home/" and "@/home" name the same subvolume. */
  size_t o = 0;
  for (size_t i = 0; subvol[i]; i++) {
    if (subvol[i] == '/' && (o == 0 || subvol[o - 1] == '/'))
      continue;
    subvol[o++] = subvol[i];
  }
  while (o > 0 && subvol[o - 1] == '/')
    o--;
  subvol[o] = '\0';
  if (o == 0)
    return idx;
  _cleanup_free_ char *name = inspect_btrfsvol_device (fs[idx].device, subvol);
  int sub = find_by_device (name, fs, n_fs);
  return sub >= 0 ? sub : idx;
}

int
inspect_resolve_fstab_entry (const struct inspect_fstab_entry *e,
                             const struct inspect_fs *fs, size_t n_fs)
{
  if (!e)
    return -1;
  return inspect_resolve_subvol (inspect_resolve_spec (e->spec, fs, n_fs),
                                 e->options, fs, n_fs);
}

/* mp is p itself or below it. */
static bool
path_is_under (const char *mp, const char *p)
{
  size_t n = strlen (p);
  return strncmp (mp, p, n) == 0 && (mp[n] == '\0' || mp[n] == '/');
}

bool
inspect_fstab_entry_wanted (const struct inspect_fstab_entry *e)
{
  static const char *const skipped_mountpoints[] = {
    "/dev", "/proc", "/sys", "/media", "/selinux",
  };
  static const char *const pseudo_fstypes[] = {
    "swap",        "none",       "ignore",    "proc",       "sysfs",
    "devpts",      "devtmpfs",   "tmpfs",     "ramfs",      "cgroup",
    "cgroup2",     "securityfs", "debugfs",   "tracefs",    "mqueue",
    "hugetlbfs",   "pstore",     "bpf",       "configfs",   "fusectl",
    "binfmt_misc", "autofs",     "efivarfs",  "rpc_pipefs", "nfsd",
    "usbfs",       "usbdevfs",   "selinuxfs", "shm",        "nfs",
    "nfs4",        "cifs",       "smbfs",     "smb3",       "9p",
    "virtiofs",    "ceph",       "glusterfs", "davfs",      "fuse.sshfs",
    "sshfs",
  };

  if (!e || !e->spec || !e->mountpoint || !e->fstype)
    return false;

  const char *spec = e->spec, *mp = e->mountpoint;

  /* Floppies and CD-ROMs. */
  if (((str_has_prefix (spec, "/dev/fd") || str_has_prefix (spec, "/dev/cd")
        || str_has_prefix (spec, "/dev/sr"))
       && c_isdigit (spec[7]))
      || strcmp (spec, "/dev/floppy") == 0 || strcmp (spec, "/dev/cdrom") == 0
      || str_has_prefix (spec, "/dev/iso9660/"))
    return false;

  for (size_t i = 0; i < ARRAY_SIZE (pseudo_fstypes); i++)
    if (strcmp (e->fstype, pseudo_fstypes[i]) == 0)
      return false;

  /* Only absolute mountpoints without "." or ".." components. */
  if (mp[0] != '/')
    return false;
  for (const char *c = mp; *c;) {
    while (*c == '/')
      c++;
    const char *end = strchrnul (c, '/');
    size_t n = (size_t)(end - c);
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
      return false;
    c = end;
  }

  for (size_t i = 0; i < ARRAY_SIZE (skipped_mountpoints); i++)
    if (path_is_under (mp, skipped_mountpoints[i]))
      return false;

  return true;
}

char *
inspect_root_id (const char *device)
{
  if (!device)
    return NULL;
  const char *p = device;
  /* "btrfsvol:/dev/sda2/@home" → "sda2-@home". */
  if (str_has_prefix (p, "btrfsvol:"))
    p += 9;
  if (str_has_prefix (p, "/dev/"))
    p += 5;

  /* Components joined by "-", a "-" inside a component doubled. */
  size_t n = strlen (p);
  char *r = xcalloc (2 * n + 3, 1);
  size_t o = 0;
  bool need_sep = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '/') {
      need_sep = o > 0;
      continue;
    }
    if (need_sep) {
      r[o++] = '-';
      need_sep = false;
    }
    if (c == '-') {
      r[o++] = '-';
      r[o++] = '-';
    }
    else if (c < 0x20 || c >= 0x7f)
      r[o++] = '_';
    else
      r[o++] = (char)c;
  }
  r[o] = '\0';
  /* Never a name the view cannot serve. */
  if (o == 0 || strcmp (r, ".") == 0 || strcmp (r, "..") == 0) {
    char *u = xasprintf ("_%s", r);
    free (r);
    return u;
  }
  return r;
}
