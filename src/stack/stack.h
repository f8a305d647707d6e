/* nguestmount: discovering the guest's storage stack.
 *
 * Given the attached disks, find partition tables (libblkid: GPT and MBR
 * with extended/logical partitions) and probe every candidate (whole disks
 * without a partition table, partitions) for a filesystem or other content.
 * The kernel here does not parse partitions; all of it is done in
 * userspace, and partitions become slice bdevs over their disk.
 */
#ifndef NGM_STACK_H
#define NGM_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/bdev.h"
#include "common/util.h"

struct fsinfo {
  char *device;         /* guest name: "/dev/sda1", or "/dev/sda" for a whole disk */
  struct bdev *bdev;    /* owned reference */
  unsigned disk_index;  /* 0 = sda */
  unsigned partnum;     /* 1-based partition number, 0 for a whole disk */
  char *type;           /* blkid TYPE ("ext4", "xfs", "swap", ...), NULL if none */
  char *usage;          /* blkid USAGE ("filesystem", "raid", "crypto", "other") */
  char *uuid;           /* blkid UUID, NULL if none */
  char *label;          /* blkid LABEL, NULL if none */
  char *partuuid;       /* partition table entry: PARTUUID, NULL if none */
  char *partlabel;      /* GPT partition name, NULL if none */
  char *parttype;       /* GPT type GUID or MBR type as "0x83" */
  uint64_t size;        /* bytes */
  bool consumed;        /* used by a layer above (md member, PV, LUKS) */
};

/* A block device layer of the guest (for /.inspect/devices). */
struct stack_device {
  char *name;           /* "/dev/sda1", "/dev/md127", "/dev/vg/lv" */
  char *type;           /* "partition", "md", "luks", "lv" (disks are the caller's) */
  uint64_t size;
  char *uuid;           /* partition UUID, array/container/LV UUID, or NULL */
  char *parents;        /* what it sits on, space-separated */
  char *alias;          /* another name the guest may use ("/dev/md/NAME") */
  bool opened;          /* false: found but could not be opened */
  char *error;          /* why not, or NULL */
};

struct stack {
  struct fsinfo *fs;    /* every candidate found, in disk and partition order */
  size_t n_fs;
  struct stack_device *devices;
  size_t n_devices;
  struct strv warnings; /* human-readable, one per problem */
  struct strv errors;   /* layers that could not be opened for a reason the
                           user can fix (no key, wrong key): also warnings */
};

/* Give libblkid a host fd from which bdev b's bytes can be read, starting
 * at *ret_offset.  The callback keeps ownership of the fd (it stays valid
 * until the stack is cleared). */
typedef int (*stack_fd_fn) (void *opaque, struct bdev *b, int *ret_fd,
                            uint64_t *ret_offset);

/* Everything stack discovery needs from its caller. */
struct stack_ops {
  stack_fd_fn get_fd;
  /* A host path from which libcryptsetup can read b from its offset 0
   * (e.g. "/proc/self/fd/N" of a block-export file).  NULL: LUKS is not
   * opened. */
  int (*get_path) (void *opaque, struct bdev *b, char **ret_path);
  /* Passphrases to try for a LUKS device, in order (NULL-terminated, the
   * caller's free_keys wipes and frees them).  NULL: no keys. */
  int (*get_keys) (void *opaque, const char *device, const char *uuid,
                   char ***ret_keys);
  void (*free_keys) (char **keys);
  size_t (*key_len) (const char *key);   /* NULL: strlen */
  void *opaque;
  bool readonly;
};

/* Discover the stack, layers included (md, LUKS, LVM, in any nesting).
 * A wrong passphrase is an error (-EPERM, with *ret_msg naming the
 * device); everything else wrong with the guest becomes a warning. */
int stack_discover_layers (struct bdev *const *disks, size_t n_disks,
                           const struct stack_ops *ops, struct stack *ret,
                           char **ret_msg);

/* Discover the stack on disks[0..n_disks).  Takes its own references to
 * the disks.  Never fails on guest content: problems become warnings.
 * Returns -errno only for host errors (out of fds, ...). */
int stack_discover (struct bdev *const *disks, size_t n_disks,
                    stack_fd_fn get_fd, void *opaque, struct stack *ret);
void stack_clear (struct stack *s);

#endif /* NGM_STACK_H */
