/* nguestmount: guest inspection.
 *
 * Reads the mounted guest filesystems (through directory fds, never through
 * host paths) and produces struct inspection: pure data, rendered into the
 * /.inspect tree and inspect.json.  Everything read from the guest is
 * untrusted: sizes are capped, strings sanitized, symlinks resolved inside
 * the guest root only (util.h open_in_root).
 *
 * Unknown values follow libguestfs: "unknown" for strings, 0 for versions.
 */
#ifndef NGM_INSPECT_H
#define NGM_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "common/vtree.h"

/* A filesystem (or other content) found on the guest's storage. */
struct inspect_fs {
  char *device;        /* "/dev/sda1" */
  char *type;          /* "ext4", "swap", ... or NULL when unknown */
  char *uuid;          /* NULL if none */
  char *label;         /* NULL if none */
  char *partuuid;      /* NULL if none */
  char *partlabel;     /* NULL if none */
  uint64_t size;
  int rootfd;          /* O_PATH directory fd of its root, -1 if not mounted */
  char *mount_options; /* the mount options that worked ("ro,noload") */
};

/* A guest block device layer (disk, partition; later md, LUKS, LV). */
struct inspect_device {
  char *name;          /* "/dev/sda", "/dev/sda1" */
  char *type;          /* "disk", "partition" */
  uint64_t size;
  char *uuid;          /* partition UUID / container UUID, NULL if none */
  char *parent;        /* what it sits on, NULL for disks */
  char *format;        /* disks: the image format ("qcow2", "raw") */
  char *source;        /* disks: the host image path */
  bool opened;
};

/* One line of a guest fstab, as parsed (values sanitized). */
struct inspect_fstab_entry {
  char *spec;          /* "UUID=...", "/dev/sda1", "LABEL=root" */
  char *mountpoint;    /* "/boot" */
  char *fstype;        /* "ext4" */
  char *options;       /* "defaults,subvol=@home" */
};

/* A placed guest mountpoint (after resolving the fstab). */
struct inspect_mountpoint {
  char *mountpoint;    /* "/", "/boot" */
  char *device;        /* "/dev/sda1" */
};

/* An installed application, the fields of libguestfs's struct
 * guestfs_application2 (app2_ prefix dropped; app2_trans_path, never
 * filled by libguestfs either, is left out).  Strings are NULL when empty;
 * they are valid UTF-8 without control characters, except that summary and
 * description may hold newlines. */
struct inspect_app {
  char *name;            /* never NULL */
  char *display_name;    /* Windows */
  int epoch;             /* 0 when none */
  char *version;
  char *release;
  char *arch;
  char *install_path;    /* Windows */
  char *publisher;       /* Windows */
  char *url;
  char *source_package;
  char *summary;
  char *description;
};

/* A Windows drive letter and the device behind it. */
struct inspect_drive_mapping {
  char *name;            /* "C" */
  char *device;          /* "/dev/sda2" */
};

struct inspect_os {
  char *root_device;   /* "/dev/sda2" */
  char *root_id;       /* "sda2" (see inspect_root_id) */
  char *type;          /* "linux", "unknown" */
  char *distro;        /* "debian", ... "unknown" */
  char *product_name;
  char *product_variant;
  int major_version;
  int minor_version;
  char *arch;          /* "x86_64", ... "unknown" */
  char *hostname;
  char *build_id;
  char *package_format;      /* "deb", "rpm", ... "unknown" */
  char *package_management;  /* "apt", "dnf", ... "unknown" */
  char *osinfo;              /* "debian12", ... "unknown" */
  struct inspect_fstab_entry *fstab;
  size_t n_fstab;
  struct inspect_mountpoint *mountpoints;   /* sorted by mountpoint */
  size_t n_mountpoints;
  /* Windows only (NULL / 0 otherwise). */
  char *windows_systemroot;                  /* "/Windows" */
  char *windows_current_control_set;         /* "ControlSet001" */
  struct inspect_drive_mapping *drive_mappings;
  size_t n_drive_mappings;
  /* Installed applications, sorted by name (inspect_applications). */
  struct inspect_app *apps;
  size_t n_apps;
};

struct inspection {
  struct inspect_os *os;
  size_t n_os;
  struct inspect_fs *fs;
  size_t n_fs;
  struct inspect_device *devices;
  size_t n_devices;
  struct strv warnings;
};

