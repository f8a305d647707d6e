/* nguestmount: command line parsing (see options.h). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "block/image.h"
#include "common/cleanup.h"
#include "options.h"

enum {
  OPT_FORMAT = 256,
  OPT_ALL,
  OPT_ROOT,
  OPT_ALLOW_BACKING,
  OPT_NO_FORK,
  OPT_PID_FILE,
  OPT_FD,
  OPT_KEY,
  OPT_KEYS_FROM_STDIN,
  OPT_ECHO_KEYS,
  OPT_INSPECT_ONLY,
  OPT_JSON,
  OPT_XML,
};

static const struct option long_options[] = {
  { "add", required_argument, NULL, 'a' },
  { "format", optional_argument, NULL, OPT_FORMAT },
  { "inspector", no_argument, NULL, 'i' },
  { "mount", required_argument, NULL, 'm' },
  { "all", no_argument, NULL, OPT_ALL },
  { "root", required_argument, NULL, OPT_ROOT },
  { "ro", no_argument, NULL, 'r' },
  { "rw", no_argument, NULL, 'w' },
  { "allow-backing", no_argument, NULL, OPT_ALLOW_BACKING },
  { "no-fork", no_argument, NULL, OPT_NO_FORK },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "fd", required_argument, NULL, OPT_FD },
  { "option", required_argument, NULL, 'o' },
  { "key", required_argument, NULL, OPT_KEY },
  { "keys-from-stdin", no_argument, NULL, OPT_KEYS_FROM_STDIN },
  { "echo-keys", no_argument, NULL, OPT_ECHO_KEYS },
  { "inspect-only", no_argument, NULL, OPT_INSPECT_ONLY },
  { "json", no_argument, NULL, OPT_JSON },
  { "xml", no_argument, NULL, OPT_XML },
  { "verbose", no_argument, NULL, 'v' },
  { "trace", no_argument, NULL, 'x' },
  { "version", no_argument, NULL, 'V' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

/* Leading '-': non-option arguments come back as 1, in order, so that
 * --format applies to the positional images that follow it too. */
static const char short_options[] = "-a:im:rwo:vxVh";

const char *
options_usage (void)
{
  return "Usage:\n"
         "  nguestmount [OPTIONS] -a IMAGE [-a IMAGE ...] MOUNTPOINT\n"
         "  nguestmount [OPTIONS] IMAGE... MOUNTPOINT\n"
         "  nguestmount --inspect-only [--json|--xml] [OPTIONS] -a IMAGE ...\n"
         "\n"
         "Mount the filesystems of a virtual machine disk image on MOUNTPOINT,\n"
         "read-only, with OS information under MOUNTPOINT/.inspect.\n"
         "\n"
         "Options:\n"
         "  -a, --add IMAGE        attach a disk image or block device (sda, sdb, ...)\n"
         "      --format=FMT       format of the images that follow: raw, qcow2, vmdk,\n"
         "                         vhdx, vpc, vdi (--format alone: probe again)\n"
         "  -i, --inspector        mount the guest OS root and apply its /etc/fstab\n"
         "  -m, --mount DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]\n"
         "                         mount DEV at MOUNTPOINT (default /); repeatable\n"
         "      --all              show every filesystem as /<root-id>/\n"
         "                         (none of -i, -m, --all: -i if an OS is found,\n"
         "                         else --all)\n"
         "      --root ID          the OS to show in a multi-boot guest\n"
         "  -r, --ro               read-only (the default and only mode for now)\n"
         "  -w, --rw               read-write (not supported yet)\n"
         "      --allow-backing    allow backing files outside the image's directory\n"
         "      --key SELECTOR     a LUKS key: ID:key:PASSPHRASE or ID:file:FILE, where\n"
         "                         ID is a device (/dev/sda2), a LUKS UUID or 'all'\n"
         "      --keys-from-stdin  read LUKS keys from standard input, one per line\n"
         "      --echo-keys        show the passphrase typed at the prompt\n"
         "      --inspect-only     print the inspection (JSON, or virt-inspector\n"
         "                         XML with --xml) and exit without mounting\n"
         "      --json, --xml      output format of --inspect-only\n"
         "      --no-fork          stay in the foreground\n"
         "      --pid-file FILE    write the daemon's pid to FILE (removed last)\n"
         "      --fd=N             write one byte to file descriptor N when ready\n"
         "  -o, --option OPT       FUSE mount option (allow_other, ...); repeatable\n"
         "  -v, --verbose          debug messages (see NGUESTMOUNT_DEBUG)\n"
         "  -x, --trace            trace every FUSE operation\n"
         "  -V, --version          print the version and exit\n"
         "  -h, --help             print this help and exit\n"
         "\n"
         "Unmount with: fusermount3 -u MOUNTPOINT  (or nguestunmount MOUNTPOINT)\n";
}

