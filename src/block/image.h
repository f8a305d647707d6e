/* nguestmount: opening disk images (format probing and the backing-file
 * rule). */
#ifndef NGM_IMAGE_H
#define NGM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "block/bdev.h"

/* The formats we accept, as qemu names them. */
bool image_format_supported (const char *format);
/* "raw, qcow2, vmdk, vhdx, vpc, vdi" */
const char *image_supported_formats (void);

/* Recognise an image format from its first bytes (buf, len >= 512 where
 * the file allows) and, for vpc, its last 512 bytes (tail, may be NULL).
 * Returns a static format name; "raw" when nothing matches.  Pure. */
const char *image_probe_buffer (const void *buf, size_t len, const void *tail,
                                size_t tail_len);

/* Decide whether a backing file reference is allowed: backing (as written
 * in the image, possibly relative to the image's directory) must resolve,
 * after following symlinks, to a path inside image_dir.  Pure apart from
 * realpath(3).  Returns 0 if allowed, -EPERM if not, -errno if it does not
 * exist. */
int image_backing_allowed (const char *image_dir, const char *backing);

/* Open an image as a bdev:
 *  - a block device or a raw file → bdev_file_open (direct fast path);
 *  - any other format → qemu-nbd + libnbd (bdev_nbd_open) after checking
 *    it with `qemu-img info --output=json` (corrupt images and the backing
 *    rule are caught here, with qemu-img's own words in the message).
 * format NULL means probe with image_probe_buffer.  An unsupported format
 * (given or probed) is an error naming it.  ret_msg gets the user-facing
 * reason, e.g. "cannot attach disk.qcow2: qemu-nbd not found (install
 * qemu-utils)". */
int image_open (const char *path, const char *format, bool readonly,
                bool allow_backing, const char *name, struct bdev **ret,
                char **ret_format, char **ret_msg);

#endif /* NGM_IMAGE_H */
