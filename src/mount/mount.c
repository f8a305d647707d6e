/* nguestmount: detached mounts of guest filesystems (see mount.h).
 *
 * A mount is made with the new mount API: fsopen() gives a filesystem
 * context, fsconfig() sets the source and options and creates the
 * superblock, fsmount() turns it into a mount that is attached nowhere and
 * held only by its fd.  The fs context fd also carries the kernel's own
 * error messages ("e xfs: ..."), which are read back for the user.
 *
 * Read-only mounts walk a ladder: plain "ro" first, then the options that
 * skip journal/log replay where the filesystem has them, each rung with a
 * fresh context.  Replaying a journal writes to the device, so read-only
 * mounts are meant for read-only block devices (the kernel then refuses to
 * replay and the next rung is tried) — the guest image stays untouched.
 *
 * Thread safety: mount_fstype_supported reads /proc/filesystems once
 * (pthread_once); everything else keeps no state.
 */
#include <config.h>

#include <errno.h>
#include <libmount/libmount.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "mount/mount.h"

/* ---------------------------------------------------------------------- */
/* Which filesystems the kernel mounts itself. */

static pthread_once_t kernel_fs_once = PTHREAD_ONCE_INIT;
static struct strv kernel_fs;   /* block filesystems of /proc/filesystems */

/* Block filesystems (those without "nodev") of /proc/filesystems. */
static void
kernel_fs_read (struct strv *ret)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/filesystems", "re");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  ssize_t len;

  if (!f) {
    log_debug (LOG_CAT_MOUNT, "cannot read /proc/filesystems: %s",
               strerror (errno));
    return;
  }
  /* Lines: "nodev\tproc" for virtual filesystems, "\text4" for block
   * filesystems. */
  while ((len = getline (&line, &cap, f)) > 0) {
    if (line[len - 1] == '\n')
      line[len - 1] = '\0';
    if (str_has_prefix (line, "nodev"))
      continue;
    char *name = strstrip (line);
    if (*name)
      strv_push (ret, xstrdup (name));
  }
}

static void
kernel_fs_load (void)
{
  kernel_fs_read (&kernel_fs);
}

/* A filesystem built as a module appears in /proc/filesystems only once
 * loaded.  fsopen() loads it (as mount(8) would), when we may mount at
 * all; then the list is read again. */
