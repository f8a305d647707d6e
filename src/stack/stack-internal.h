/* nguestmount: shared by the files of src/stack (not a public interface). */
#ifndef NGM_STACK_INTERNAL_H
#define NGM_STACK_INTERNAL_H

#include "stack/stack.h"

struct discover {
  stack_fd_fn get_fd;
  void *opaque;
  const struct stack_ops *ops;   /* NULL: no layers (plain stack_discover) */
  struct stack *st;
};

/* Append an empty candidate / a device record to the stack. */
struct fsinfo *stack_add (struct stack *st);
struct stack_device *stack_add_device (struct stack *st, const char *name,
                                       const char *type, uint64_t size,
                                       const char *uuid, const char *parents);

/* Find partitions or whole-device content on dev and append candidates.
 * Only host errors are returned. */
int stack_probe_device (struct discover *d, struct bdev *dev,
                        unsigned disk_index);

#endif /* NGM_STACK_INTERNAL_H */