static void
mount_arg_clear (struct mount_arg *m)
{
  free (m->device);
  free (m->mountpoint);
  free (m->options);
  free (m->fstype);
  memset (m, 0, sizeof *m);
}

int
options_parse_mount (const char *arg, struct mount_arg *ret, char **ret_msg)
{
  /* DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]].  Device names, UUID=, LABEL=
   * never contain ':' in practice; btrfsvol: names are handled below. */
  struct mount_arg m = { 0 };
  const char *p = arg, *colon;
  char **fields[] = { &m.device, &m.mountpoint, &m.options, &m.fstype };

  for (size_t i = 0; i < ARRAY_SIZE (fields); i++) {
    /* A btrfs subvolume is named "btrfsvol:/dev/sda2/@home": that first
     * colon is part of the device. */
    const char *from = p;
    if (i == 0 && strncmp (p, "btrfsvol:", 9) == 0)
      from = p + 9;
    colon = i < ARRAY_SIZE (fields) - 1 ? strchr (from, ':') : NULL;
    size_t len = colon ? (size_t) (colon - p) : strlen (p);
    *fields[i] = strndup (p, len);
    if (!*fields[i]) {
      mount_arg_clear (&m);
      return -ENOMEM;
    }
    if (!colon)
      break;
    p = colon + 1;
  }

  if (!m.device || !*m.device) {
    mount_arg_clear (&m);
    return set_errmsg (ret_msg, -EINVAL, "-m %s: empty device name", arg);
  }
  if (!m.mountpoint || !*m.mountpoint) {
    free (m.mountpoint);
    m.mountpoint = xstrdup ("/");
  }
  if (m.mountpoint[0] != '/') {
    mount_arg_clear (&m);
    return set_errmsg (ret_msg, -EINVAL,
                       "-m %s: the mountpoint must be an absolute path", arg);
  }
  if (m.options && !*m.options) {
    free (m.options);
    m.options = NULL;
  }
  if (m.fstype && !*m.fstype) {
    free (m.fstype);
    m.fstype = NULL;
  }
  *ret = m;
  return 0;
}

static int
add_image (struct options *o, const char *path, const char *format,
           char **ret_msg)
{
  if (!*path)
    return set_errmsg (ret_msg, -EINVAL, "empty image name");
  if (format && !image_format_supported (format))
    return set_errmsg (ret_msg, -EINVAL,
                       "unsupported format '%s' for %s (supported: %s)",
                       format, path, image_supported_formats ());
  o->images = xrealloc_array (o->images, o->n_images + 1, sizeof *o->images);
  o->images[o->n_images].path = xstrdup (path);
  o->images[o->n_images].format = xstrdup (format);
  o->n_images++;
  return 0;
}

static int
parse_fd (const char *s, int *ret)
{
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > INT_MAX)
    return -EINVAL;
  *ret = (int) v;
  return 0;
}

