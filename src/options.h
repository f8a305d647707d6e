/* nguestmount: command line parsing (pure: no I/O, unit tested). */
#ifndef NGM_OPTIONS_H
#define NGM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

struct image_arg {
  char *path;
  char *format;          /* NULL: probe */
};

struct mount_arg {       /* -m dev[:mountpoint[:options[:fstype]]] */
  char *device;
  char *mountpoint;      /* default "/" */
  char *options;         /* NULL if not given */
  char *fstype;          /* NULL if not given */
};

enum view_mode {
  VIEW_AUTO = 0,         /* -i if an OS is found, else --all */
  VIEW_INSPECT,          /* -i */
  VIEW_MOUNTS,           /* -m ... */
  VIEW_ALL,              /* --all */
};

struct options {
  struct image_arg *images;
  size_t n_images;
  struct mount_arg *mounts;
  size_t n_mounts;
  enum view_mode mode;
  char *mountpoint;
  bool readonly;         /* always true for now: --rw is refused */
  bool allow_backing;
  char *root;            /* --root ID */
  bool no_fork;
  char *pid_file;
  int ready_fd;          /* --fd=N, -1 if not given */
  struct strv fuse_opts; /* -o OPT, split at commas */
  bool verbose;          /* -v */
  bool trace;            /* -x */
  bool help;
  bool version;
  struct strv keys;      /* --key SELECTOR, as given (secret: never log) */
  bool keys_from_stdin;  /* --keys-from-stdin */
  bool echo_keys;        /* --echo-keys */
  bool inspect_only;     /* --inspect-only: print, do not mount */
  bool output_xml;       /* --xml (else --json, the default) */
};

/* Parse argv.  On error returns -EINVAL and *ret_msg says what is wrong
 * ("-m: empty device name").  --help and -V only set their flag. */
int options_parse (int argc, char *const *argv, struct options *ret,
                   char **ret_msg);

/* Parse one -m argument.  Pure. */
int options_parse_mount (const char *arg, struct mount_arg *ret, char **ret_msg);

void options_clear (struct options *o);

/* The --help text. */
const char *options_usage (void);

#endif /* NGM_OPTIONS_H */
