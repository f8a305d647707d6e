/* nguestmount: scope-bound cleanup helpers.
 *
 * Usage:  _cleanup_free_ char *s = NULL;
 *         _cleanup_close_ int fd = -1;
 *         return TAKE_PTR (s);      (ownership leaves the scope)
 */
#ifndef NGM_CLEANUP_H
#define NGM_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_freep (void *p)
{
  free (*(void **) p);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close (*fd);
    errno = saved;
  }
}

static inline void
cleanup_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

/* Free a NULL-terminated array of strings. */
static inline void
strv_free (char **v)
{
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

static inline void
cleanup_strv_freep (char ***v)
{
  strv_free (*v);
}

#define _cleanup_free_ __attribute__ ((cleanup (cleanup_freep)))
#define _cleanup_close_ __attribute__ ((cleanup (cleanup_closep)))
#define _cleanup_fclose_ __attribute__ ((cleanup (cleanup_fclosep)))
#define _cleanup_strv_free_ __attribute__ ((cleanup (cleanup_strv_freep)))

/* Declare a cleanup function for a type with a NULL-accepting destructor. */
#define DEFINE_CLEANUP_FUNC(type, func)          \
  static inline void func##p (type **p)          \
  {                                              \
    if (*p)                                      \
      func (*p);                                 \
  }

#define TAKE_PTR(p)                              \
  ({                                             \
    __typeof__ (p) _tp = (p);                    \
    (p) = NULL;                                  \
    _tp;                                         \
  })

#define TAKE_FD(fd)                              \
  ({                                             \
    int _tf = (fd);                              \
    (fd) = -1;                                   \
    _tf;                                         \
  })

#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

#endif /* NGM_CLEANUP_H */