/* Decide whether the filesystem whose root is rootfd is an operating
 * system root and, if so, fill *ret_os with every field (strings always set,
 * "unknown" where not found) and the parsed /etc/fstab.  Returns 1 for a
 * root, 0 for not a root, -errno on host failure.  Problems with guest
 * content (unparseable files, oversize files) become warnings (prefixed
 * with the device name), never errors. */
int inspect_root (int rootfd, const char *device, struct inspect_os *ret_os,
                  struct strv *warnings);

/* Map an fstab spec to one of the guest filesystems: UUID=, LABEL=,
 * PARTUUID=, PARTLABEL=, /dev/disk/by-{uuid,label,partuuid,partlabel}/...,
 * /dev/[shvx]dXN (the N-th partition of the X-th disk, whatever the bus),
 * and exact device names.  Returns the index into fs, or -1. Pure. */
int inspect_resolve_spec (const char *spec, const struct inspect_fs *fs,
                          size_t n_fs);

/* btrfs subvolumes other than the default one are filesystems of their
 * own, named as libguestfs names them: "btrfsvol:/dev/sda2/@home" (the
 * subvolume path relative to the top level, id 5).  Returns a new string.
 * Pure. */
char *inspect_btrfsvol_device (const char *device, const char *subvol_path);

/* inspect_resolve_spec for a whole fstab entry: a btrfs entry with
 * subvol=PATH resolves to the "btrfsvol:DEV/PATH" filesystem when there is
 * one (else to the device itself, whose default subvolume it then names).
 * Returns the index into fs, or -1.  Pure. */
int inspect_resolve_fstab_entry (const struct inspect_fstab_entry *e,
                                 const struct inspect_fs *fs, size_t n_fs);
/* The second half of that: fs[idx] and the entry's options → the
 * subvolume's index, or idx itself. */
int inspect_resolve_subvol (int idx, const char *options,
                            const struct inspect_fs *fs, size_t n_fs);

/* Complete a Linux root from the filesystem its fstab mounts on /usr,
 * field by field where the root alone left a value unknown (libguestfs
 * merges a separate /usr the same way): distro, version, product name and
 * build id from /usr/lib/os-release, arch from /usr/bin.  fs are the
 * probed filesystems (their rootfds).  Returns 1 if a /usr was consulted,
 * 0 if not, -errno on host failure. */
int inspect_root_usr (struct inspect_os *os, const struct inspect_fs *fs,
                      size_t n_fs, struct strv *warnings);

/* True if an fstab entry is one to place: not swap, not a pseudo
 * filesystem, not under /dev /proc /sys /media /selinux, not a floppy or
 * cdrom.  Pure. */
bool inspect_fstab_entry_wanted (const struct inspect_fstab_entry *e);

/* "/dev/sda2" → "sda2"; "/dev/my-vg/root" → "my--vg-root" (dm style: "-"
 * inside names doubled, "/" turned into "-").  Pure. */
char *inspect_root_id (const char *device);

/* Render the /.inspect tree (see design.md) into a new vtree whose root is
 * the .inspect directory itself.  shown is the index of the OS shown in the
 * view (target of the "root" symlink), or -1 for none. */
struct vnode *inspect_render_tree (const struct inspection *insp, int shown);
/* inspect.json as a string (json-c, pretty-printed, trailing newline). */
char *inspect_render_json (const struct inspection *insp);

/* List the applications installed in the OS whose root directory is rootfd
 * (dpkg, rpm through librpm, apk, pacman; chosen by os->package_format) into
 * os->apps, sorted by name.  Everything is read from rootfd only.  Unusable
 * or oversize package databases and anything skipped become warnings
 * (prefixed with the root device); returns 0, or -errno on host failure. */
int inspect_applications (int rootfd, struct inspect_os *os,
                          struct strv *warnings);
/* The same for every OS of insp, once os->mountpoints are resolved: each
 * database path is read from the filesystem mounted there in the guest
 * (a separate /var or /usr is followed).  Returns 0 or -errno. */
int inspect_applications_all (struct inspection *insp);
void inspect_apps_free (struct inspect_app *apps, size_t n);

/* virt-inspector XML (libxml2 xmlTextWriter, indented, trailing newline);
 * valid against virt-inspector.rng. */
char *inspect_render_xml (const struct inspection *insp);

void inspect_os_clear (struct inspect_os *os);
void inspection_clear (struct inspection *insp);

/* ---------------------------------------------------------------------- */
/* Windows guests (windows.c). */

