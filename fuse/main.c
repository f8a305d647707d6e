/* nguestmount: main program.
 *
 * Order of work (design.md "Data flow"):
 *   attach images → discover partitions and filesystems → give each
 *   filesystem a loop device and a detached mount → inspect → place
 *   (-i / -m / --all) → serve the view → tear down in reverse order.
 *
 * Thread model: everything here runs on the main thread, which also forks
 * the qemu-nbd children (PR_SET_PDEATHSIG follows the forking thread, so
 * it must be the one that lives until teardown).  The block export and the
 * view each run their own FUSE worker threads.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/bdev.h"
#include "block/image.h"
#include "block/loop.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon.h"
#include "export.h"
#include "inspect/inspect.h"
#include "inspect/mdadm.h"
#include "keys.h"
#include "mount/btrfs.h"
#include "mount/mount.h"
#include "mount/helper.h"
#include "options.h"
#include "stack/stack.h"
#include "view.h"

/* A bdev given to the kernel through the block export. */
struct exported {
  struct bdev *b;
  int fd;
};

/* Per-candidate materialisation state, parallel to stack.fs. */
struct fsstate {
  int loopfd;          /* open until placement is done, then closed */
  char *loopdev;       /* "/dev/loopN" */
  int mntfd;           /* default mount, -1 if not mounted */
};

struct ctx {
  struct options *o;
  char *mountpoint;             /* absolute */
  struct bdev **disks;
  size_t n_disks;
  struct export *export;
  struct exported *exported;
  size_t n_exported;
  struct stack stack;
  struct fsstate *st;           /* stack.n_fs entries */
  struct inspection insp;
  int *extra_fds;               /* further mounts (subvolumes, -m options) */
  size_t n_extra;
  struct view_placement *pl;
  size_t n_pl;
  char **pl_paths;
  struct strv view_warnings;
  struct view *view;
  struct key_store keys;
  bool *mdconf_loaded;          /* per OS: mdadm.conf read */
  struct mdadm_array **mdconf;  /* per OS: its ARRAY lines */
  size_t *n_mdconf;
};

/* Publish b through the block export (once) and return the fd of its file. */
static int
export_fd (struct ctx *c, struct bdev *b, int *ret_fd)
{
  char *msg = NULL;

  for (size_t i = 0; i < c->n_exported; i++)
    if (c->exported[i].b == b) {
      *ret_fd = c->exported[i].fd;
      return 0;
    }
  if (!c->export) {
    int r = export_start (c->o->readonly, &c->export, &msg);
    if (r < 0) {
      log_debug (LOG_CAT_MAIN, "export_start: %s", msg ? msg : strerror (-r));
      free (msg);
      return r;
    }
  }
  int fd;
  int r = export_add (c->export, b, &fd, &msg);
  if (r < 0) {
    log_debug (LOG_CAT_MAIN, "export_add %s: %s", b->name,
               msg ? msg : strerror (-r));
    free (msg);
    return r;
  }
  c->exported = xrealloc_array (c->exported, c->n_exported + 1,
                                sizeof *c->exported);
  c->exported[c->n_exported++] = (struct exported) { bdev_ref (b), fd };
  *ret_fd = fd;
  return 0;
}

/* stack_ops.get_fd: host files directly, everything else exported. */
static int
get_fd (void *opaque, struct bdev *b, int *ret_fd, uint64_t *ret_offset)
{
  struct ctx *c = opaque;

  if (b->direct_fd >= 0) {
    *ret_fd = b->direct_fd;
    *ret_offset = b->direct_offset;
    return 0;
  }
  *ret_offset = 0;
  return export_fd (c, b, ret_fd);
}

/* stack_ops.get_path: a path that reads b from its first byte. */
static int
get_path (void *opaque, struct bdev *b, char **ret_path)
{
  struct ctx *c = opaque;
  int fd;

  if (b->direct_fd >= 0 && b->direct_offset == 0)
    fd = b->direct_fd;
  else {
    int r = export_fd (c, b, &fd);
    if (r < 0)
      return r;
  }
  *ret_path = xasprintf ("/proc/self/fd/%d", fd);
  return 0;
}

/* stack_ops.get_keys. */
static int
get_keys (void *opaque, const char *device, const char *uuid, char ***ret)
{
  struct ctx *c = opaque;
  return keys_candidates (&c->keys, device, uuid, ret);
}

/* Give candidate i a loop device (once). */
static int
ensure_loop (struct ctx *c, size_t i, char **ret_msg)
{
  struct fsinfo *f = &c->stack.fs[i];
  struct fsstate *s = &c->st[i];
  int fd;
  uint64_t off;

  if (s->loopdev)
    return 0;
  int r = get_fd (c, f->bdev, &fd, &off);
  if (r < 0)
    return set_errmsg (ret_msg, r, "cannot export %s: %s", f->device,
                       strerror (-r));
  /* Direct I/O for export files (no second page cache copy of the
   * guest's blocks); buffered for host files, like a plain loop mount. */
  bool direct = f->bdev->direct_fd < 0;
  return loop_attach (fd, off, f->bdev->size, c->o->readonly, direct, 0,
                      &s->loopfd, &s->loopdev, ret_msg);
}

