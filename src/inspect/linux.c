/* nguestmount: recognising a Unix-like OS root (Linux first; also the
 * BSDs, Hurd and Minix) and filling struct inspect_os (see inspect.h).
 *
 * Every guest file is opened through open_in_root / read_file_in_root:
 * guest symlinks are resolved inside the guest root only, sizes are
 * capped, and what cannot be read becomes a warning, never an error.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "inspect/inspect.h"
#include "inspect/parse.h"

struct root_ctx {
  int rootfd;
  const char *device;
  struct strv *warnings;
};

static bool
host_error (int err)
{
  return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

/* Read a guest file.  Returns 1 with its contents, 0 when it is absent or
 * unusable (a warning says why, unless it simply does not exist), or
 * -errno on a host failure. */
static int
read_guest_file (struct root_ctx *c, const char *path, char **ret,
                 size_t *ret_len)
{
  int r = read_file_in_root (c->rootfd, path, GUEST_FILE_MAX, ret, ret_len);
  if (r == 0)
    return 1;
  *ret = NULL;
  if (r == -ENOENT || r == -ENOTDIR)
    return 0;
  if (host_error (r))
    return r;
  if (r == -EFBIG)
    strv_pushf (c->warnings, "%s: %s: larger than %u bytes, ignored", c->device,
                path, GUEST_FILE_MAX);
  else if (r == -EINVAL)
    strv_pushf (c->warnings, "%s: %s: not a regular file, ignored", c->device,
                path);
  else
    strv_pushf (c->warnings, "%s: %s: %s, ignored", c->device, path,
                strerror (-r));
  log_debug (LOG_CAT_INSPECT, "%s: reading %s: %s", c->device, path,
             strerror (-r));
  return 0;
}

/* Is /bin a symlink to usr/bin (merged /usr, possibly on another fs)? */
static bool
bin_is_usr_bin_link (int rootfd)
{
  char target[64];
  ssize_t n = readlinkat (rootfd, "bin", target, sizeof target - 1);
  if (n <= 0)
    return false;
  target[n] = '\0';
  return strcmp (target, "usr/bin") == 0 || strcmp (target, "/usr/bin") == 0
         || strcmp (target, "./usr/bin") == 0;
}

/* Distros whose os-release VERSION_ID carries only the major version. */
static bool
needs_release_file_minor (const char *distro)
{
  return strcmp (distro, "debian") == 0 || strcmp (distro, "centos") == 0
         || strcmp (distro, "circle") == 0 || strcmp (distro, "rocky") == 0;
}

/* What the Linux release sources said so far.  As in libguestfs, every
 * source that is consulted overwrites the product name it has: os-release
 * PRETTY_NAME, then (when os-release did not settle the version) the
 * lsb-release DISTRIB_DESCRIPTION, then the first line of the release file
 * (Debian's "12.4", "CentOS Linux release 7.9.2009 (Core)"). */
struct linux_info {
  const char *distro; /* static */
  bool have_version;
  int major;
  int minor;
  char *product;
  char *build_id;
};

static void
linux_info_clear (struct linux_info *li)
{
  free (li->product);
  free (li->build_id);
  memset (li, 0, sizeof *li);
}

static void
set_product (struct linux_info *li, char *product)
{
  if (!product)
    return;
  free (li->product);
  li->product = product;
}

/* The first of paths that exists (/etc/os-release, else
 * /usr/lib/os-release).  Returns 1 when it settled distro and version, 0 to
 * go on, -errno on host failure. */