static bool
kernel_fs_autoload (const char *fstype)
{
  for (const char *p = fstype; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
          || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
      return false;
  int fd = fsopen (fstype, FSOPEN_CLOEXEC);
  if (fd < 0)
    return false;
  close (fd);

  struct strv now = { 0 };
  kernel_fs_read (&now);
  bool found = strv_contains (&now, fstype);
  strv_clear (&now);
  log_debug (LOG_CAT_MOUNT, "filesystem %s %s after loading its driver",
             fstype, found ? "available" : "still unknown");
  return found;
}

/* blkid types that are containers or members, never mounted directly. */
static bool
fstype_is_container (const char *fstype)
{
  static const char *const refused[] = {
    "swap", "swsuspend", "crypto_LUKS", "BitLocker", "LVM1_member",
    "LVM2_member", "linux_raid_member", "zfs_member", "ceph", "bcache",
    "VMFS_volume_member", "DM_integrity", "DM_snapshot_cow", "DM_verity",
    "drbd", "TrueCrypt", "VeraCrypt",
  };
  for (size_t i = 0; i < ARRAY_SIZE (refused); i++)
    if (strcmp (fstype, refused[i]) == 0)
      return true;
  /* Every RAID or multipath member type libblkid knows ends like this
   * (isw_raid_member, ddf_raid_member, ...). */
  return str_has_suffix (fstype, "_member");
}

bool
mount_fstype_supported (const char *fstype)
{
  if (!fstype || !*fstype || fstype_is_container (fstype))
    return false;
  pthread_once (&kernel_fs_once, kernel_fs_load);
  /* fuseblk is listed as a block filesystem but needs a FUSE daemon. */
  if (strcmp (fstype, "fuseblk") == 0)
    return false;
  return strv_contains (&kernel_fs, fstype) || kernel_fs_autoload (fstype);
}

/* ---------------------------------------------------------------------- */
/* Detached mounts. */

/* The ladder.  Each rung adds one option to "ro"; a rung applies only to
 * the filesystems that know its option. */
struct rung {
  const char *used;             /* reported in *ret_used */
  const char *option;           /* extra option, NULL for none */
  const char *const *fstypes;   /* NULL: every filesystem */
};

static const char *const noload_fs[] = { "ext3", "ext4", NULL };
static const char *const norecovery_fs[] = { "xfs", "ext4", NULL };
static const char *const nologreplay_fs[] = { "btrfs", NULL };

static const struct rung ro_ladder[] = {
  { "ro", NULL, NULL },
  { "ro,noload", "noload", noload_fs },
  { "ro,norecovery", "norecovery", norecovery_fs },
  { "ro,rescue=nologreplay", "rescue=nologreplay", nologreplay_fs },
};

static bool
rung_applies (const struct rung *rung, const char *fstype)
{
  if (!rung->fstypes)
    return true;
  for (const char *const *t = rung->fstypes; *t; t++)
    if (strcmp (*t, fstype) == 0)
      return true;
  return false;
}

/* One option, "key" or "key=value". */
static int
config_option (int fsfd, const char *opt)
{
  const char *eq = strchr (opt, '=');
  int r;

  if (eq) {
    _cleanup_free_ char *key = strndup (opt, eq - opt);
    if (!key)
      return -ENOMEM;
    r = fsconfig (fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0);
  }
  else
    r = fsconfig (fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
  return r < 0 ? -errno : 0;
}

/* Options that are properties of the mount, not of the filesystem: the
 * new mount API takes them as fsmount() attributes, and fsconfig() would
 * refuse them.  nosuid and nodev are always set and cannot be lifted. */
static const struct {
  const char *name;
  unsigned set;                 /* attribute bits to set */
  unsigned clear;               /* attribute bits to clear first */
} mount_attr_options[] = {
  { "defaults", 0, 0 },
  { "nosuid", 0, 0 }, { "suid", 0, 0 },
  { "nodev", 0, 0 }, { "dev", 0, 0 },
  { "noexec", MOUNT_ATTR_NOEXEC, 0 }, { "exec", 0, MOUNT_ATTR_NOEXEC },
  { "noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
  { "relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
  { "strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
  { "nodiratime", MOUNT_ATTR_NODIRATIME, 0 },
  { "diratime", 0, MOUNT_ATTR_NODIRATIME },
};

static bool
mount_attr_option (const char *opt, unsigned *attr)
{
  for (size_t i = 0; i < ARRAY_SIZE (mount_attr_options); i++)
    if (strcmp (opt, mount_attr_options[i].name) == 0) {
      *attr = (*attr & ~mount_attr_options[i].clear)
              | mount_attr_options[i].set;
      return true;
    }
  return false;
}

/* A comma-separated list, split naively (no quoting).  Mount attributes
 * go to *attr, everything else to the filesystem. */
static int
config_options (int fsfd, const char *options, unsigned *attr)
{
  if (!options)
    return 0;
  _cleanup_free_ char *copy = xstrdup (options);
  char *save = NULL;
  for (char *opt = strtok_r (copy, ",", &save); opt;
       opt = strtok_r (NULL, ",", &save)) {
    if (mount_attr_option (opt, attr))
      continue;
    int r = config_option (fsfd, opt);
    if (r < 0) {
      log_debug (LOG_CAT_MOUNT, "option \"%s\" refused: %s", opt,
                 strerror (-r));
      return r;
    }
  }
  return 0;
}

/* Drain the fs context's message log.  Errors and warnings go to *msgs
 * (when not NULL); everything is logged at debug level. */
static void
read_kernel_messages (int fsfd, struct strv *msgs)
{
  char buf[1024];

  /* The kernel keeps at most a handful of messages; the bound only guards
   * against a loop that never ends. */
  for (int i = 0; i < 64; i++) {
    ssize_t n = read (fsfd, buf, sizeof buf - 1);
    if (n <= 0)
      break;
    buf[n] = '\0';
    char *text = buf;
    if (n >= 2 && buf[1] == ' ')
      text = buf + 2;
    _cleanup_free_ char *clean = sanitize_string (strstrip (text), 512);
    log_debug (LOG_CAT_MOUNT, "kernel: %c %s", buf[0], clean);
    if (msgs && (buf[0] == 'e' || buf[0] == 'w') && *clean
        && !strv_contains (msgs, clean))
      strv_push (msgs, TAKE_PTR (clean));
  }
}

static char *
join_messages (const struct strv *msgs)
{
  size_t len = 1;
  for (size_t i = 0; i < msgs->n; i++)
    len += strlen (msgs->v[i]) + 2;
  char *s = xcalloc (len, 1);
  for (size_t i = 0; i < msgs->n; i++) {
    if (i > 0)
      strcat (s, "; ");
    strcat (s, msgs->v[i]);
  }
  return s;
}

/* Configure the context and create the superblock.  *ret_config_failed
 * tells an option that was refused before the superblock was even looked
 * at (no other rung can help then). */
static int
mount_configure (int fsfd, const char *fstype, const char *source,
                 const char *options, bool readonly, const char *rung_option,
                 unsigned *attr, bool *ret_config_failed)
{
  int r;

  *ret_config_failed = true;
  if (fsconfig (fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
    return -errno;
  if (readonly && fsconfig (fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
    return -errno;
  /* XFS refuses a second filesystem with the same UUID anywhere on the
   * host: clones of one VM, two copies of an image, or a guest made from
   * the host's own image.  Our mounts are private, so the check protects
   * nothing here. */
  if (strcmp (fstype, "xfs") == 0
      && fsconfig (fsfd, FSCONFIG_SET_FLAG, "nouuid", NULL, 0) < 0)
    log_debug (LOG_CAT_MOUNT, "xfs: nouuid refused: %m");
  r = config_options (fsfd, options, attr);
  if (r < 0)
    return r;

  /* An old kernel without the rung's option: the next rung may work. */
  *ret_config_failed = false;
  if (rung_option) {
    r = config_option (fsfd, rung_option);
    if (r < 0)
      return r;
  }
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -errno;
  return 0;
}

/* One attempt with a fresh context.  *ret_reason gets the kernel's
 * messages or, without any, the error text. */
static int
mount_once (const char *source, const char *fstype, const char *options,
            bool readonly, const char *rung_option, int *ret_mntfd,
            char **ret_reason, bool *ret_config_failed)
{
  _cleanup_close_ int fsfd = -1;
  int r;

  *ret_config_failed = false;
  fsfd = fsopen (fstype, FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    r = -errno;
    if (r == -ENODEV)
      *ret_reason = xstrdup ("the kernel has no driver for this filesystem");
    else if (r == -ENOSYS)
      *ret_reason = xstrdup ("the kernel has no fsopen() (the new mount API "
                             "needs Linux 5.2 or newer)");
    else
      *ret_reason = xstrdup (strerror (-r));
    return r;
  }

  unsigned attr = 0;
  r = mount_configure (fsfd, fstype, source, options, readonly, rung_option,
                       &attr, ret_config_failed);
  if (r == 0) {
    attr |= MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (readonly)
      attr |= MOUNT_ATTR_RDONLY;
    int mntfd = fsmount (fsfd, FSMOUNT_CLOEXEC, attr);
    if (mntfd >= 0) {
      read_kernel_messages (fsfd, NULL);
      *ret_mntfd = mntfd;
      return 0;
    }
    r = -errno;
  }

  struct strv msgs = { 0 };
  read_kernel_messages (fsfd, &msgs);
  *ret_reason = msgs.n > 0 ? join_messages (&msgs) : xstrdup (strerror (-r));
  strv_clear (&msgs);
  return r;
}

/* Errors that no other rung of the ladder can cure. */
static bool
ladder_stops (int r)
{
  switch (-r) {
  case ENODEV: case ENOENT: case ENOTBLK: case ENXIO: case ENOMEM:
  case EPERM: case EACCES: case EBUSY: case EMFILE: case ENFILE:
  case ENOSYS:
    return true;
  default:
    return false;
  }
}

int
mount_detached (const char *source, const char *fstype, const char *options,
                bool readonly, int *ret_mntfd, char **ret_used,
                char **ret_msg)
{
  struct strv reasons = { 0 }, distinct = { 0 };
  int first_err = 0;
  int r;

  if (!source || !*source || !fstype || !*fstype || !ret_mntfd)
    return set_errmsg (ret_msg, -EINVAL, "no device or filesystem type");

  if (!readonly) {
    _cleanup_free_ char *reason = NULL;
    bool config_failed;
    log_debug (LOG_CAT_MOUNT, "mount %s (%s) rw%s%s", source, fstype,
               options && *options ? "," : "", options ?: "");
    r = mount_once (source, fstype, options, false, NULL, ret_mntfd, &reason,
                    &config_failed);
    if (r < 0) {
      log_debug (LOG_CAT_MOUNT, "mount %s rw failed: %s", source, reason);
      return set_errmsg (ret_msg, r, "%s", reason);
    }
    if (ret_used)
      *ret_used = xstrdup ("rw");
    return 0;
  }

  for (size_t i = 0; i < ARRAY_SIZE (ro_ladder); i++) {
    const struct rung *rung = &ro_ladder[i];
    _cleanup_free_ char *reason = NULL;
    bool config_failed;

    if (!rung_applies (rung, fstype))
      continue;
    log_debug (LOG_CAT_MOUNT, "mount %s (%s) %s%s%s", source, fstype,
               rung->used, options && *options ? "," : "", options ?: "");
    r = mount_once (source, fstype, options, true, rung->option, ret_mntfd,
                    &reason, &config_failed);
    if (r == 0) {
      log_debug (LOG_CAT_MOUNT, "mounted %s with %s", source, rung->used);
      strv_clear (&reasons);
      strv_clear (&distinct);
      if (ret_used)
        *ret_used = xstrdup (rung->used);
      return 0;
    }
    log_debug (LOG_CAT_MOUNT, "mount %s with %s failed: %s", source,
               rung->used, reason);
    if (!first_err)
      first_err = r;
    strv_pushf (&reasons, "%s: %s", rung->used, reason);
    if (!strv_contains (&distinct, reason))
      strv_push (&distinct, xstrdup (reason));
    if (config_failed || ladder_stops (r))
      break;
  }

  /* When every rung failed for the same reason (or there was only one),
   * the reason speaks for itself; otherwise name the rungs. */
  _cleanup_free_ char *all = NULL;
  if (distinct.n == 1)
    all = xstrdup (distinct.v[0]);
  else
    all = join_messages (&reasons);
  strv_clear (&reasons);
  strv_clear (&distinct);
  return set_errmsg (ret_msg, first_err ?: -EINVAL, "%s", all);
}

/* ---------------------------------------------------------------------- */
/* Guest fstab options. */

/* A value we are willing to pass on: not empty, no separator, nothing
 * that is not printable ASCII or UTF-8. */
static bool
option_value_ok (const char *v, size_t len)
{
  if (len == 0 || len > 4096)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = v[i];
    if (c < 0x20 || c == 0x7f || c == ',' || c == '"')
      return false;
  }
  return true;
}

static bool
all_digits (const char *v, size_t len)
{
  if (len == 0 || len > 20)
    return false;
  for (size_t i = 0; i < len; i++)
    if (v[i] < '0' || v[i] > '9')
      return false;
  return true;
}

char *
mount_filter_guest_options (const char *fstype, const char *options)
{
  if (!fstype || strcmp (fstype, "btrfs") != 0 || !options)
    return xstrdup ("");

  /* The kernel takes the last of repeated options; so do we. */
  _cleanup_free_ char *subvol = NULL, *subvolid = NULL;
  _cleanup_free_ char *copy = xstrdup (options);
  char *p = copy, *name, *value;
  size_t namesz, valuesz;
  int r;

  while ((r = mnt_optstr_next_option (&p, &name, &namesz, &value,
                                      &valuesz)) == 0) {
    bool is_subvol = namesz == 6 && memcmp (name, "subvol", 6) == 0;
    bool is_subvolid = namesz == 8 && memcmp (name, "subvolid", 8) == 0;
    if (!is_subvol && !is_subvolid)
      continue;
    if (value && valuesz >= 2 && value[0] == '"'
        && value[valuesz - 1] == '"') {       /* subvol="@home" */
      value++;
      valuesz -= 2;
    }
    if (!value || !option_value_ok (value, valuesz)
        || (is_subvolid && !all_digits (value, valuesz))) {
      log_debug (LOG_CAT_MOUNT, "guest option %.*s with an unusable value "
                 "ignored", (int) namesz, name);
      continue;
    }
    char *v = xasprintf ("%.*s", (int) valuesz, value);
    if (is_subvol) {
      free (subvol);
      subvol = v;
    }
    else {
      free (subvolid);
      subvolid = v;
    }
  }
  if (r < 0)
    log_debug (LOG_CAT_MOUNT, "guest options \"%s\" do not parse; kept what "
               "came before the error", options);

  char *res = NULL;
  if ((subvol && mnt_optstr_append_option (&res, "subvol", subvol) < 0)
      || (subvolid
          && mnt_optstr_append_option (&res, "subvolid", subvolid) < 0)) {
    /* Only out of memory: the values were checked above. */
    fputs ("nguestmount: out of memory\n", stderr);
    abort ();
  }
  return res ?: xstrdup ("");
}
