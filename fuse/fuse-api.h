/* nguestmount: the one place that pins the libfuse API version.  Every file
 * that needs libfuse includes this header, never fuse_lowlevel.h directly. */
#ifndef NGM_FUSE_API_H
#define NGM_FUSE_API_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#endif /* NGM_FUSE_API_H */
