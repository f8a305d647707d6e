/* nguestmount: the layers above partitions: md RAID, LUKS, LVM.
 *
 * Discovery is a fixed point: after the disks are probed, every candidate
 * whose content is an md member, a LUKS container or an LVM PV is given to
 * its layer; each device a layer opens (array, decrypted payload, LV) is
 * probed in turn like a disk (so partitions on md, LVM on LUKS, LUKS on
 * LVM all work) until a round opens nothing new.  md and LUKS go first
 * in a round; LVM only when they have nothing more to do, so that a VG
 * whose PVs sit on different layers is seen whole.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "stack/luks.h"
#include "stack/lvm.h"
#include "stack/md.h"
#include "stack/stack-internal.h"
#include "stack/stack.h"

#define MAX_ROUNDS 16   /* nesting deeper than this is not a real guest */

static bool
type_is (const struct fsinfo *fs, const char *type)
{
  return fs->type && strcmp (fs->type, type) == 0;
}

/* Assemble every md array whose members are known.  Returns the number of
 * arrays opened, or -errno for host errors. */
static int
do_md (struct discover *d, unsigned *next_minor)
{
  struct stack *st = d->st;
  size_t n = st->n_fs;
  _cleanup_free_ struct md_info *infos = xcalloc (n, sizeof *infos);
  _cleanup_free_ bool *ok = xcalloc (n, sizeof *ok);
  int opened = 0;

  for (size_t i = 0; i < n; i++) {
    if (st->fs[i].consumed || !type_is (&st->fs[i], "linux_raid_member"))
      continue;
    _cleanup_free_ char *msg = NULL;
    int r = md_examine_msg (st->fs[i].bdev, &infos[i], &msg);
    if (r < 0) {
      strv_pushf (&st->warnings, "%s: md superblock unusable: %s",
                  st->fs[i].device, msg ? msg : strerror (-r));
      st->fs[i].consumed = true;
      continue;
    }
    ok[i] = true;
  }

  for (size_t i = 0; i < n; i++) {
    if (!ok[i])
      continue;
    /* Gather the members of this array. */
    _cleanup_free_ struct bdev **members = xcalloc (n, sizeof *members);
    _cleanup_free_ struct md_info *minfo = xcalloc (n, sizeof *minfo);
    size_t k = 0;
    struct strv pnames = { 0 };
    for (size_t j = i; j < n; j++) {
      if (!ok[j] || memcmp (infos[j].uuid, infos[i].uuid, 16) != 0)
        continue;
      members[k] = st->fs[j].bdev;
      minfo[k] = infos[j];
      k++;
      ok[j] = false;
      st->fs[j].consumed = true;
      strv_push (&pnames, xstrdup (st->fs[j].device));
    }
    _cleanup_free_ char *parents = strv_join (&pnames, " ");
    strv_clear (&pnames);

    _cleanup_free_ char *uuid = md_uuid_string (minfo[0].uuid);
    struct bdev *array = NULL;
    _cleanup_free_ char *name = NULL, *alias = NULL, *msg = NULL;
    int r = md_assemble (members, minfo, k, next_minor, &array, &name, &alias,
                         &st->warnings, &msg);
    if (r < 0) {
      if (r == -ENOMEM || r == -EMFILE)
        return r;
      strv_pushf (&st->warnings, "md array %s (%s): %s", uuid, parents,
                  msg ? msg : strerror (-r));
      struct stack_device *dv = stack_add_device (st, "md", "md", 0, uuid,
                                                  parents);
      dv->opened = false;
      dv->error = msg ? xstrdup (msg) : xstrdup (strerror (-r));
      continue;
    }
    log_debug (LOG_CAT_STACK, "%s: md array %s from %s", name, uuid, parents);
    struct stack_device *dv
      = stack_add_device (st, name, "md", array->size, uuid, parents);
    dv->alias = TAKE_PTR (alias);
    r = stack_probe_device (d, array, st->fs[i].disk_index);
    bdev_unref (array);
    if (r < 0)
      return r;
    opened++;
  }
  return opened;
}

/* Open every LUKS container not yet tried.  Returns the number opened,
 * -EPERM (with *ret_msg) for a wrong passphrase, or -errno. */