/* Mount candidate i with extra options; returns the mount fd. */
static int
mount_candidate (struct ctx *c, size_t i, const char *fstype,
                 const char *options, int *ret_mntfd, char **ret_used,
                 char **ret_msg)
{
  /* btrfs subvolumes (insp.fs beyond stack.fs) are directories of a
   * mount, with no loop device of their own. */
  if (i >= c->stack.n_fs)
    return set_errmsg (ret_msg, -EINVAL,
                       "%s is a btrfs subvolume: mount its device instead",
                       c->insp.fs[i].device);
  int r = ensure_loop (c, i, ret_msg);
  if (r < 0)
    return r;
  return mount_detached (c->st[i].loopdev, fstype, options, c->o->readonly,
                         ret_mntfd, ret_used, ret_msg);
}

static void
add_extra_fd (struct ctx *c, int fd)
{
  c->extra_fds = xrealloc_array (c->extra_fds, c->n_extra + 1, sizeof (int));
  c->extra_fds[c->n_extra++] = fd;
}

static void
add_placement (struct ctx *c, const char *path, int fd)
{
  c->pl = xrealloc_array (c->pl, c->n_pl + 1, sizeof *c->pl);
  c->pl_paths = xrealloc_array (c->pl_paths, c->n_pl + 1, sizeof (char *));
  c->pl_paths[c->n_pl] = xstrdup (path);
  c->pl[c->n_pl] = (struct view_placement) { c->pl_paths[c->n_pl], fd };
  c->n_pl++;
}

static void
fill_devices (struct ctx *c)
{
  struct inspection *insp = &c->insp;
  size_t n = c->n_disks + c->stack.n_devices;
  insp->devices = xcalloc (n, sizeof *insp->devices);
  for (size_t i = 0; i < c->n_disks; i++) {
    struct inspect_device *d = &insp->devices[insp->n_devices++];
    d->name = xstrdup (c->disks[i]->name);
    d->type = xstrdup ("disk");
    d->size = c->disks[i]->size;
    d->format = xstrdup (c->o->images[i].format);
    d->source = xstrdup (c->o->images[i].path);
    d->opened = true;
  }
  for (size_t i = 0; i < c->stack.n_devices; i++) {
    const struct stack_device *sd = &c->stack.devices[i];
    struct inspect_device *d = &insp->devices[insp->n_devices++];
    d->name = xstrdup (sd->name);
    d->type = xstrdup (sd->type);
    d->size = sd->size;
    d->uuid = sd->uuid ? sanitize_string (sd->uuid, 256) : NULL;
    d->parent = sd->parents ? sanitize_string (sd->parents, 4096) : NULL;
    d->opened = sd->opened;
  }
}

/* Attach every image and find what is on them. */
static int
attach_and_discover (struct ctx *c, char **ret_msg)
{
  struct options *o = c->o;
  int r;

  c->disks = xcalloc (o->n_images, sizeof *c->disks);
  for (size_t i = 0; i < o->n_images; i++) {
    _cleanup_free_ char *name = bdev_disk_name ((unsigned) i);
    char *format = NULL;
    r = image_open (o->images[i].path, o->images[i].format, o->readonly,
                    o->allow_backing, name, &c->disks[i], &format, ret_msg);
    if (r < 0)
      return r;
    c->n_disks++;
    free (o->images[i].format);
    o->images[i].format = format;
    log_debug (LOG_CAT_MAIN, "%s: %s (%s, %llu bytes)", name,
               o->images[i].path, format ? format : "?",
               (unsigned long long) c->disks[i]->size);
  }

  /* Keys for LUKS: --key selectors, then --keys-from-stdin, then a
   * prompt on /dev/tty when neither was given. */
  for (size_t i = 0; i < o->keys.n; i++) {
    struct key_spec ks;
    r = keys_parse_selector (o->keys.v[i], &ks, ret_msg);
    if (r < 0)
      return r;
    keys_add (&c->keys, &ks);
  }
  if (o->keys_from_stdin) {
    r = keys_read_stdin (&c->keys, stdin);
    if (r < 0)
      return set_errmsg (ret_msg, r, "--keys-from-stdin: %s", strerror (-r));
  }
  c->keys.echo = o->echo_keys;
  c->keys.interactive = !o->keys_from_stdin && o->keys.n == 0;

  struct stack_ops ops = {
    .get_fd = get_fd,
    .get_path = get_path,
    .get_keys = get_keys,
    .free_keys = keys_free_candidates,
    .key_len = keys_candidate_len,
    .opaque = c,
    .readonly = o->readonly,
  };
  r = stack_discover_layers (c->disks, c->n_disks, &ops, &c->stack, ret_msg);
  if (r < 0)
    return r;
  for (size_t i = 0; i < c->stack.warnings.n; i++)
    strv_push (&c->insp.warnings, xstrdup (c->stack.warnings.v[i]));

  c->st = xcalloc (c->stack.n_fs ? c->stack.n_fs : 1, sizeof *c->st);
  for (size_t i = 0; i < c->stack.n_fs; i++)
    c->st[i] = (struct fsstate) { .loopfd = -1, .mntfd = -1 };
  return 0;
}

/* Most btrfs subvolumes looked at per filesystem (snapshots can be many). */
#define BTRFS_SUBVOLS_MAX 256

/* btrfs: every subvolume but the default one (which the device's own
 * mount shows) is a filesystem of its own, named as libguestfs names it,
 * "btrfsvol:/dev/sda2/@home", and reached as a directory of a top-level
 * (subvolid=5) mount of the same device.  They are appended to insp.fs,
 * after the entries that parallel stack.fs. */