static int
check_os_release (struct root_ctx *c, struct linux_info *li,
                  const char *const *paths, size_t n_paths)
{
  for (size_t i = 0; i < n_paths; i++) {
    _cleanup_free_ char *buf = NULL;
    size_t len;
    int r = read_guest_file (c, paths[i], &buf, &len);
    if (r < 0)
      return r;
    if (r == 0)
      continue;

    struct parsed_os_release osr;
    parse_os_release (buf, len, &osr);
    const char *d = parse_distro_of_os_release_id (osr.id);
    if (osr.id && !d)
      log_debug (LOG_CAT_INSPECT, "%s: %s: unknown ID=%s", c->device, paths[i],
                 osr.id);
    const bool have_pretty = osr.pretty_name != NULL;
    set_product (li, TAKE_PTR (osr.pretty_name));
    if (osr.build_id) {
      free (li->build_id);
      li->build_id = TAKE_PTR (osr.build_id);
    }
    if (d) {
      li->distro = d;
      if (osr.version_id)
        li->have_version
            = parse_version (osr.version_id, &li->major, &li->minor);
    }
    parsed_os_release_clear (&osr);

    /* Like libguestfs: without ID and PRETTY_NAME, or with only a major
     * version where a release file has the minor, go on. */
    if (!d || !have_pretty)
      return 0;
    if (li->have_version)
      return !(needs_release_file_minor (d) && li->minor == 0);
    if (parse_distro_is_rolling (d)) {
      li->have_version = true;
      li->major = li->minor = 0;
      return 1;
    }
    return 0;
  }
  return 0;
}

static int
check_lsb_release (struct root_ctx *c, struct linux_info *li)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_guest_file (c, "/etc/lsb-release", &buf, &len);
  if (r <= 0)
    return r;

  struct parsed_lsb_release lsb;
  parse_lsb_release (buf, len, &lsb);
  const char *d = parse_distro_of_lsb_id (lsb.distrib_id);
  int done = 0;
  /* An lsb-release naming another distro than os-release did (a
   * derivative's leftover) says nothing about this one. */
  if (!d || !li->distro || strcmp (li->distro, d) == 0) {
    /* libguestfs: a known DISTRIB_ID or a DISTRIB_DESCRIPTION settles it
     * (a bare file with only LSB_VERSION does not). */
    done = d || lsb.distrib_description;
    set_product (li, TAKE_PTR (lsb.distrib_description));
    if (d)
      li->distro = d;
    int major, minor;
    if (lsb.distrib_release
        && parse_version (lsb.distrib_release, &major, &minor)) {
      li->have_version = true;
      li->major = major;
      li->minor = minor;
    }
  }
  parsed_lsb_release_clear (&lsb);
  return done;
}

static int
check_release_files (struct root_ctx *c, struct linux_info *li)
{
  for (size_t i = 0; parse_release_files[i]; i++) {
    const char *path = parse_release_files[i];
    if (!exists_in_root (c->rootfd, path))
      continue;

    _cleanup_free_ char *buf = NULL;
    size_t len;
    int r = read_guest_file (c, path, &buf, &len);
    if (r < 0)
      return r;
    if (r == 0)
      continue;

    struct parsed_release rel;
    if (!parse_release_file (path, buf, len, &rel))
      continue;
    if (strcmp (path, "/etc/br-version") == 0
        && is_file_in_root (c->rootfd, "/usr/share/cirros/logo"))
      rel.distro = "cirros";

    /* A release file of another distro than os-release named (a
     * leftover, a derivative's extra file) says nothing about this one. */
    if (li->distro && strcmp (li->distro, rel.distro) != 0) {
      parsed_release_clear (&rel);
      continue;
    }
    li->distro = rel.distro;
    if (rel.have_version) {
      li->have_version = true;
      li->major = rel.major;
      li->minor = rel.minor;
    }
    set_product (li, TAKE_PTR (rel.product_name));
    parsed_release_clear (&rel);
    return 1;
  }
  return 0;
}

static const char *const os_release_paths[]
    = { "/etc/os-release", "/usr/lib/os-release" };

/* Fill distro, version, product name and build id of a Linux (or Hurd)
 * root. */
static int
check_linux_distro (struct root_ctx *c, struct inspect_os *os)
{
  struct linux_info li = { 0 };
  int r = check_os_release (c, &li, os_release_paths,
                            ARRAY_SIZE (os_release_paths));
  if (r == 0)
    r = check_lsb_release (c, &li);
  if (r == 0)
    r = check_release_files (c, &li);
  if (r < 0) {
    linux_info_clear (&li);
    return r;
  }

  if (li.distro && !li.have_version && parse_distro_is_rolling (li.distro))
    li.have_version = true;
  os->distro = xstrdup (li.distro ? li.distro : "unknown");
  if (li.have_version) {
    os->major_version = li.major;
    os->minor_version = li.minor;
  }
  os->product_name = TAKE_PTR (li.product);
  os->build_id = TAKE_PTR (li.build_id);
  linux_info_clear (&li);
  return 0;
}