/* Decide whether the filesystem whose root is rootfd is a Windows root (a
 * systemroot among /windows /winnt /win32 /win /reactos, any case, with
 * system32/, system32/config/ and system32/cmd.exe) and, if so, fill
 * *ret_os from the registry (SOFTWARE and SYSTEM hives, read with hivex
 * from private in-memory copies) and cmd.exe's PE header.  Returns 1 for a
 * Windows root, 0 for not one, -errno on host failure; guest problems
 * (unreadable, oversize or corrupt hives) become warnings.  The drive
 * mappings it leaves in ret_os->drive_mappings name the partitions the
 * Windows way ("mbr:<disk signature hex>:<byte offset>" or
 * "gpt:<partition guid>"): inspect_windows_resolve_drives turns them into
 * device names. */
int inspect_windows_root (int rootfd, const char *device,
                          struct inspect_os *ret_os, struct strv *warnings);

/* A guest partition as Windows's MountedDevices refers to it. */
struct inspect_partition {
  char *device;          /* "/dev/sda2" */
  bool mbr;              /* on an MBR (DOS) partition table */
  uint32_t mbr_id;       /* that table's disk signature (offset 0x1B8) */
  uint64_t start;        /* byte offset of the partition on its disk */
  char *guid;            /* GPT partition GUID, lower case; NULL for MBR */
};

/* Read the partition table of one disk with libblkid (host fd, the disk's
 * bytes start at offset and are size long) and append its partitions,
 * named disk_name + number ("/dev/sda" → "/dev/sda1"), to *parts.
 * A disk without a partition table adds nothing.  Returns 0 or -errno. */
int inspect_windows_scan_disk (int fd, uint64_t offset, uint64_t size,
                               const char *disk_name,
                               struct inspect_partition **parts,
                               size_t *n_parts);
void inspect_partitions_free (struct inspect_partition *parts, size_t n);

/* Replace the Windows-form devices in os->drive_mappings with the device
 * names of the matching partitions; mappings that match none are dropped
 * (as libguestfs does).  Sorted by drive letter. */
void inspect_windows_resolve_drives (struct inspect_os *os,
                                     const struct inspect_partition *parts,
                                     size_t n_parts);

/* Pure helpers, exposed for the unit tests. */

/* A MountedDevices value: name "\DosDevices\X:" and its data.  Returns 1
 * and sets *ret_letter ('A'..'Z') and *ret_key ("mbr:1234abcd:1048576" or
 * "gpt:<guid>") when it is a drive letter on a partition, else 0. */
int inspect_windows_decode_mapping (const char *name, const void *data,
                                    size_t len, char *ret_letter,
                                    char **ret_key);
/* Architecture from the first len bytes of a PE executable ("i386",
 * "x86_64", "aarch64", "arm", "ia64"), NULL when not a PE file. */
const char *inspect_windows_pe_arch (const void *buf, size_t len);
/* libosinfo short id ("win10", "win11", "win2k19", ...) or "unknown". */
char *inspect_windows_osinfo (int major, int minor, const char *variant,
                              const char *product_name, const char *build_id);
/* Read the Windows fields out of hive files (paths; either may be NULL)
 * into os (product_name, product_variant, versions, build_id, hostname,
 * windows_current_control_set, raw drive mappings, and the installed
 * applications into os->apps as inspect_windows_read_apps does).  Problems
 * become warnings prefixed with device.  Returns 0 or -errno. */
int inspect_windows_read_hives (const char *software, const char *system,
                                const char *device, struct inspect_os *os,
                                struct strv *warnings);

/* The installed applications of a Windows guest, from the Uninstall keys
 * of its SOFTWARE hive (native and WOW6432Node views; entries with a
 * DisplayName, fields as libguestfs maps them), into os->apps sorted by
 * name, replacing what was there.  inspect_windows_root already does this
 * while it has the hive open; inspect_windows_applications reads the hive
 * again from the Windows root rootfd (for inspect_applications), and
 * inspect_windows_read_apps from a hive file, keeping at most max
 * applications (0: APPS_MAX).  Unreadable entries and caps become warnings
 * prefixed with the device.  Return 0, or -errno on host failure. */
int inspect_windows_applications (int rootfd, struct inspect_os *os,
                                  struct strv *warnings);
int inspect_windows_read_apps (const char *software, const char *device,
                               size_t max, struct inspect_os *os,
                               struct strv *warnings);

#endif /* NGM_INSPECT_H */
