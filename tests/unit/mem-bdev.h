/* Unit tests: a bdev over a malloc'ed buffer, shared by the test programs
 * that build block devices in memory. */
#ifndef NGM_TEST_MEM_BDEV_H
#define NGM_TEST_MEM_BDEV_H

#include <stddef.h>

#include "block/bdev.h"

/* A writable bdev of size bytes named name, holding a copy of content
 * (zeros when content is NULL). */
struct bdev *test_mem_bdev (const char *name, size_t size, const void *content);
/* Its buffer, to inspect or change the bytes directly. */
unsigned char *test_mem_buf (struct bdev *b);

#endif /* NGM_TEST_MEM_BDEV_H */
