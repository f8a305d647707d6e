/* nguestmount: Windows guests.
 *
 * A Windows root is found by its systemroot directory; the fields come
 * from the registry (read with hivex) and cmd.exe's PE header.  The hives
 * are copied out of the guest into memfds (size-capped) and opened from
 * there through /proc/self/fd, read-only: hivex never sees the guest
 * filesystem, and nothing is left on the host, whatever happens.
 *
 * Lookups are case-insensitive, as Windows's are: ntfs-3g looks names up
 * case-sensitively, so each path component is found by scanning the
 * directory's entries.
 *
 * Installed applications are the subkeys of
 * SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall and of its 32-bit
 * view under WOW6432Node, as libguestfs lists them: a subkey counts when it
 * has a DisplayName string; its name is the application's name, and
 * DisplayVersion, InstallLocation, Publisher, URLInfoAbout and Comments
 * fill version, install_path, publisher, url and description.  They are
 * read with the rest of the SOFTWARE hive, so the hive is copied once.
 */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid.h>
#include <hivex.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "inspect/apps.h"
#include "inspect/inspect.h"

/* A hive bigger than this is not read (real SOFTWARE hives are < 200 MiB). */
#define HIVE_MAX (256u * 1024 * 1024)
/* Directory entries scanned for one case-insensitive lookup. */
#define DIR_SCAN_MAX 200000
/* Bytes of cmd.exe read for its PE header. */
#define PE_HEAD_MAX 8192
/* Longest registry string kept. */
#define REG_STRING_MAX 1024
/* Most MountedDevices values looked at. */
#define MOUNTED_DEVICES_MAX 4096
/* Registry values of an Uninstall entry larger than this are not decoded
 * (the text kept is cut at APPS_FIELD_MAX anyway). */
#define APP_VALUE_MAX (1024u * 1024)

static const char *const systemroots[] = {
  "windows", "winnt", "win32", "win", "reactos",
};

static void
hivex_closep (hive_h **h)
{
  if (*h)
    hivex_close (*h);
}
#define _cleanup_hivex_ __attribute__ ((cleanup (hivex_closep)))

/* ---------------------------------------------------------------------- */
/* Case-insensitive paths. */

/* Find the entry of directory dir (a guest path, "" for the root) whose
 * name equals name ignoring ASCII case; on success *ret_path is dir/entry
 * with the entry's real name.  want_dir: the entry must be a directory
 * (else a regular file).  Returns 1 found, 0 not, -errno on host failure. */
static int
ci_lookup (int rootfd, const char *dir, const char *name, bool want_dir,
           char **ret_path)
{
  int fd = open_in_root (rootfd, *dir ? dir : "/", O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return fd == -ENOMEM ? fd : 0;
  DIR *d = fdopendir (fd);
  if (!d) {
    int e = -errno;
    close (fd);
    return e == -ENOMEM ? e : 0;
  }

  int r = 0;
  unsigned n = 0;
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)) != NULL && n++ < DIR_SCAN_MAX) {
    if (strcasecmp (de->d_name, name) != 0)
      continue;
    _cleanup_free_ char *path = xasprintf ("%s/%s", dir, de->d_name);
    struct stat st;
    if (stat_in_root (rootfd, path, &st) < 0)
      continue;
    if (want_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode))
      continue;
    *ret_path = TAKE_PTR (path);
    r = 1;
    break;
  }
  closedir (d);
  return r;
}

/* Resolve a relative path of components separated by '/' below base
 * (a real guest path), case-insensitively; the last component is a
 * directory or a regular file according to last_dir. */
static int
ci_resolve (int rootfd, const char *base, const char *rel, bool last_dir,
            char **ret_path)
{
  _cleanup_free_ char *cur = xstrdup (base);
  _cleanup_free_ char *copy = xstrdup (rel);
  char *save = NULL;
  char *next;

  for (char *comp = strtok_r (copy, "/", &save); comp; comp = next) {
    next = strtok_r (NULL, "/", &save);
    char *found = NULL;
    int r = ci_lookup (rootfd, cur, comp, next ? true : last_dir, &found);
    if (r <= 0)
      return r;
    free (cur);
    cur = found;
  }
  *ret_path = TAKE_PTR (cur);
  return 1;
}