static void
add_btrfs_subvolumes (struct ctx *c, size_t i)
{
  struct inspection *insp = &c->insp;
  _cleanup_free_ char *device = xstrdup (insp->fs[i].device);
  struct mount_btrfs_subvol *v = NULL;
  size_t n = 0;
  uint64_t def = 0;
  bool truncated = false;

  int r = mount_btrfs_subvolumes (c->st[i].mntfd, BTRFS_SUBVOLS_MAX, &def, &v,
                                  &n, &truncated);
  if (r < 0) {
    strv_pushf (&insp->warnings, "cannot list the btrfs subvolumes of %s: %s",
                device, strerror (-r));
    return;
  }
  size_t wanted = 0;
  for (size_t j = 0; j < n; j++)
    wanted += v[j].id != def;
  if (truncated)
    strv_pushf (&insp->warnings,
                "%s: more than %d btrfs subvolumes, the rest are ignored",
                device, BTRFS_SUBVOLS_MAX);
  log_debug (LOG_CAT_MAIN, "%s: %zu btrfs subvolumes, default %llu", device,
             n, (unsigned long long) def);
  if (wanted == 0) {
    mount_btrfs_subvols_free (v, n);
    return;
  }

  int topfd = c->st[i].mntfd;
  if (def != MOUNT_BTRFS_TOP_ID) {
    _cleanup_free_ char *msg = NULL, *used = NULL;
    r = mount_candidate (c, i, "btrfs", "subvolid=5", &topfd, &used, &msg);
    if (r < 0) {
      strv_pushf (&insp->warnings,
                  "cannot mount the top level of %s (btrfs): %s", device,
                  msg ? msg : strerror (-r));
      mount_btrfs_subvols_free (v, n);
      return;
    }
    add_extra_fd (c, topfd);
  }

  insp->fs = xrealloc_array (insp->fs, insp->n_fs + wanted, sizeof *insp->fs);
  for (size_t j = 0; j < n; j++) {
    if (v[j].id == def)
      continue;
    int fd = open_in_root (topfd, v[j].path, O_PATH | O_DIRECTORY);
    _cleanup_free_ char *shown = sanitize_string (v[j].path, 1024);
    if (fd < 0) {
      strv_pushf (&insp->warnings, "%s: cannot open btrfs subvolume %s: %s",
                  device, shown, strerror (-fd));
      continue;
    }
    add_extra_fd (c, fd);
    const struct inspect_fs *parent = &insp->fs[i];
    struct inspect_fs *fs = &insp->fs[insp->n_fs++];
    memset (fs, 0, sizeof *fs);
    fs->device = inspect_btrfsvol_device (device, shown);
    fs->type = xstrdup ("btrfs");
    fs->uuid = xstrdup (parent->uuid);
    fs->label = xstrdup (parent->label);
    fs->partuuid = xstrdup (parent->partuuid);
    fs->partlabel = xstrdup (parent->partlabel);
    fs->size = parent->size;
    fs->rootfd = fd;
    fs->mount_options = xstrdup (parent->mount_options);
  }
  mount_btrfs_subvols_free (v, n);
}

/* Mount every filesystem the kernel can mount, and describe them all. */
static void
mount_all (struct ctx *c)
{
  struct inspection *insp = &c->insp;
  insp->fs = xcalloc (c->stack.n_fs ? c->stack.n_fs : 1, sizeof *insp->fs);
  for (size_t i = 0; i < c->stack.n_fs; i++) {
    const struct fsinfo *f = &c->stack.fs[i];
    struct inspect_fs *fs = &insp->fs[insp->n_fs++];
    fs->device = xstrdup (f->device);
    fs->type = xstrdup (f->type);
    /* Values from the guest: shown in /.inspect, so made printable
     * (the fstab side is sanitized the same way, so matching holds). */
    fs->uuid = f->uuid ? sanitize_string (f->uuid, 256) : NULL;
    fs->label = f->label ? sanitize_string (f->label, 256) : NULL;
    fs->partuuid = f->partuuid ? sanitize_string (f->partuuid, 256) : NULL;
    fs->partlabel = f->partlabel ? sanitize_string (f->partlabel, 256) : NULL;
    fs->size = f->size;
    fs->rootfd = -1;

    if (!f->type)
      continue;
    /* What the kernel cannot mount, a FUSE driver may (ntfs-3g, ...). */
    bool helper = !mount_fstype_supported (f->type)
                  && helper_fstype_supported (f->type);
    if (!helper && !mount_fstype_supported (f->type))
      continue;
    _cleanup_free_ char *msg = NULL;
    char *used = NULL;
    int fd;
    int r;
    if (helper) {
      r = ensure_loop (c, i, &msg);
      if (r >= 0)
        r = helper_mount (c->st[i].loopdev, f->type, c->o->readonly, &fd,
                          &used, &msg);
    }
    else
      r = mount_candidate (c, i, f->type, NULL, &fd, &used, &msg);
    if (r < 0) {
      strv_pushf (&insp->warnings, "cannot mount %s (%s): %s", f->device,
                  f->type, msg ? msg : strerror (-r));
      continue;
    }
    log_debug (LOG_CAT_MAIN, "mounted %s (%s) with %s", f->device, f->type,
               used);
    c->st[i].mntfd = fd;
    fs->rootfd = fd;
    fs->mount_options = used;
  }
  /* After the loop: add_btrfs_subvolumes grows insp->fs. */
  size_t n_devices = insp->n_fs;
  for (size_t i = 0; i < n_devices; i++)
    if (insp->fs[i].rootfd >= 0 && insp->fs[i].type
        && strcmp (insp->fs[i].type, "btrfs") == 0)
      add_btrfs_subvolumes (c, i);
}