/* Distro, version and product from one release text file (BSD, Minix). */
static int
check_release_text (struct root_ctx *c, struct inspect_os *os, const char *path,
                    const char *distro, const char *regex)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_guest_file (c, path, &buf, &len);
  if (r <= 0)
    return r;
  struct parsed_release rel;
  if (parse_release_text (distro, regex, buf, len, &rel)) {
    if (rel.have_version) {
      os->major_version = rel.major;
      os->minor_version = rel.minor;
    }
    free (os->product_name);
    os->product_name = TAKE_PTR (rel.product_name);
  }
  parsed_release_clear (&rel);
  return 0;
}

static int
check_arch (struct root_ctx *c, struct inspect_os *os)
{
  static const char *const binaries[] = {
    "/bin/bash", "/bin/ls", "/bin/echo", "/bin/rm", "/bin/sh",
  };
  for (size_t i = 0; i < ARRAY_SIZE (binaries); i++) {
    unsigned char head[64];
    ssize_t n = read_head_in_root (c->rootfd, binaries[i], head, sizeof head);
    if (n < 0) {
      if (host_error ((int)n))
        return (int)n;
      continue;
    }
    const char *arch = parse_elf_arch (head, (size_t)n);
    if (arch) {
      os->arch = xstrdup (arch);
      return 0;
    }
    log_debug (LOG_CAT_INSPECT, "%s: %s: not an ELF binary of a known arch",
               c->device, binaries[i]);
  }
  return 0;
}

/* Hostname from the first of the files that has one. */
static int
check_hostname_files (struct root_ctx *c, struct inspect_os *os,
                      const char *const *files, size_t n_files)
{
  for (size_t i = 0; i < n_files && !os->hostname; i++) {
    _cleanup_free_ char *buf = NULL;
    size_t len;
    int r = read_guest_file (c, files[i], &buf, &len);
    if (r < 0)
      return r;
    if (r > 0)
      os->hostname = parse_hostname (buf, len);
  }
  return 0;
}

/* Hostname from a shell-style variable (sysconfig/network, rc.conf). */
static int
check_hostname_var (struct root_ctx *c, struct inspect_os *os, const char *path,
                    const char *key)
{
  if (os->hostname)
    return 0;
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_guest_file (c, path, &buf, &len);
  if (r <= 0)
    return r;
  char *h = parse_shell_var (buf, len, key);
  if (h && !*h) {
    free (h);
    h = NULL;
  }
  os->hostname = h;
  return 0;
}

static int
check_fstab (struct root_ctx *c, struct inspect_os *os)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_guest_file (c, "/etc/fstab", &buf, &len);
  if (r <= 0)
    return r;
  _cleanup_free_ char *what = xasprintf ("%s: /etc/fstab", c->device);
  return parse_fstab (buf, len, what, &os->fstab, &os->n_fstab, c->warnings);
}

enum root_type {
  ROOT_NONE,
  ROOT_LINUX,
  ROOT_FREEBSD,
  ROOT_NETBSD,
  ROOT_OPENBSD,
  ROOT_HURD,
  ROOT_MINIX,
};

static enum root_type
classify_root (int rootfd)
{
  const bool etc = is_dir_in_root (rootfd, "/etc");
  const bool bin = is_dir_in_root (rootfd, "/bin");
  const bool fstab = is_file_in_root (rootfd, "/etc/fstab");

  if (etc && bin && fstab
      && is_file_in_root (rootfd, "/etc/freebsd-update.conf"))
    return ROOT_FREEBSD;
  if (etc && bin && fstab && is_file_in_root (rootfd, "/netbsd")
      && is_file_in_root (rootfd, "/etc/release"))
    return ROOT_NETBSD;
  if (etc && bin && fstab && is_file_in_root (rootfd, "/bsd")
      && is_file_in_root (rootfd, "/etc/motd"))
    return ROOT_OPENBSD;
  if (is_file_in_root (rootfd, "/hurd/console")
      && is_file_in_root (rootfd, "/hurd/hello")
      && is_file_in_root (rootfd, "/hurd/null"))
    return ROOT_HURD;
  if (etc && bin && fstab && is_file_in_root (rootfd, "/service/vm")
      && is_file_in_root (rootfd, "/etc/version"))
    return ROOT_MINIX;
  if (etc && (bin || bin_is_usr_bin_link (rootfd))
      && (fstab || is_file_in_root (rootfd, "/etc/hosts")))
    return ROOT_LINUX;
  return ROOT_NONE;
}