/* The systemroot ("/Windows", real case) or NULL. */
static int
find_systemroot (int rootfd, char **ret)
{
  for (size_t i = 0; i < ARRAY_SIZE (systemroots); i++) {
    _cleanup_free_ char *sr = NULL, *cfg = NULL, *cmd = NULL;
    int r = ci_lookup (rootfd, "", systemroots[i], true, &sr);
    if (r < 0)
      return r;
    if (r == 0)
      continue;
    if ((r = ci_resolve (rootfd, sr, "system32/config", true, &cfg)) < 0)
      return r;
    if (r == 0)
      continue;
    if ((r = ci_resolve (rootfd, sr, "system32/cmd.exe", false, &cmd)) < 0)
      return r;
    if (r == 0)
      continue;
    *ret = TAKE_PTR (sr);
    return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Pure helpers. */

static uint16_t
le16 (const unsigned char *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t
le32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}

static uint64_t
le64 (const unsigned char *p)
{
  return (uint64_t) le32 (p) | (uint64_t) le32 (p + 4) << 32;
}

const char *
inspect_windows_pe_arch (const void *buf, size_t len)
{
  const unsigned char *p = buf;

  if (!p || len < 0x40 || p[0] != 'M' || p[1] != 'Z')
    return NULL;
  uint32_t pe = le32 (p + 0x3c);
  /* "PE\0\0", COFF header (20 bytes), optional header magic (2). */
  if (pe > len || len - pe < 4 + 20 + 2)
    return NULL;
  if (memcmp (p + pe, "PE\0\0", 4) != 0)
    return NULL;
  uint16_t machine = le16 (p + pe + 4);
  uint16_t magic = le16 (p + pe + 24);
  switch (machine) {
  case 0x014c: return "i386";
  case 0x8664: return "x86_64";
  case 0xaa64: return "aarch64";
  case 0x01c0:
  case 0x01c2:
  case 0x01c4: return "arm";
  case 0x0200: return "ia64";
  default: break;
  }
  if (magic == 0x10b)
    return "i386";
  if (magic == 0x20b)
    return "x86_64";
  return NULL;
}

/* GUID in its on-disk form (first three fields little-endian) as text. */
static char *
guid_text (const unsigned char *g)
{
  return xasprintf ("%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                    le32 (g), le16 (g + 4), le16 (g + 6), g[8], g[9], g[10],
                    g[11], g[12], g[13], g[14], g[15]);
}

int
inspect_windows_decode_mapping (const char *name, const void *data,
                                size_t len, char *ret_letter, char **ret_key)
{
  static const char prefix[] = "\\DosDevices\\";
  const unsigned char *p = data;

  if (!name || !p || strlen (name) != sizeof prefix - 1 + 2
      || strncasecmp (name, prefix, sizeof prefix - 1) != 0)
    return 0;
  char letter = name[sizeof prefix - 1];
  if (name[sizeof prefix] != ':' || !((letter >= 'A' && letter <= 'Z')
                                      || (letter >= 'a' && letter <= 'z')))
    return 0;

  char *key;
  if (len == 12)
    key = xasprintf ("mbr:%08" PRIx32 ":%" PRIu64, le32 (p), le64 (p + 4));
  else if (len == 24 && memcmp (p, "DMIO:ID:", 8) == 0) {
    _cleanup_free_ char *g = guid_text (p + 8);
    key = xasprintf ("gpt:%s", g);
  }
  else
    return 0;
  *ret_letter = (char) toupper ((unsigned char) letter);
  *ret_key = key;
  return 1;
}

static bool
is_server (const char *variant)
{
  return variant && str_has_prefix (variant, "Server");
}

char *
inspect_windows_osinfo (int major, int minor, const char *variant,
                        const char *product_name, const char *build_id)
{
  bool server = is_server (variant);
  const char *pn = product_name ? product_name : "";
  long build = 0;

  if (build_id) {
    char *end;
    errno = 0;
    long b = strtol (build_id, &end, 10);
    if (errno == 0 && end != build_id && b > 0)
      build = b;
  }

  if (major == 5 && minor == 1)
    return xstrdup ("winxp");
  if (major == 5 && minor == 2) {
    if (strstr (pn, "XP"))
      return xstrdup ("winxp");
    return xstrdup (strstr (pn, "R2") ? "win2k3r2" : "win2k3");
  }
  if (major == 6) {
    switch (minor) {
    case 0: return xstrdup (server ? "win2k8" : "winvista");
    case 1: return xstrdup (server ? "win2k8r2" : "win7");
    case 2: return xstrdup (server ? "win2k12" : "win8");
    case 3: return xstrdup (server ? "win2k12r2" : "win8.1");
    default: break;
    }
  }
  if (major == 10 && minor == 0) {
    if (server) {
      /* Build numbers of the releases, else the product name. */
      if (build >= 26100 || strstr (pn, "2025"))
        return xstrdup ("win2k25");
      if (build >= 20348 || strstr (pn, "2022"))
        return xstrdup ("win2k22");
      if (build >= 17763 || strstr (pn, "2019"))
        return xstrdup ("win2k19");
      return xstrdup ("win2k16");
    }
    return xstrdup (build >= 22000 ? "win11" : "win10");
  }
  return xstrdup ("unknown");
}

/* ---------------------------------------------------------------------- */
/* Registry. */

static hive_value_h
reg_value (hive_h *h, hive_node_h node, const char *name, hive_type *ret_t,
           size_t *ret_len)
{
  if (!node)
    return 0;
  hive_value_h v = hivex_node_get_value (h, node, name);
  if (!v)
    return 0;
  if (hivex_value_type (h, v, ret_t, ret_len) < 0)
    return 0;
  return v;
}

/* A REG_SZ / REG_EXPAND_SZ value, sanitized, or NULL. */
static char *
reg_string (hive_h *h, hive_node_h node, const char *name)
{
  hive_type t;
  size_t len;
  hive_value_h v = reg_value (h, node, name, &t, &len);
  if (!v || (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ)
      || len > 2 * REG_STRING_MAX + 2)
    return NULL;
  _cleanup_free_ char *s = hivex_value_string (h, v);
  if (!s)
    return NULL;
  strstrip (s);
  return *s ? sanitize_string (s, REG_STRING_MAX) : NULL;
}

/* A REG_DWORD value; false if absent or another type. */
static bool
reg_dword (hive_h *h, hive_node_h node, const char *name, uint32_t *ret)
{
  hive_type t;
  size_t len;
  hive_value_h v = reg_value (h, node, name, &t, &len);
  if (!v || (t != hive_t_REG_DWORD && t != hive_t_REG_DWORD_BIG_ENDIAN)
      || len != 4)
    return false;
  errno = 0;
  int32_t d = hivex_value_dword (h, v);
  if (d == -1 && errno != 0)
    return false;
  *ret = (uint32_t) d;
  return true;
}

/* Walk a path of keys separated by '\\' from the root; 0 if absent. */
static hive_node_h
reg_node (hive_h *h, const char *path)
{
  hive_node_h node = hivex_root (h);
  _cleanup_free_ char *copy = xstrdup (path);
  char *save = NULL;

  for (char *k = strtok_r (copy, "\\", &save); k && node;
       k = strtok_r (NULL, "\\", &save))
    node = hivex_node_get_child (h, node, k);
  return node;
}

static void
read_software (hive_h *h, struct inspect_os *os)
{
  hive_node_h cv = reg_node (h, "Microsoft\\Windows NT\\CurrentVersion");
  if (!cv)
    return;

  os->product_name = reg_string (h, cv, "ProductName");
  os->product_variant = reg_string (h, cv, "InstallationType");

  uint32_t major, minor;
  if (reg_dword (h, cv, "CurrentMajorVersionNumber", &major)
      && major <= 1000) {
    os->major_version = (int) major;
    if (reg_dword (h, cv, "CurrentMinorVersionNumber", &minor)
        && minor <= 1000)
      os->minor_version = (int) minor;
  }
  else {
    _cleanup_free_ char *v = reg_string (h, cv, "CurrentVersion");
    unsigned a, b;
    char end;
    if (v && sscanf (v, "%u.%u%c", &a, &b, &end) == 2 && a <= 1000
        && b <= 1000) {
      os->major_version = (int) a;
      os->minor_version = (int) b;
    }
  }

  _cleanup_free_ char *build = reg_string (h, cv, "CurrentBuildNumber");
  if (!build)
    build = reg_string (h, cv, "CurrentBuild");
  if (build) {
    /* Digits only: the field is a number. */
    size_t n = strspn (build, "0123456789");
    if (n > 0 && n <= 10 && build[n] == '\0')
      os->build_id = TAKE_PTR (build);
  }
}

static int
cmp_mapping (const void *a, const void *b)
{
  const struct inspect_drive_mapping *x = a, *y = b;
  return strcmp (x->name, y->name);
}

static void
read_system (hive_h *h, struct inspect_os *os)
{
  uint32_t current;
  hive_node_h sel = reg_node (h, "Select");
  if (sel && reg_dword (h, sel, "Current", &current) && current >= 1
      && current <= 999) {
    os->windows_current_control_set = xasprintf ("ControlSet%03u",
                                                  (unsigned) current);
    _cleanup_free_ char *params = xasprintf (
        "%s\\Services\\Tcpip\\Parameters", os->windows_current_control_set);
    hive_node_h p = reg_node (h, params);
    if (p) {
      os->hostname = reg_string (h, p, "Hostname");
      if (!os->hostname)
        os->hostname = reg_string (h, p, "NV Hostname");
    }
  }

  hive_node_h md = reg_node (h, "MountedDevices");
  if (!md)
    return;
  _cleanup_free_ hive_value_h *vals = hivex_node_values (h, md);
  if (!vals)
    return;
  for (size_t i = 0; vals[i] && i < MOUNTED_DEVICES_MAX; i++) {
    _cleanup_free_ char *key = hivex_value_key (h, vals[i]);
    hive_type t;
    size_t len;
    if (!key || hivex_value_type (h, vals[i], &t, &len) < 0 || len > 64)
      continue;
    _cleanup_free_ char *data = hivex_value_value (h, vals[i], &t, &len);
    if (!data)
      continue;
    char letter;
    char *where;
    if (inspect_windows_decode_mapping (key, data, len, &letter, &where) != 1)
      continue;
    bool dup = false;
    for (size_t j = 0; j < os->n_drive_mappings; j++)
      dup |= os->drive_mappings[j].name[0] == letter;
    if (dup) {
      free (where);
      continue;
    }
    os->drive_mappings = xrealloc_array (os->drive_mappings,
                                         os->n_drive_mappings + 1,
                                         sizeof *os->drive_mappings);
    os->drive_mappings[os->n_drive_mappings++]
        = (struct inspect_drive_mapping) { xasprintf ("%c", letter), where };
  }
  qsort (os->drive_mappings, os->n_drive_mappings, sizeof *os->drive_mappings,
         cmp_mapping);
}

/* ---------------------------------------------------------------------- */
/* Installed applications. */

static const char *const uninstall_keys[] = {
  "Microsoft\\Windows\\CurrentVersion\\Uninstall",
  /* 32-bit programs on 64-bit Windows. */
  "WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
};

/* Guest text made safe for an application field: cut at APPS_FIELD_MAX
 * bytes (on a UTF-8 character boundary), control characters and invalid
 * UTF-8 replaced, surrounding blanks removed; when multiline, line breaks
 * ("\n" or "\r\n") are kept as "\n".  NULL when nothing is left. */
static char *
app_text (const char *s, bool multiline)
{
  size_t n = strnlen (s, APPS_FIELD_MAX + 1);
  if (n > APPS_FIELD_MAX) {
    n = APPS_FIELD_MAX;
    while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
      n--;
  }
  char *out;
  if (!multiline)
    out = sanitize_string (s, n);
  else {
    out = xcalloc (n + 1, 1);
    size_t o = 0;
    for (size_t i = 0; i <= n;) {
      const char *nl = memchr (s + i, '\n', n - i);
      size_t end = nl ? (size_t) (nl - s) : n;
      size_t len = end - i;
      if (len > 0 && s[i + len - 1] == '\r')
        len--;
      _cleanup_free_ char *line = sanitize_string (s + i, len);
      size_t ll = strlen (line);
      if (i > 0)
        out[o++] = '\n';
      /* sanitize_string never makes a string longer. */
      memcpy (out + o, line, ll);
      o += ll;
      i = end + 1;
    }
    out[o] = '\0';
  }
  strstrip (out);
  if (!*out) {
    free (out);
    return NULL;
  }
  return out;
}

/* The text of a string value (REG_SZ, REG_EXPAND_SZ) of an Uninstall
 * entry.  Returns 1 and sets *ret (NULL when the string is empty), 0 when
 * the value is absent, -EINVAL when it is there but not usable text (not
 * a string, larger than APP_VALUE_MAX, not UTF-16), -ENOMEM. */
static int
app_value (hive_h *h, hive_node_h node, const char *name, bool multiline,
           char **ret)
{
  *ret = NULL;
  hive_value_h v = hivex_node_get_value (h, node, name);
  if (!v)
    return 0;
  hive_type t;
  size_t len;
  if (hivex_value_type (h, v, &t, &len) < 0
      || (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ)
      || len > APP_VALUE_MAX)
    return -EINVAL;
  errno = 0;
  _cleanup_free_ char *s = hivex_value_string (h, v);
  if (!s)
    return errno == ENOMEM ? -ENOMEM : -EINVAL;
  *ret = app_text (s, multiline);
  return 1;
}

static void
app_fields_free (struct inspect_app *a)
{
  free (a->name);
  free (a->display_name);
  free (a->version);
  free (a->install_path);
  free (a->publisher);
  free (a->url);
  free (a->description);
}

/* The applications of one Uninstall key into l.  *unusable counts the
 * entries skipped for unreadable names or DisplayName values.  Returns 0,
 * or -ENOMEM. */
static int
read_uninstall (hive_h *h, const char *key, const char *device,
                struct apps_list *l, size_t *unusable, struct strv *warnings)
{
  hive_node_h node = reg_node (h, key);
  if (!node)
    return 0;
  errno = 0;
  _cleanup_free_ hive_node_h *children = hivex_node_children (h, node);
  if (!children) {
    if (errno == ENOMEM)
      return -ENOMEM;
    strv_pushf (warnings, "%s: cannot list the subkeys of %s in the SOFTWARE hive: %s",
                device, key, strerror (errno ? errno : EINVAL));
    return 0;
  }

  for (size_t i = 0; children[i]; i++) {
    if (i >= APPS_MAX) {
      l->truncated = true;
      break;
    }
    hive_node_h child = children[i];
    _cleanup_free_ char *display = NULL;
    int r = app_value (h, child, "DisplayName", false, &display);
    if (r == -ENOMEM)
      return r;
    if (r == 0)
      continue;         /* not shown in Programs and Features */
    if (r < 0) {
      (*unusable)++;
      continue;
    }
    errno = 0;
    _cleanup_free_ char *raw = hivex_node_name (h, child);
    if (!raw && errno == ENOMEM)
      return -ENOMEM;
    struct inspect_app a = { .name = raw ? app_text (raw, false) : NULL };
    if (!a.name) {
      (*unusable)++;
      continue;
    }
    a.display_name = TAKE_PTR (display);
    static const char *const values[] = {
      "DisplayVersion", "InstallLocation", "Publisher", "URLInfoAbout",
      "Comments",
    };
    char **fields[] = { &a.version, &a.install_path, &a.publisher, &a.url,
                        &a.description };
    for (size_t k = 0; k < ARRAY_SIZE (values); k++) {
      /* Comments may span lines, as descriptions do. */
      r = app_value (h, child, values[k], fields[k] == &a.description,
                     fields[k]);
      if (r == -ENOMEM) {
        app_fields_free (&a);
        return r;
      }
    }
    if (!apps_list_add (l, &a))
      break;
  }
  return 0;
}

/* The applications of an open SOFTWARE hive into os->apps (sorted by
 * name), at most max of them (0: APPS_MAX). */
static int
read_apps (hive_h *h, const char *device, size_t max, struct inspect_os *os,
           struct strv *warnings)
{
  struct apps_list l = { .max = max };
  size_t unusable = 0;

  for (size_t k = 0; k < ARRAY_SIZE (uninstall_keys) && !l.truncated; k++) {
    int r = read_uninstall (h, uninstall_keys[k], device, &l, &unusable,
                            warnings);
    if (r < 0) {
      apps_list_clear (&l);
      return r;
    }
  }
  if (unusable)
    strv_pushf (warnings,
                "%s: %zu application entries skipped: their key name or DisplayName is not readable text",
                device, unusable);
  if (l.truncated)
    strv_pushf (warnings,
                "%s: more than %zu applications or %u MiB of application data: the rest was not listed",
                device, max ? max : (size_t) APPS_MAX,
                APPS_BYTES_MAX / (1024 * 1024));
  apps_list_sort (&l);
  inspect_apps_free (os->apps, os->n_apps);
  os->apps = TAKE_PTR (l.v);
  os->n_apps = l.n;
  log_debug (LOG_CAT_INSPECT, "%s: %zu Windows applications", device,
             os->n_apps);
  return 0;
}

static int
open_hive (const char *path, const char *device, const char *what,
           struct strv *warnings, hive_h **ret)
{
  errno = 0;
  hive_h *h = hivex_open (path, 0);
  if (!h) {
    strv_pushf (warnings, "%s: cannot read the %s hive: %s", device, what,
                strerror (errno ? errno : EINVAL));
    return 0;
  }
  *ret = h;
  return 1;
}

int
inspect_windows_read_hives (const char *software, const char *system,
                            const char *device, struct inspect_os *os,
                            struct strv *warnings)
{
  if (software) {
    _cleanup_hivex_ hive_h *h = NULL;
    if (open_hive (software, device, "SOFTWARE", warnings, &h) == 1) {
      read_software (h, os);
      int r = read_apps (h, device, 0, os, warnings);
      if (r < 0)
        return r;
    }
  }
  if (system) {
    _cleanup_hivex_ hive_h *h = NULL;
    if (open_hive (system, device, "SYSTEM", warnings, &h) == 1)
      read_system (h, os);
  }
  return 0;
}

int
inspect_windows_read_apps (const char *software, const char *device,
                           size_t max, struct inspect_os *os,
                           struct strv *warnings)
{
  _cleanup_hivex_ hive_h *h = NULL;
  if (open_hive (software, device, "SOFTWARE", warnings, &h) != 1)
    return 0;
  return read_apps (h, device, max, os, warnings);
}

/* Copy a guest hive into a memfd.  Returns the fd, 0 when the guest file
 * is unusable (a warning says why), or -errno on host failure. */
static int
copy_hive (int rootfd, const char *path, const char *device, const char *what,
           struct strv *warnings, int *ret_fd)
{
  /* O_NONBLOCK: a FIFO planted where the hive should be cannot hang the
   * open; fd_check_regular refuses it and makes reads blocking again. */
  _cleanup_close_ int in
    = open_in_root (rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  struct stat st;

  if (in < 0) {
    strv_pushf (warnings, "%s: cannot open the %s hive: %s", device, what,
                strerror (-in));
    return 0;
  }
  int rc = fd_check_regular (in, &st);
  if (rc == -EINVAL) {
    strv_pushf (warnings, "%s: the %s hive is not a regular file", device,
                what);
    return 0;
  }
  if (rc < 0)
    return rc;
  if ((uint64_t) st.st_size > HIVE_MAX) {
    strv_pushf (warnings, "%s: the %s hive is larger than %u MiB: not read",
                device, what, HIVE_MAX / (1024 * 1024));
    return 0;
  }

  _cleanup_close_ int out = memfd_create ("ngm-hive", MFD_CLOEXEC);
  if (out < 0)
    return -errno;
  _cleanup_free_ char *buf = xcalloc (1, 1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read (in, buf, 1 << 20);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      strv_pushf (warnings, "%s: cannot read the %s hive: %s", device, what,
                  strerror (errno));
      return 0;
    }
    if (n == 0)
      break;
    total += (uint64_t) n;
    if (total > HIVE_MAX) {
      strv_pushf (warnings, "%s: the %s hive is larger than %u MiB: not read",
                  device, what, HIVE_MAX / (1024 * 1024));
      return 0;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write (out, buf + off, (size_t) (n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -errno;
      off += w;
    }
  }
  *ret_fd = TAKE_FD (out);
  return 1;
}

static char *
or_unknown (char *s)
{
  return s ? s : xstrdup ("unknown");
}

int
inspect_windows_root (int rootfd, const char *device, struct inspect_os *ret_os,
                      struct strv *warnings)
{
  struct inspect_os *os = ret_os;
  _cleanup_free_ char *sr = NULL;
  const char *dev = device ? device : "?";
  int r;

  memset (os, 0, sizeof *os);
  r = find_systemroot (rootfd, &sr);
  if (r <= 0)
    return r;
  log_debug (LOG_CAT_INSPECT, "%s: Windows root, systemroot %s", dev, sr);

  /* Hives: private copies, opened read-only by hivex. */
  _cleanup_close_ int swfd = -1, sysfd = -1;
  _cleanup_free_ char *swpath = NULL, *syspath = NULL;
  static const char *const names[] = { "SOFTWARE", "SYSTEM" };
  for (int k = 0; k < 2; k++) {
    _cleanup_free_ char *rel = xasprintf ("system32/config/%s", names[k]);
    _cleanup_free_ char *path = NULL;
    r = ci_resolve (rootfd, sr, rel, false, &path);
    if (r < 0)
      return r;
    if (r == 0) {
      strv_pushf (warnings, "%s: no %s hive in %s/system32/config", dev,
                  names[k], sr);
      continue;
    }
    int fd = -1;
    r = copy_hive (rootfd, path, dev, names[k], warnings, &fd);
    if (r < 0)
      return r;
    if (r == 0)
      continue;
    if (k == 0) {
      swfd = fd;
      swpath = xasprintf ("/proc/self/fd/%d", fd);
    }
    else {
      sysfd = fd;
      syspath = xasprintf ("/proc/self/fd/%d", fd);
    }
  }
  r = inspect_windows_read_hives (swpath, syspath, dev, os, warnings);
  if (r < 0) {
    inspect_os_clear (os);
    return r;
  }

  /* Architecture from cmd.exe. */
  _cleanup_free_ char *cmd = NULL;
  if (ci_resolve (rootfd, sr, "system32/cmd.exe", false, &cmd) == 1) {
    unsigned char head[PE_HEAD_MAX];
    ssize_t n = read_head_in_root (rootfd, cmd, head, sizeof head);
    const char *arch = n > 0 ? inspect_windows_pe_arch (head, (size_t) n)
                             : NULL;
    if (arch)
      os->arch = xstrdup (arch);
    else
      strv_pushf (warnings, "%s: %s is not a PE executable: arch unknown",
                  dev, cmd);
  }

  os->root_device = xstrdup (dev);
  os->root_id = inspect_root_id (dev);
  os->type = xstrdup ("windows");
  os->distro = xstrdup ("windows");
  os->windows_systemroot = sanitize_string (sr, REG_STRING_MAX);
  os->product_name = or_unknown (os->product_name);
  os->product_variant = or_unknown (os->product_variant);
  os->arch = or_unknown (os->arch);
  os->hostname = or_unknown (os->hostname);
  os->build_id = or_unknown (os->build_id);
  os->package_format = xstrdup ("unknown");
  os->package_management = xstrdup ("unknown");
  os->osinfo = inspect_windows_osinfo (os->major_version, os->minor_version,
                                       os->product_variant, os->product_name,
                                       os->build_id);
  return 1;
}

int
inspect_windows_applications (int rootfd, struct inspect_os *os,
                              struct strv *warnings)
{
  const char *dev = os->root_device ? os->root_device : "?";
  _cleanup_free_ char *sr = NULL, *path = NULL;

  int r = find_systemroot (rootfd, &sr);
  if (r <= 0)
    return r;
  r = ci_resolve (rootfd, sr, "system32/config/SOFTWARE", false, &path);
  if (r < 0)
    return r;
  if (r == 0) {
    strv_pushf (warnings, "%s: no SOFTWARE hive in %s/system32/config", dev,
                sr);
    return 0;
  }
  _cleanup_close_ int fd = -1;
  r = copy_hive (rootfd, path, dev, "SOFTWARE", warnings, &fd);
  if (r <= 0)
    return r;
  _cleanup_free_ char *hive = xasprintf ("/proc/self/fd/%d", fd);
  return inspect_windows_read_apps (hive, dev, 0, os, warnings);
}

/* ---------------------------------------------------------------------- */
/* Partitions as MountedDevices names them. */

void
inspect_partitions_free (struct inspect_partition *parts, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free (parts[i].device);
    free (parts[i].guid);
  }
  free (parts);
}

static void
blkid_free_probep (blkid_probe *pr)
{
  if (*pr)
    blkid_free_probe (*pr);
}

int
inspect_windows_scan_disk (int fd, uint64_t offset, uint64_t size,
                           const char *disk_name,
                           struct inspect_partition **parts, size_t *n_parts)
{
  __attribute__ ((cleanup (blkid_free_probep))) blkid_probe pr
      = blkid_new_probe ();
  if (!pr)
    return -ENOMEM;
  if (blkid_probe_set_device (pr, fd, (blkid_loff_t) offset,
                              (blkid_loff_t) size) < 0)
    return -EIO;
  blkid_probe_enable_superblocks (pr, 0);
  blkid_probe_enable_partitions (pr, 1);
  blkid_probe_set_partitions_flags (pr, BLKID_PARTS_ENTRY_DETAILS);
  errno = 0;
  blkid_partlist pl = blkid_probe_get_partitions (pr);
  if (!pl)
    return 0;
  int n = blkid_partlist_numof_partitions (pl);
  for (int i = 0; i < n && i < 1024; i++) {
    blkid_partition par = blkid_partlist_get_partition (pl, i);
    if (!par || blkid_partition_is_extended (par))
      continue;
    blkid_parttable tab = blkid_partition_get_table (par);
    const char *type = tab ? blkid_parttable_get_type (tab) : NULL;
    int partno = blkid_partition_get_partno (par);
    blkid_loff_t start = blkid_partition_get_start (par);
    if (!type || partno <= 0 || start < 0 || (uint64_t) start > UINT64_MAX / 512)
      continue;
    struct inspect_partition p = {
      .device = xasprintf ("%s%d", disk_name, partno),
      .start = (uint64_t) start * 512,
    };
    if (strcmp (type, "dos") == 0) {
      /* The signature is the table id, "1234abcd" (nested tables of
       * logical partitions carry the same id). */
      const char *id = blkid_parttable_get_id (tab);
      char *end;
      errno = 0;
      unsigned long v = id ? strtoul (id, &end, 16) : 0;
      if (!id || errno || *end || v > UINT32_MAX) {
        free (p.device);
        continue;
      }
      p.mbr = true;
      p.mbr_id = (uint32_t) v;
    }
    else if (strcmp (type, "gpt") == 0) {
      const char *u = blkid_partition_get_uuid (par);
      if (!u) {
        free (p.device);
        continue;
      }
      p.guid = xstrdup (u);
      for (char *c = p.guid; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
    }
    else {
      free (p.device);
      continue;
    }
    *parts = xrealloc_array (*parts, *n_parts + 1, sizeof **parts);
    (*parts)[(*n_parts)++] = p;
  }
  return 0;
}

void
inspect_windows_resolve_drives (struct inspect_os *os,
                                const struct inspect_partition *parts,
                                size_t n_parts)
{
  size_t out = 0;
  for (size_t i = 0; i < os->n_drive_mappings; i++) {
    struct inspect_drive_mapping *m = &os->drive_mappings[i];
    const char *found = NULL;
    uint32_t sig;
    uint64_t off;
    char end;

    if (m->device && sscanf (m->device, "mbr:%8" SCNx32 ":%" SCNu64 "%c", &sig,
                             &off, &end) == 2) {
      for (size_t j = 0; j < n_parts && !found; j++)
        if (parts[j].mbr && parts[j].mbr_id == sig && parts[j].start == off)
          found = parts[j].device;
    }
    else if (m->device && str_has_prefix (m->device, "gpt:")) {
      for (size_t j = 0; j < n_parts && !found; j++)
        if (parts[j].guid && strcmp (parts[j].guid, m->device + 4) == 0)
          found = parts[j].device;
    }
    if (!found) {
      log_debug (LOG_CAT_INSPECT, "drive %s: %s matches no partition",
                 m->name, m->device ? m->device : "?");
      free (m->name);
      free (m->device);
      continue;
    }
    free (m->device);
    m->device = xstrdup (found);
    os->drive_mappings[out++] = *m;
  }
  os->n_drive_mappings = out;
}