static void
inspect_all (struct ctx *c)
{
  struct inspection *insp = &c->insp;
  struct inspect_partition *parts = NULL;
  size_t n_parts = 0;
  bool scanned = false;
  for (size_t i = 0; i < insp->n_fs; i++) {
    if (insp->fs[i].rootfd < 0)
      continue;
    struct inspect_os os = { 0 };
    int r = inspect_root (insp->fs[i].rootfd, insp->fs[i].device, &os,
                          &insp->warnings);
    if (r == 1) {
      /* A separate /usr completes what the root alone cannot tell. */
      int u = inspect_root_usr (&os, insp->fs, insp->n_fs, &insp->warnings);
      if (u < 0)
        r = u;
    }
    if (r == 0) {
      inspect_os_clear (&os);
      r = inspect_windows_root (insp->fs[i].rootfd, insp->fs[i].device, &os,
                                &insp->warnings);
      if (r == 1) {
        /* Drive letters name partitions by MBR signature and offset or
         * by GPT GUID: read the partition tables once. */
        if (!scanned) {
          for (size_t d = 0; d < c->n_disks; d++) {
            int fd;
            uint64_t off;
            if (get_fd (c, c->disks[d], &fd, &off) == 0)
              inspect_windows_scan_disk (fd, off, c->disks[d]->size,
                                         c->disks[d]->name, &parts, &n_parts);
          }
          scanned = true;
        }
        inspect_windows_resolve_drives (&os, parts, n_parts);
      }
    }
    if (r == 1) {
      insp->os = xrealloc_array (insp->os, insp->n_os + 1, sizeof *insp->os);
      insp->os[insp->n_os++] = os;
    }
    else {
      inspect_os_clear (&os);
      if (r < 0)
        strv_pushf (&insp->warnings, "cannot inspect %s: %s",
                    insp->fs[i].device, strerror (-r));
    }
  }
  inspect_partitions_free (parts, n_parts);
}

static int
cmp_depth (const void *a, const void *b)
{
  const struct inspect_fstab_entry *const *x = a, *const *y = b;
  size_t dx = 0, dy = 0;
  for (const char *p = (*x)->mountpoint; *p; p++)
    dx += *p == '/';
  for (const char *p = (*y)->mountpoint; *p; p++)
    dy += *p == '/';
  if (dx != dy)
    return dx < dy ? -1 : 1;
  return strcmp ((*x)->mountpoint, (*y)->mountpoint);
}

static int
cmp_mountpoint (const void *a, const void *b)
{
  const struct inspect_mountpoint *x = a, *y = b;
  return strcmp (x->mountpoint, y->mountpoint);
}

/* Normalise a guest mountpoint: absolute, no "//", no trailing "/", no
 * "." or ".." components.  Returns NULL if unusable. */
static char *
normalise_mountpoint (const char *mp)
{
  if (!mp || mp[0] != '/')
    return NULL;
  struct strv parts = { 0 };
  _cleanup_free_ char *copy = xstrdup (mp);
  char *save = NULL;
  for (char *t = strtok_r (copy, "/", &save); t; t = strtok_r (NULL, "/", &save)) {
    if (strcmp (t, ".") == 0 || strcmp (t, "..") == 0) {
      strv_clear (&parts);
      return NULL;
    }
    strv_push (&parts, xstrdup (t));
  }
  _cleanup_free_ char *joined = strv_join (&parts, "/");
  char *out = xasprintf ("/%s", joined);
  strv_clear (&parts);
  return out;
}

/* Find the candidate index of an fs device name. */
static int
fs_index (struct ctx *c, const char *device)
{
  for (size_t i = 0; i < c->insp.n_fs; i++)
    if (strcmp (c->insp.fs[i].device, device) == 0)
      return (int) i;
  return -1;
}

/* The guest's mdadm.conf, read once per OS: names its fstab may use for
 * md arrays ("/dev/md0" while we call the array /dev/md127). */
static void
load_mdadm_conf (struct ctx *c, size_t k)
{
  if (c->mdconf_loaded[k])
    return;
  c->mdconf_loaded[k] = true;
  int ri = fs_index (c, c->insp.os[k].root_device);
  if (ri < 0 || c->insp.fs[ri].rootfd < 0)
    return;
  static const char *const paths[] = { "/etc/mdadm/mdadm.conf",
                                       "/etc/mdadm.conf" };
  for (size_t i = 0; i < ARRAY_SIZE (paths); i++) {
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_in_root (c->insp.fs[ri].rootfd, paths[i],
                               GUEST_FILE_MAX, &text, &len);
    if (r == -ENOENT)
      continue;
    if (r < 0) {
      strv_pushf (&c->insp.warnings, "%s: %s: %s", c->insp.os[k].root_device,
                  paths[i], strerror (-r));
      return;
    }
    c->n_mdconf[k] = inspect_parse_mdadm_conf (text, len, 4096,
                                               &c->mdconf[k]);
    return;
  }
}

/* inspect_resolve_spec, also knowing the other names a layer has
 * ("/dev/md/NAME" for "/dev/md127") and, for OS k (or -1), the names its
 * mdadm.conf gives arrays by UUID. */