static char *
or_unknown (char *s)
{
  return s ? s : xstrdup ("unknown");
}

/* Fill the fields a root of kind t has; -errno on host failure. */
static int
check_root_fields (struct root_ctx *c, enum root_type t, struct inspect_os *os)
{
  static const char *const linux_hostnames[]
      = { "/etc/HOSTNAME", "/etc/hostname" };
  static const char *const openbsd_hostnames[] = { "/etc/myname" };
  static const char *const minix_hostnames[] = { "/etc/hostname.file" };
  int r = 0;

  switch (t) {
  case ROOT_LINUX:
  case ROOT_HURD:
    os->type = xstrdup (t == ROOT_LINUX ? "linux" : "hurd");
    if ((r = check_linux_distro (c, os)) < 0)
      return r;
    if ((r = check_hostname_files (c, os, linux_hostnames,
                                   ARRAY_SIZE (linux_hostnames)))
        < 0)
      return r;
    r = check_hostname_var (c, os, "/etc/sysconfig/network", "HOSTNAME");
    break;
  case ROOT_FREEBSD:
    os->type = xstrdup ("freebsd");
    os->distro = xstrdup ("freebsd");
    if ((r = check_release_text (c, os, "/etc/motd", "freebsd", NULL)) < 0)
      return r;
    r = check_hostname_var (c, os, "/etc/rc.conf", "hostname");
    break;
  case ROOT_NETBSD:
    os->type = xstrdup ("netbsd");
    os->distro = xstrdup ("netbsd");
    if ((r = check_release_text (c, os, "/etc/release", "netbsd",
                                 "^NetBSD ([0-9]+)\\.([0-9]+)"))
        < 0)
      return r;
    r = check_hostname_var (c, os, "/etc/rc.conf", "hostname");
    break;
  case ROOT_OPENBSD:
    os->type = xstrdup ("openbsd");
    os->distro = xstrdup ("openbsd");
    if ((r = check_release_text (c, os, "/etc/motd", "openbsd",
                                 "^OpenBSD ([0-9]+|\\?)\\.([0-9]+|\\?)"))
        < 0)
      return r;
    r = check_hostname_files (c, os, openbsd_hostnames, 1);
    break;
  case ROOT_MINIX:
    os->type = xstrdup ("minix");
    if ((r = check_release_text (c, os, "/etc/version", "unknown",
                                 "^([0-9]+)\\.([0-9]+)"))
        < 0)
      return r;
    r = check_hostname_files (c, os, minix_hostnames, 1);
    break;
  case ROOT_NONE:
    break;
  }
  if (r < 0)
    return r;

  if ((r = check_arch (c, os)) < 0)
    return r;
  /* Minix device names cannot be mapped (libguestfs skips its fstab too). */
  if (t != ROOT_MINIX && (r = check_fstab (c, os)) < 0)
    return r;
  return 0;
}

int
inspect_root (int rootfd, const char *device, struct inspect_os *ret_os,
              struct strv *warnings)
{
  struct root_ctx c = { .rootfd = rootfd,
                        .device = device ? device : "?",
                        .warnings = warnings };
  struct inspect_os *os = ret_os;

  memset (os, 0, sizeof *os);
  enum root_type t = classify_root (rootfd);
  if (t == ROOT_NONE)
    return 0;
  log_debug (LOG_CAT_INSPECT, "%s: OS root (kind %d)", c.device, (int)t);

  int r = check_root_fields (&c, t, os);
  if (r < 0) {
    inspect_os_clear (os);
    return r;
  }