int
options_parse (int argc, char *const *argv, struct options *ret, char **ret_msg)
{
  struct options o = { .readonly = true, .ready_fd = -1 };
  _cleanup_free_ char *format = NULL;
  /* Positional arguments, each with the format in force where it stood. */
  struct image_arg *pos = NULL;
  size_t n_pos = 0;
  bool want_inspect = false, want_all = false;
  int c, r = 0;

  optind = 0; /* full re-initialisation of getopt (tests parse many times) */
  opterr = 0;
  while ((c = getopt_long (argc, argv, short_options, long_options, NULL))
         != -1) {
    switch (c) {
    case 1:
      pos = xrealloc_array (pos, n_pos + 1, sizeof *pos);
      pos[n_pos].path = xstrdup (optarg);
      pos[n_pos].format = xstrdup (format);
      n_pos++;
      break;
    case 'a':
      if ((r = add_image (&o, optarg, format, ret_msg)) < 0)
        goto fail;
      break;
    case OPT_FORMAT:
      free (format);
      format = optarg && *optarg ? xstrdup (optarg) : NULL;
      break;
    case 'i':
      want_inspect = true;
      break;
    case 'm': {
      struct mount_arg m;
      if ((r = options_parse_mount (optarg, &m, ret_msg)) < 0)
        goto fail;
      o.mounts = xrealloc_array (o.mounts, o.n_mounts + 1, sizeof *o.mounts);
      o.mounts[o.n_mounts++] = m;
      break;
    }
    case OPT_ALL:
      want_all = true;
      break;
    case OPT_ROOT:
      free (o.root);
      o.root = xstrdup (optarg);
      break;
    case 'r':
      o.readonly = true;
      break;
    case 'w':
      r = set_errmsg (ret_msg, -EINVAL,
                      "read-write mode is not supported yet (use --ro)");
      goto fail;
    case OPT_ALLOW_BACKING:
      o.allow_backing = true;
      break;
    case OPT_NO_FORK:
      o.no_fork = true;
      break;
    case OPT_PID_FILE:
      free (o.pid_file);
      o.pid_file = xstrdup (optarg);
      break;
    case OPT_FD:
      if (parse_fd (optarg, &o.ready_fd) < 0) {
        r = set_errmsg (ret_msg, -EINVAL, "--fd: '%s' is not a file descriptor",
                        optarg);
        goto fail;
      }
      break;
    case 'o':
      if (!*optarg) {
        r = set_errmsg (ret_msg, -EINVAL, "-o: empty option");
        goto fail;
      }
      strv_push (&o.fuse_opts, xstrdup (optarg));
      break;
    case OPT_KEY:
      strv_push (&o.keys, xstrdup (optarg));
      break;
    case OPT_KEYS_FROM_STDIN:
      o.keys_from_stdin = true;
      break;
    case OPT_ECHO_KEYS:
      o.echo_keys = true;
      break;
    case OPT_INSPECT_ONLY:
      o.inspect_only = true;
      break;
    case OPT_JSON:
      o.output_xml = false;
      break;
    case OPT_XML:
      o.output_xml = true;
      break;
    case 'v':
      o.verbose = true;
      break;
    case 'x':
      o.trace = true;
      break;
    case 'V':
      o.version = true;
      break;
    case 'h':
      o.help = true;
      break;
    case '?':
    default:
      if (optopt && optopt < 256)
        r = set_errmsg (ret_msg, -EINVAL, "invalid option -%c%s", optopt,
                        strchr (short_options, optopt) ? " (argument missing)"
                                                       : "");
      else
        r = set_errmsg (ret_msg, -EINVAL, "invalid option '%s'",
                        argv[optind - 1]);
      goto fail;
    }
  }

  if (o.help || o.version)
    goto done;

  /* The last positional argument is the mountpoint; those before it are
   * images (appended after the -a ones, in order).  --inspect-only has no
   * mountpoint: every positional argument is an image. */
  if (o.inspect_only) {
    for (size_t i = 0; i < n_pos; i++)
      if ((r = add_image (&o, pos[i].path, pos[i].format, ret_msg)) < 0)
        goto fail;
  }
  else if (n_pos > 0) {
    o.mountpoint = TAKE_PTR (pos[n_pos - 1].path);
    for (size_t i = 0; i + 1 < n_pos; i++)
      if ((r = add_image (&o, pos[i].path, pos[i].format, ret_msg)) < 0)
        goto fail;
  }

  if (want_inspect && want_all) {
    r = set_errmsg (ret_msg, -EINVAL, "-i and --all cannot be used together");
    goto fail;
  }
  if (o.n_mounts > 0 && (want_inspect || want_all)) {
    r = set_errmsg (ret_msg, -EINVAL,
                    "-m cannot be combined with -i or --all");
    goto fail;
  }
  o.mode = want_inspect ? VIEW_INSPECT
           : want_all   ? VIEW_ALL
           : o.n_mounts ? VIEW_MOUNTS
                        : VIEW_AUTO;

  if (o.n_images == 0) {
    r = set_errmsg (ret_msg, -EINVAL, "no disk image given (use -a IMAGE)");
    goto fail;
  }
  if (o.inspect_only && (o.n_mounts > 0 || want_all || o.no_fork
                         || o.pid_file || o.ready_fd >= 0 || o.fuse_opts.n)) {
    r = set_errmsg (ret_msg, -EINVAL,
                    "--inspect-only mounts nothing: -m, --all, --no-fork, "
                    "--pid-file, --fd and -o do not apply");
    goto fail;
  }
  if (!o.mountpoint && !o.inspect_only) {
    r = set_errmsg (ret_msg, -EINVAL, "no mountpoint given");
    goto fail;
  }

done:
  for (size_t i = 0; i < n_pos; i++) {
    free (pos[i].path);
    free (pos[i].format);
  }
  free (pos);
  *ret = o;
  return 0;

fail:
  for (size_t i = 0; i < n_pos; i++) {
    free (pos[i].path);
    free (pos[i].format);
  }
  free (pos);
  options_clear (&o);
  return r < 0 ? r : -EINVAL;
}

void
options_clear (struct options *o)
{
  for (size_t i = 0; i < o->n_images; i++) {
    free (o->images[i].path);
    free (o->images[i].format);
  }
  free (o->images);
  for (size_t i = 0; i < o->n_mounts; i++)
    mount_arg_clear (&o->mounts[i]);
  free (o->mounts);
  free (o->mountpoint);
  free (o->root);
  free (o->pid_file);
  strv_clear (&o->fuse_opts);
  for (size_t i = 0; i < o->keys.n; i++)
    explicit_bzero (o->keys.v[i], strlen (o->keys.v[i]));
  strv_clear (&o->keys);
  memset (o, 0, sizeof *o);
  o->ready_fd = -1;
}