static int
resolve_spec (struct ctx *c, int k, const char *spec)
{
  int idx = inspect_resolve_spec (spec, c->insp.fs, c->insp.n_fs);
  if (idx >= 0)
    return idx;
  for (size_t i = 0; i < c->stack.n_devices; i++) {
    const struct stack_device *d = &c->stack.devices[i];
    if (d->alias && strcmp (d->alias, spec) == 0)
      return inspect_resolve_spec (d->name, c->insp.fs, c->insp.n_fs);
  }
  if (k < 0 || !str_has_prefix (spec, "/dev/md"))
    return -1;
  load_mdadm_conf (c, (size_t) k);
  for (size_t j = 0; j < c->n_mdconf[k]; j++) {
    if (strcmp (c->mdconf[k][j].device, spec) != 0)
      continue;
    for (size_t i = 0; i < c->stack.n_devices; i++) {
      const struct stack_device *d = &c->stack.devices[i];
      char u[33];
      if (strcmp (d->type, "md") == 0 && d->uuid
          && inspect_normalize_uuid (d->uuid, u)
          && strcmp (u, c->mdconf[k][j].uuid) == 0)
        return inspect_resolve_spec (d->name, c->insp.fs, c->insp.n_fs);
    }
  }
  return -1;
}

/* Resolve each OS's fstab to devices (for /.inspect), for all OSes. */
static void
resolve_mountpoints (struct ctx *c)
{
  struct inspection *insp = &c->insp;
  for (size_t k = 0; k < insp->n_os; k++) {
    struct inspect_os *os = &insp->os[k];
    os->mountpoints = xcalloc (os->n_fstab + 1, sizeof *os->mountpoints);
    os->mountpoints[0].mountpoint = xstrdup ("/");
    os->mountpoints[0].device = xstrdup (os->root_device);
    os->n_mountpoints = 1;
    for (size_t j = 0; j < os->n_fstab; j++) {
      const struct inspect_fstab_entry *e = &os->fstab[j];
      if (!inspect_fstab_entry_wanted (e))
        continue;
      _cleanup_free_ char *mp = normalise_mountpoint (e->mountpoint);
      if (!mp || strcmp (mp, "/") == 0)
        continue;
      /* subvol=@home: the subvolume's own name. */
      int idx = inspect_resolve_subvol (resolve_spec (c, (int) k, e->spec), e->options,
                                        insp->fs, insp->n_fs);
      if (idx < 0)
        continue;
      bool dup = false;
      for (size_t m = 0; m < os->n_mountpoints; m++)
        dup |= strcmp (os->mountpoints[m].mountpoint, mp) == 0;
      if (dup)
        continue;
      os->mountpoints[os->n_mountpoints].mountpoint = TAKE_PTR (mp);
      os->mountpoints[os->n_mountpoints].device = xstrdup (insp->fs[idx].device);
      os->n_mountpoints++;
    }
    qsort (os->mountpoints, os->n_mountpoints, sizeof *os->mountpoints,
           cmp_mountpoint);
  }
}


/* -i: the chosen OS's root and its fstab. */
static int
place_inspect (struct ctx *c, size_t k)
{
  struct inspection *insp = &c->insp;
  struct inspect_os *os = &insp->os[k];
  int ri = fs_index (c, os->root_device);

  add_placement (c, "/", insp->fs[ri].rootfd);

  /* fstab entries, shallowest first, so /usr comes before /usr/local. */
  _cleanup_free_ const struct inspect_fstab_entry **order
    = xcalloc (os->n_fstab + 1, sizeof *order);
  size_t n = 0;
  for (size_t j = 0; j < os->n_fstab; j++)
    if (inspect_fstab_entry_wanted (&os->fstab[j]))
      order[n++] = &os->fstab[j];
  qsort (order, n, sizeof *order, cmp_depth);

  struct strv placed = { 0 };
  strv_push (&placed, xstrdup ("/"));
  for (size_t j = 0; j < n; j++) {
    const struct inspect_fstab_entry *e = order[j];
    _cleanup_free_ char *mp = normalise_mountpoint (e->mountpoint);
    if (!mp) {
      strv_pushf (&insp->warnings, "fstab: ignoring the mountpoint '%s'",
                  e->mountpoint);
      continue;
    }
    if (strv_contains (&placed, mp))
      continue;
    int idx = inspect_resolve_subvol (resolve_spec (c, (int) k, e->spec), e->options,
                                      insp->fs, insp->n_fs);
    if (idx < 0) {
      strv_pushf (&insp->warnings,
                  "fstab: no device found for %s (%s); not mounted", mp,
                  e->spec);
      continue;
    }
    struct inspect_fs *fs = &insp->fs[idx];
    if (fs->rootfd < 0) {
      strv_pushf (&insp->warnings, "fstab: %s (%s) is not mounted: %s", mp,
                  fs->device,
                  fs->type ? "its filesystem could not be mounted"
                           : "no filesystem found on it");
      continue;
    }
    _cleanup_free_ char *opts
      = mount_filter_guest_options (fs->type, e->options);
    int fd = fs->rootfd;
    /* A btrfs subvolume entry (subvol=@home) is already that subvolume. */
    if (opts && *opts && (size_t) idx < c->stack.n_fs) {
      _cleanup_free_ char *msg = NULL, *used = NULL;
      int r = mount_candidate (c, (size_t) idx, fs->type, opts, &fd, &used,
                               &msg);
      if (r < 0) {
        strv_pushf (&insp->warnings, "fstab: cannot mount %s on %s with %s: %s",
                    fs->device, mp, opts, msg ? msg : strerror (-r));
        continue;
      }
      add_extra_fd (c, fd);
    }
    add_placement (c, mp, fd);
    strv_push (&placed, TAKE_PTR (mp));
  }
  strv_clear (&placed);
  return 0;
}