  os->root_device = xstrdup (c.device);
  os->root_id = inspect_root_id (c.device);
  os->distro = or_unknown (os->distro);
  os->product_name = or_unknown (os->product_name);
  os->product_variant = or_unknown (os->product_variant);
  os->arch = or_unknown (os->arch);
  os->hostname = or_unknown (os->hostname);
  os->build_id = or_unknown (os->build_id);
  os->package_format = xstrdup (parse_package_format (os->distro));
  os->package_management
      = xstrdup (parse_package_management (os->distro, os->major_version));
  os->osinfo = parse_osinfo (os->type, os->distro, os->major_version,
                             os->minor_version, os->product_name);
  /* Applications are read later by inspect_applications_all, once the
   * guest's fstab tells where /var and /usr are. */
  return 1;
}

/* The filesystem os's fstab mounts on /usr, or -1. */
static int
find_usr_fs (const struct inspect_os *os, const struct inspect_fs *fs,
             size_t n_fs)
{
  for (size_t j = 0; j < os->n_fstab; j++) {
    const struct inspect_fstab_entry *e = &os->fstab[j];
    if (!inspect_fstab_entry_wanted (e) || strcmp (e->mountpoint, "/usr") != 0)
      continue;
    int idx = inspect_resolve_fstab_entry (e, fs, n_fs);
    if (idx >= 0 && fs[idx].rootfd >= 0)
      return idx;
  }
  return -1;
}

int
inspect_root_usr (struct inspect_os *os, const struct inspect_fs *fs,
                  size_t n_fs, struct strv *warnings)
{
  if (!os || !os->type || strcmp (os->type, "linux") != 0)
    return 0;
  const bool want_distro = !os->distro || strcmp (os->distro, "unknown") == 0;
  const bool want_version = os->major_version == 0 && os->minor_version == 0;
  const bool want_product
      = !os->product_name || strcmp (os->product_name, "unknown") == 0;
  const bool want_arch = !os->arch || strcmp (os->arch, "unknown") == 0;
  if (!want_distro && !want_version && !want_product && !want_arch)
    return 0;
  int idx = find_usr_fs (os, fs, n_fs);
  if (idx < 0)
    return 0;

  /* The /usr filesystem seen from its own root: /usr/lib/os-release is
   * /lib/os-release there, /usr/bin/bash is /bin/bash (libguestfs reads
   * the same paths from a separate /usr). */
  _cleanup_free_ char *what
      = xasprintf ("%s (/usr of %s)", fs[idx].device,
                   os->root_device ? os->root_device : "?");
  struct root_ctx c
      = { .rootfd = fs[idx].rootfd, .device = what, .warnings = warnings };
  static const char *const usr_os_release[] = { "/lib/os-release" };
  struct linux_info li = { 0 };
  int r = check_os_release (&c, &li, usr_os_release, 1);
  if (r < 0) {
    linux_info_clear (&li);
    return r;
  }
  log_debug (LOG_CAT_INSPECT, "%s: /usr on %s: distro %s", os->root_device,
             fs[idx].device, li.distro ? li.distro : "?");

  /* Merged field by field: the root's own values win. */
  bool distro_changed = false;
  if (want_distro && li.distro) {
    free (os->distro);
    os->distro = xstrdup (li.distro);
    distro_changed = true;
  }
  const bool same_distro = li.distro && os->distro
                           && strcmp (os->distro, li.distro) == 0;
  if (want_version && same_distro && li.have_version) {
    os->major_version = li.major;
    os->minor_version = li.minor;
  }
  if (want_product && same_distro && li.product) {
    free (os->product_name);
    os->product_name = TAKE_PTR (li.product);
  }
  if (same_distro && li.build_id && os->build_id
      && strcmp (os->build_id, "unknown") == 0) {
    free (os->build_id);
    os->build_id = TAKE_PTR (li.build_id);
  }
  linux_info_clear (&li);

  if (want_arch) {
    struct inspect_os tmp = { 0 };
    r = check_arch (&c, &tmp);
    if (r < 0)
      return r;
    if (tmp.arch) {
      free (os->arch);
      os->arch = tmp.arch;
    }
  }

  if (distro_changed || want_version) {
    free (os->package_format);
    free (os->package_management);
    free (os->osinfo);
    os->package_format = xstrdup (parse_package_format (os->distro));
    os->package_management
        = xstrdup (parse_package_management (os->distro, os->major_version));
    os->osinfo = parse_osinfo (os->type, os->distro, os->major_version,
                               os->minor_version, os->product_name);
  }
  return 1;
}