static int
do_luks (struct discover *d, char **ret_msg)
{
  struct stack *st = d->st;
  const struct stack_ops *ops = d->ops;
  int opened = 0;

  for (size_t i = 0; i < st->n_fs; i++) {
    /* stack_probe_device may grow st->fs: index, never hold pointers. */
    if (st->fs[i].consumed || !type_is (&st->fs[i], "crypto_LUKS"))
      continue;
    st->fs[i].consumed = true;
    _cleanup_free_ char *device = xstrdup (st->fs[i].device);
    _cleanup_free_ char *uuid = xstrdup (st->fs[i].uuid);
    struct bdev *b = st->fs[i].bdev;
    unsigned disk_index = st->fs[i].disk_index;

    _cleanup_free_ char *path = NULL;
    int r = ops->get_path ? ops->get_path (ops->opaque, b, &path) : -ENOTSUP;
    if (r < 0) {
      strv_pushf (&st->warnings, "%s: cannot read the LUKS header: %s",
                  device, strerror (-r));
      continue;
    }
    if (!uuid)
      uuid = luks_uuid (path);

    char **keys = NULL;
    if (ops->get_keys) {
      r = ops->get_keys (ops->opaque, device, uuid, &keys);
      if (r < 0) {
        strv_pushf (&st->warnings, "%s: cannot get a key: %s", device,
                    strerror (-r));
        keys = NULL;
      }
    }
    size_t nkeys = 0;
    while (keys && keys[nkeys])
      nkeys++;
    /* Key files may hold NUL bytes: pass each candidate's real length. */
    _cleanup_free_ size_t *lens = xcalloc (nkeys + 1, sizeof *lens);
    for (size_t k = 0; k < nkeys; k++)
      lens[k] = ops->key_len ? ops->key_len (keys[k]) : strlen (keys[k]);

    struct bdev *plain = NULL;
    _cleanup_free_ char *msg = NULL;
    r = luks_open_keys (b, path, device, (const char *const *) keys, lens,
                        nkeys, ops->readonly, &plain, &msg);
    if (keys && ops->free_keys)
      ops->free_keys (keys);
    if (r < 0) {
      const char *why = msg ? msg : strerror (-r);
      struct stack_device *dv
        = stack_add_device (st, device, "luks", b->size, uuid, device);
      dv->opened = false;
      dv->error = xstrdup (why);
      if (r == -EPERM && nkeys > 0)
        /* The user gave keys and none fits: say so and stop. */
        return set_errmsg (ret_msg, -EPERM, "%s", why);
      strv_pushf (&st->warnings, "%s", why);
      if (r == -EPERM)
        strv_pushf (&st->errors, "%s", why);
      continue;
    }
    log_debug (LOG_CAT_STACK, "%s: LUKS opened as %s", device, plain->name);
    stack_add_device (st, plain->name, "luks", plain->size, uuid, device);
    r = stack_probe_device (d, plain, disk_index);
    bdev_unref (plain);
    if (r < 0)
      return r;
    opened++;
  }
  return opened;
}

/* Scan every PV not yet used.  Returns the number of LVs opened. */
static int
do_lvm (struct discover *d)
{
  struct stack *st = d->st;
  size_t n = st->n_fs, npv = 0;
  _cleanup_free_ struct bdev **pvs = xcalloc (n ? n : 1, sizeof *pvs);
  _cleanup_free_ unsigned *disk_of = xcalloc (n ? n : 1, sizeof *disk_of);
  int opened = 0;

  for (size_t i = 0; i < n; i++) {
    if (st->fs[i].consumed || !type_is (&st->fs[i], "LVM2_member"))
      continue;
    st->fs[i].consumed = true;
    disk_of[npv] = st->fs[i].disk_index;
    pvs[npv++] = st->fs[i].bdev;
  }
  if (npv == 0)
    return 0;

  struct lvm_lv *lvs = NULL;
  size_t nlv = 0;
  int r = lvm_scan (pvs, npv, &lvs, &nlv, &st->warnings);
  if (r < 0)
    return r;
  for (size_t i = 0; i < nlv; i++) {
    struct stack_device *dv = stack_add_device (
      st, lvs[i].device, "lv", lvs[i].bdev ? lvs[i].bdev->size : 0,
      lvs[i].uuid, lvs[i].vg);
    if (!lvs[i].bdev) {
      dv->opened = false;
      continue;
    }
    r = stack_probe_device (d, lvs[i].bdev, disk_of[0]);
    if (r < 0) {
      lvm_lvs_free (lvs, nlv);
      return r;
    }
    opened++;
  }
  lvm_lvs_free (lvs, nlv);
  return opened;
}

int
stack_discover_layers (struct bdev *const *disks, size_t n_disks,
                       const struct stack_ops *ops, struct stack *ret,
                       char **ret_msg)
{
  struct stack st = { 0 };
  struct discover d = {
    .get_fd = ops->get_fd, .opaque = ops->opaque, .ops = ops, .st = &st,
  };
  unsigned next_minor = 127;
  int r;

  for (size_t i = 0; i < n_disks; i++) {
    r = stack_probe_device (&d, disks[i], (unsigned) i);
    if (r < 0)
      goto fail;
  }

  for (unsigned round = 0;; round++) {
    if (round == MAX_ROUNDS) {
      strv_pushf (&st.warnings, "storage layers nested more than %d deep: "
                  "stopped looking", MAX_ROUNDS);
      break;
    }
    int md = do_md (&d, &next_minor);
    if (md < 0) {
      r = md;
      goto fail;
    }
    int lk = do_luks (&d, ret_msg);
    if (lk < 0) {
      r = lk;
      goto fail;
    }
    if (md > 0 || lk > 0)
      continue;
    int lv = do_lvm (&d);
    if (lv < 0) {
      r = lv;
      goto fail;
    }
    if (lv == 0)
      break;
  }

  *ret = st;
  return 0;

fail:
  if (r != -EPERM && ret_msg && !*ret_msg)
    set_errmsg (ret_msg, r, "cannot read the attached disks: %s",
                strerror (-r));
  stack_clear (&st);
  return r;
}