/* -m: the user's placements. */
static int
place_mounts (struct ctx *c, char **ret_msg)
{
  struct inspection *insp = &c->insp;
  bool have_root = false;

  for (size_t j = 0; j < c->o->n_mounts; j++) {
    const struct mount_arg *m = &c->o->mounts[j];
    int idx = resolve_spec (c, -1, m->device);
    if (idx < 0) {
      struct strv names = { 0 };
      for (size_t i = 0; i < insp->n_fs; i++)
        strv_push (&names, xstrdup (insp->fs[i].device));
      _cleanup_free_ char *list = strv_join (&names, " ");
      strv_clear (&names);
      return set_errmsg (ret_msg, -ENOENT,
                         "-m %s: no such device in the guest (found: %s)",
                         m->device, *list ? list : "none");
    }
    _cleanup_free_ char *mp = normalise_mountpoint (m->mountpoint);
    if (!mp)
      return set_errmsg (ret_msg, -EINVAL, "-m %s: bad mountpoint '%s'",
                         m->device, m->mountpoint);
    struct inspect_fs *fs = &insp->fs[idx];
    int fd = fs->rootfd;
    if (m->options || m->fstype || fd < 0) {
      const char *type = m->fstype ? m->fstype : fs->type;
      if (!type)
        return set_errmsg (ret_msg, -EINVAL,
                           "-m %s: no filesystem found on it (give FSTYPE)",
                           m->device);
      _cleanup_free_ char *msg = NULL, *used = NULL;
      int r = mount_candidate (c, (size_t) idx, type, m->options, &fd, &used,
                               &msg);
      if (r < 0)
        return set_errmsg (ret_msg, r, "-m %s: cannot mount it: %s", m->device,
                           msg ? msg : strerror (-r));
      add_extra_fd (c, fd);
    }
    if (strcmp (mp, "/") == 0)
      have_root = true;
    add_placement (c, mp, fd);
  }
  if (!have_root)
    return set_errmsg (ret_msg, -EINVAL,
                       "-m: nothing is mounted at / (add -m DEVICE:/)");
  return 0;
}

/* --all: every mounted filesystem as /<root-id>. */
static void
place_all (struct ctx *c)
{
  for (size_t i = 0; i < c->insp.n_fs; i++) {
    if (c->insp.fs[i].rootfd < 0)
      continue;
    _cleanup_free_ char *id = inspect_root_id (c->insp.fs[i].device);
    _cleanup_free_ char *path = xasprintf ("/%s", id);
    add_placement (c, path, c->insp.fs[i].rootfd);
  }
}

static char *
root_ids (const struct inspection *insp)
{
  struct strv ids = { 0 };
  for (size_t k = 0; k < insp->n_os; k++)
    strv_push (&ids, xstrdup (insp->os[k].root_id));
  char *s = strv_join (&ids, " ");
  strv_clear (&ids);
  return s;
}

static int
check_mountpoint (const char *mp, char **ret_abs, char **ret_msg)
{
  struct stat st, pst;
  if (stat (mp, &st) < 0)
    return set_errmsg (ret_msg, -errno, "mountpoint %s: %s", mp, strerror (errno));
  if (!S_ISDIR (st.st_mode))
    return set_errmsg (ret_msg, -ENOTDIR, "mountpoint %s: %s", mp,
                       strerror (ENOTDIR));
  char abs[PATH_MAX];
  if (!realpath (mp, abs))
    return set_errmsg (ret_msg, -errno, "mountpoint %s: %s", mp, strerror (errno));
  /* statx tells mount roots apart, bind mounts included; the device
   * comparison is the fallback where the kernel does not say. */
  struct statx stx;
  bool mount_root = false;
  if (statx (AT_FDCWD, abs, 0, STATX_BASIC_STATS, &stx) == 0
      && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    mount_root = (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  else {
    _cleanup_free_ char *parent = xasprintf ("%s/..", abs);
    mount_root = stat (parent, &pst) < 0 || pst.st_dev != st.st_dev
                 || pst.st_ino == st.st_ino;
  }
  if (strcmp (abs, "/") == 0 || mount_root)
    return set_errmsg (ret_msg, -EBUSY,
                       "mountpoint %s is already a mount point (unmount it first)",
                       mp);
  *ret_abs = xstrdup (abs);
  return 0;
}

/* Attach, discover, mount privately and inspect. */
static int
prepare (struct ctx *c, char **ret_msg)
{
  struct options *o = c->o;
  int r;

  r = attach_and_discover (c, ret_msg);
  if (r < 0)
    return r;
  mount_all (c);
  fill_devices (c);

  bool any = false;
  for (size_t i = 0; i < c->insp.n_fs; i++)
    any |= c->insp.fs[i].rootfd >= 0;
  if (!any && o->mode != VIEW_MOUNTS) {
    if (c->stack.errors.n > 0)
      return set_errmsg (ret_msg, -ENOENT,
                         "no filesystems found on the attached disks (%s)",
                         c->stack.errors.v[0]);
    if (c->insp.warnings.n > 0)
      return set_errmsg (ret_msg, -ENOENT,
                         "no filesystems found on the attached disks (%s)",
                         c->insp.warnings.v[0]);
    return set_errmsg (ret_msg, -ENOENT,
                       "no filesystems found on the attached disks");
  }

  inspect_all (c);
  c->mdconf_loaded = xcalloc (c->insp.n_os + 1, sizeof *c->mdconf_loaded);
  c->mdconf = xcalloc (c->insp.n_os + 1, sizeof *c->mdconf);
  c->n_mdconf = xcalloc (c->insp.n_os + 1, sizeof *c->n_mdconf);
  resolve_mountpoints (c);
  /* Package databases are read from the filesystem mounted where they
   * are (a separate /var or /usr), now that mountpoints are known. */
  inspect_applications_all (&c->insp);
  return 0;
}

/* Everything from attaching to serving.  On failure *ret_msg says why. */
static int
run (struct ctx *c, char **ret_msg)
{
  struct options *o = c->o;
  int r;

  r = prepare (c, ret_msg);
  if (r < 0)
    return r;

  enum view_mode mode = o->mode;
  if (mode == VIEW_AUTO) {
    if (c->insp.n_os > 0) {
      mode = VIEW_INSPECT;
      log_note ("no -i, -m or --all given: showing the guest OS on %s (-i)",
                c->insp.os[0].root_device);
    }
    else {
      mode = VIEW_ALL;
      log_note ("no operating system found: showing every filesystem (--all)");
    }
  }

  int shown = -1;
  if (c->insp.n_os > 0) {
    shown = 0;
    if (o->root) {
      shown = -1;
      for (size_t k = 0; k < c->insp.n_os; k++)
        if (strcmp (c->insp.os[k].root_id, o->root) == 0)
          shown = (int) k;
      if (shown < 0) {
        _cleanup_free_ char *ids = root_ids (&c->insp);
        return set_errmsg (ret_msg, -ENOENT,
                           "no operating system with root id '%s' (found: %s)",
                           o->root, ids);
      }
    }
    else if (c->insp.n_os > 1 && mode == VIEW_INSPECT) {
      _cleanup_free_ char *ids = root_ids (&c->insp);
      log_note ("several operating systems found (%s): showing %s (use --root ID)",
                ids, c->insp.os[0].root_id);
    }
  }
  else if (o->root)
    return set_errmsg (ret_msg, -ENOENT,
                       "no operating system with root id '%s' (found: none)",
                       o->root);

  switch (mode) {
  case VIEW_INSPECT:
    if (c->insp.n_os == 0 && c->stack.errors.n > 0)
      return set_errmsg (ret_msg, -ENOENT,
                         "no operating system found in the guest (%s)",
                         c->stack.errors.v[0]);
    if (c->insp.n_os == 0)
      return set_errmsg (ret_msg, -ENOENT,
                         "no operating system found in the guest (use -m or --all)");
    place_inspect (c, (size_t) shown);
    break;
  case VIEW_MOUNTS:
    if ((r = place_mounts (c, ret_msg)) < 0)
      return r;
    break;
  case VIEW_ALL:
  case VIEW_AUTO:
    place_all (c);
    break;
  }

  /* Every mount is made: the loop devices now live as long as their
   * mounts (autoclear). */
  for (size_t i = 0; i < c->stack.n_fs; i++)
    if (c->st[i].loopfd >= 0) {
      close (c->st[i].loopfd);
      c->st[i].loopfd = -1;
    }

  struct view_config cfg = {
    .placements = c->pl,
    .n_placements = c->n_pl,
    .trace = o->trace,
    .warnings = &c->view_warnings,
  };
  /* Render /.inspect after placement, so placement warnings are in it.
   * The view reports unusable mountpoints through cfg.warnings, so render
   * once it has checked them. */
  struct view *v = NULL;
  cfg.inspect = NULL;
  r = view_new (&cfg, &v, ret_msg);
  if (r < 0)
    return r;
  c->view = v;
  for (size_t i = 0; i < c->view_warnings.n; i++)
    strv_push (&c->insp.warnings, xstrdup (c->view_warnings.v[i]));
  view_set_inspect (v, inspect_render_tree (&c->insp, shown));

  r = view_mount (v, c->mountpoint, (char *const *) o->fuse_opts.v, ret_msg);
  if (r < 0)
    return r;
  return 0;
}

static void
teardown (struct ctx *c)
{
  /* Reverse order.  The user's mount first, so nothing new arrives. */
  view_free (c->view);
  c->view = NULL;
  daemon_watchdog_disarm ();

  for (size_t i = 0; i < c->n_pl; i++)
    free (c->pl_paths[i]);
  free (c->pl_paths);
  free (c->pl);
  for (size_t i = 0; i < c->n_extra; i++)
    close (c->extra_fds[i]);
  free (c->extra_fds);
  for (size_t i = 0; i < c->stack.n_fs; i++) {
    if (c->st && c->st[i].mntfd >= 0)
      close (c->st[i].mntfd);
    if (c->st && c->st[i].loopfd >= 0)
      close (c->st[i].loopfd);
    if (c->st)
      free (c->st[i].loopdev);
  }
  free (c->st);
  /* FUSE drivers (ntfs-3g, ...), once nothing holds their mounts, and
   * before the block export they may read through. */
  helper_stop_all ();
  /* The inspection's rootfds are the mount fds closed above. */
  for (size_t i = 0; i < c->insp.n_fs; i++)
    c->insp.fs[i].rootfd = -1;
  for (size_t k = 0; c->mdconf && k < c->insp.n_os; k++)
    inspect_mdadm_free (c->mdconf[k], c->n_mdconf[k]);
  free (c->mdconf);
  free (c->n_mdconf);
  free (c->mdconf_loaded);
  inspection_clear (&c->insp);
  strv_clear (&c->view_warnings);

  for (size_t i = 0; i < c->n_exported; i++) {
    close (c->exported[i].fd);
    bdev_unref (c->exported[i].b);
  }
  free (c->exported);
  stack_clear (&c->stack);
  export_stop (c->export);
  for (size_t i = 0; i < c->n_disks; i++)
    bdev_unref (c->disks[i]);
  free (c->disks);
  free (c->mountpoint);
  key_store_clear (&c->keys);
}

/* --inspect-only: print the inspection and tear everything down; no FUSE
 * view, no daemon. */
static int
inspect_only (struct ctx *c)
{
  struct options *o = c->o;
  _cleanup_free_ char *msg = NULL, *out = NULL;
  int r;

  if (access ("/dev/loop-control", R_OK | W_OK) < 0) {
    log_error ("no loop device available: /dev/loop-control: %s",
               strerror (errno));
    options_clear (o);
    return EXIT_FAILURE;
  }
  r = prepare (c, &msg);
  if (r >= 0) {
    out = o->output_xml ? inspect_render_xml (&c->insp)
                        : inspect_render_json (&c->insp);
    if (!out)
      r = set_errmsg (&msg, -ENOMEM, "cannot render the inspection");
  }
  teardown (c);
  if (r < 0) {
    log_error ("%s", msg ? msg : strerror (-r));
    options_clear (o);
    return EXIT_FAILURE;
  }
  fputs (out, stdout);
  options_clear (o);
  return fflush (stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
write_pid_file (const char *path, char **ret_msg)
{
  _cleanup_free_ char *tmp = xasprintf ("%s.tmp%ld", path, (long) getpid ());
  FILE *f = fopen (tmp, "we");
  if (!f)
    return set_errmsg (ret_msg, -errno, "--pid-file %s: %s", path, strerror (errno));
  fprintf (f, "%ld\n", (long) getpid ());
  if (fclose (f) != 0 || rename (tmp, path) < 0) {
    int e = errno;
    unlink (tmp);
    return set_errmsg (ret_msg, -e, "--pid-file %s: %s", path, strerror (e));
  }
  return 0;
}

int
main (int argc, char *argv[])
{
  struct options o;
  _cleanup_free_ char *msg = NULL;
  int r;

  signal (SIGPIPE, SIG_IGN);
  if (options_parse (argc, argv, &o, &msg) < 0) {
    log_error ("%s", msg);
    fprintf (stderr, "Try 'nguestmount --help' for more information.\n");
    return EXIT_FAILURE;
  }
  /* Passphrases given with --key must not stay visible in
   * /proc/PID/cmdline (our copies are in o.keys). */
  keys_scrub_argv (argc, argv);
  for (size_t i = 0; i < o.keys.n; i++) {
    struct key_spec ks;
    if (keys_parse_selector (o.keys.v[i], &ks, &msg) < 0) {
      log_error ("--key: %s", msg);
      options_clear (&o);
      return EXIT_FAILURE;
    }
    key_spec_clear (&ks);
  }
  if (o.help) {
    fputs (options_usage (), stdout);
    options_clear (&o);
    return EXIT_SUCCESS;
  }
  if (o.version) {
    printf ("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
    options_clear (&o);
    return EXIT_SUCCESS;
  }
  log_init (o.verbose);
  log_set_trace (o.trace);

  struct ctx c = { .o = &o };

  /* Checks that need no resources, in the parent, before forking. */
  if (geteuid () != 0) {
    log_error ("must be run as root (nguestmount needs loop devices and "
               "private mounts)");
    goto fail_early;
  }
  if (o.inspect_only)
    return inspect_only (&c);
  if (check_mountpoint (o.mountpoint, &c.mountpoint, &msg) < 0) {
    log_error ("%s", msg);
    goto fail_early;
  }
  if (access ("/dev/fuse", R_OK | W_OK) < 0) {
    log_error ("/dev/fuse not found (%s): the fuse kernel module is needed",
               strerror (errno));
    goto fail_early;
  }
  if (access ("/dev/loop-control", R_OK | W_OK) < 0) {
    log_error ("no loop device available: /dev/loop-control: %s",
               strerror (errno));
    goto fail_early;
  }
  if (o.ready_fd >= 0 && fcntl (o.ready_fd, F_GETFD) < 0) {
    log_error ("--fd=%d: %s", o.ready_fd, strerror (errno));
    goto fail_early;
  }

  if ((r = daemon_fork (o.no_fork, o.verbose)) < 0) {
    log_error ("cannot fork: %s", strerror (-r));
    goto fail_early;
  }
  /* From here on, in the daemon. */
  if ((r = daemon_watchdog_start (c.mountpoint)) < 0) {
    log_error ("cannot start the watchdog: %s", strerror (-r));
    free (c.mountpoint);
    options_clear (&o);
    daemon_ready ("cannot start the watchdog");
    return EXIT_FAILURE;
  }

  r = run (&c, &msg);
  if (r >= 0 && o.pid_file)
    r = write_pid_file (o.pid_file, &msg);
  if (r < 0) {
    teardown (&c);
    if (!msg)
      msg = xasprintf ("%s", strerror (-r));
    daemon_ready (msg);
    options_clear (&o);
    return EXIT_FAILURE;
  }

  if (o.ready_fd >= 0) {
    ssize_t w = write (o.ready_fd, "1", 1);
    (void) w;
    close (o.ready_fd);
  }
  daemon_ready (NULL);

  r = view_loop (c.view);
  log_debug (LOG_CAT_MAIN, "serving ended (%d); tearing down", r);
  teardown (&c);
  if (o.pid_file)
    unlink (o.pid_file);
  options_clear (&o);
  return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

fail_early:
  free (c.mountpoint);
  options_clear (&o);
  return EXIT_FAILURE;
}
