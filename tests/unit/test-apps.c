/* Unit tests for src/inspect/apps*.c: version splitting, the dpkg, apk and
 * pacman parsers (including hostile input and the caps), listing from guest
 * trees built under /tmp, and the rpm database read with librpm (a
 * database built at test time with rpmbuild + rpm --justdb; skipped when
 * those are not installed).  No root needed. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "inspect/apps.h"
#include "inspect/inspect.h"

static const struct inspect_app *
find_app (const struct apps_list *l, const char *name)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->v[i].name, name) == 0)
      return &l->v[i];
  return NULL;
}

static void
assert_str (const char *got, const char *want)
{
  if (!want)
    assert_null (got);
  else {
    assert_non_null (got);
    assert_string_equal (got, want);
  }
}

/* No field holds a control character other than a newline in the
 * summary/description, and every string is valid for printing. */
static void
assert_clean (const struct apps_list *l)
{
  for (size_t i = 0; i < l->n; i++) {
    const struct inspect_app *a = &l->v[i];
    const char *single[] = { a->name, a->version, a->release, a->arch,
                             a->url, a->source_package, a->summary };
    assert_non_null (a->name);
    assert_true (a->name[0] != '\0');
    for (size_t k = 0; k < sizeof single / sizeof *single; k++)
      for (const char *p = single[k]; p && *p; p++)
        assert_false ((unsigned char) *p < 0x20 || *p == 0x7f);
    for (const char *p = a->description; p && *p; p++)
      assert_false (((unsigned char) *p < 0x20 && *p != '\n') || *p == 0x7f);
  }
}

/* ---------------------------------------------------------------------- */

static void
test_split_version (void **state)
{
  static const struct {
    const char *in;
    int ret, epoch;
    const char *version, *release;
  } t[] = {
    { "1:2.3-4", 0, 1, "2.3", "4" },
    { "2.3", 0, 0, "2.3", NULL },
    { "2.36-9+deb12u4", 0, 0, "2.36", "9+deb12u4" },
    { "1.2-beta-3", 0, 0, "1.2", "beta-3" },   /* first '-', as libguestfs */
    { "0:1.0-1", 0, 0, "1.0", "1" },
    { "12:3", 0, 12, "3", NULL },
    { "1:2:3-4", 0, 1, "2:3", "4" },
    { "x:1.0", -EINVAL, 0, NULL, NULL },
    { ":1.0", -EINVAL, 0, NULL, NULL },
    { "99999999999:1.0", -EINVAL, 0, NULL, NULL },
    { "-1", 0, 0, NULL, "1" },
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    int epoch = -5;
    char *v = NULL, *r = NULL;
    int ret = apps_split_version (t[i].in, &epoch, &v, &r);
    assert_int_equal (ret, t[i].ret);
    if (ret == 0) {
      assert_int_equal (epoch, t[i].epoch);
      assert_str (v, t[i].version);
      assert_str (r, t[i].release);
    }
    free (v);
    free (r);
  }
}

static const char dpkg_status[] =
  "Package: libc6\n"
  "Status: install ok installed\n"
  "Priority: optional\n"
  "Architecture: amd64\n"
  "Multi-Arch: same\n"
  "Source: glibc (2.36-9+deb12u4)\n"
  "Version: 2.36-9+deb12u4\n"
  "Description: GNU C Library: Shared libraries\n"
  " Contains the standard libraries that are used by nearly all programs on\n"
  " the system.\n"
  " .\n"
  " More text.\n"
  "Homepage: https://www.gnu.org/software/libc/libc.html\n"
  "\n"
  "Package: removed-pkg\n"
  "Status: deinstall ok config-files\n"
  "Version: 1.0-1\n"
  "\n"
  "Package: broken\n"
  "Status: install reinstreq half-installed\n"
  "Version: 1.0-1\n"
  "\n"
  "Package: held\n"
  "Status: hold ok installed\n"
  "Version: 3:4.5\n"
  "Architecture: all\n"
  "\n"
  "Package: bad-epoch\n"
  "Status: install ok installed\n"
  "Version: x:1.0-1\n"
  "\n"
  "\n\n"
  "package: adduser\n"
  "status: install ok installed\n"
  "version: 3.134\n"
  "architecture: all\n"
  "Description: add and remove users and groups";   /* no final newline */

static void
test_dpkg (void **state)
{
  struct apps_list l = { 0 };
  apps_parse_dpkg_status (dpkg_status, strlen (dpkg_status), &l);
  apps_list_sort (&l);
  assert_int_equal (l.n, 3);
  assert_string_equal (l.v[0].name, "adduser");
  assert_string_equal (l.v[1].name, "held");
  assert_string_equal (l.v[2].name, "libc6");
  assert_int_equal (l.invalid, 1);
  assert_false (l.truncated);

  const struct inspect_app *a = find_app (&l, "libc6");
  assert_int_equal (a->epoch, 0);
  assert_str (a->version, "2.36");
  assert_str (a->release, "9+deb12u4");
  assert_str (a->arch, "amd64");
  assert_str (a->source_package, "glibc");
  assert_str (a->url, "https://www.gnu.org/software/libc/libc.html");
  assert_str (a->summary, "GNU C Library: Shared libraries");
  assert_str (a->description,
              "Contains the standard libraries that are used by nearly all "
              "programs on\nthe system.\n.\nMore text.");

  a = find_app (&l, "held");
  assert_int_equal (a->epoch, 3);
  assert_str (a->version, "4.5");
  assert_null (a->release);

  a = find_app (&l, "adduser");
  assert_str (a->version, "3.134");
  assert_str (a->summary, "add and remove users and groups");
  assert_null (a->description);
  assert_clean (&l);
  apps_list_clear (&l);
}

static void
test_dpkg_hostile (void **state)
{
  struct apps_list l = { 0 };

  /* Control characters, NUL bytes, invalid UTF-8 and a 1 MiB line. */
  static const char evil[]
      = "Package: ev\til\x01name\xff\n"
        "Status: install ok installed\n"
        "Version: 1.0\x1b[31m-1\n"
        "Architecture: amd64\0garbage\n"
        "Description: sum\rmary\n"
        "  line\x7f one\n"
        "\n";
  apps_parse_dpkg_status (evil, sizeof evil - 1, &l);
  assert_int_equal (l.n, 1);
  assert_str (l.v[0].name, "ev?il?name?");
  assert_str (l.v[0].version, "1.0?[31m");
  assert_str (l.v[0].arch, "amd64");
  assert_clean (&l);
  apps_list_clear (&l);

  size_t big = 4u << 20;
  char *buf = malloc (big);
  assert_non_null (buf);
  static const char head[] = "Package: huge\nStatus: install ok installed\n"
                             "Version: 1\nDescription: ";
  memcpy (buf, head, sizeof head - 1);
  /* One line, no newline at all. */
  memset (buf + sizeof head - 1, 'A', big - (sizeof head - 1));
  apps_parse_dpkg_status (buf, big, &l);
  assert_int_equal (l.n, 1);
  assert_true (strlen (l.v[0].summary) <= APPS_FIELD_MAX);
  apps_list_clear (&l);

  /* Random bytes: whatever comes out is clean. */
  srand (42);
  for (size_t i = 0; i < big; i++)
    buf[i] = (char) (rand () & 0xff);
  for (size_t i = 0; i < big; i += 997)
    buf[i] = '\n';
  apps_parse_dpkg_status (buf, big, &l);
  assert_clean (&l);
  apps_list_clear (&l);
  apps_parse_dpkg_status (NULL, 0, &l);
  assert_int_equal (l.n, 0);
  free (buf);
}

/* 100 001 installed packages: the list stops at APPS_MAX with truncated
 * set, in bounded time. */
static void
test_dpkg_many (void **state)
{
  size_t n = APPS_MAX + 1;
  size_t cap = n * 96, len = 0;
  char *buf = malloc (cap);
  assert_non_null (buf);
  for (size_t i = 0; i < n; i++)
    len += (size_t) snprintf (buf + len, cap - len,
                              "Package: pkg%06zu\nStatus: install ok installed\n"
                              "Version: 1:%zu-1\n\n",
                              i, i);
  struct apps_list l = { 0 };
  apps_parse_dpkg_status (buf, len, &l);
  assert_int_equal (l.n, APPS_MAX);
  assert_true (l.truncated);
  apps_list_sort (&l);
  assert_string_equal (l.v[0].name, "pkg000000");
  assert_int_equal (l.v[5].epoch, 1);
  apps_list_clear (&l);
  free (buf);
}

static const char apk_db[] =
  "C:Q1abc=\n"
  "P:musl\n"
  "V:1.2.4-r2\n"
  "A:x86_64\n"
  "S:383152\n"
  "T:the musl c library (libc) implementation\n"
  "U:https://musl.libc.org/\n"
  "L:MIT\n"
  "o:musl\n"
  "F:lib\n"
  "R:libc.musl-x86_64.so.1\n"
  "\n"
  "P:busybox\n"
  "V:1:1.36.1-r5\n"
  "A:x86_64\n"
  "o:busybox\n"
  "\n"
  "P:noversion\n"
  "A:x86_64\n"
  "\n"
  "garbage line without colon\n"
  "P:alpine-baselayout\n"
  "V:3.4.3-r1\n";   /* no final blank line */

static void
test_apk (void **state)
{
  struct apps_list l = { 0 };
  apps_parse_apk_installed (apk_db, strlen (apk_db), &l);
  apps_list_sort (&l);
  assert_int_equal (l.n, 3);
  const struct inspect_app *a = find_app (&l, "musl");
  assert_non_null (a);
  assert_str (a->version, "1.2.4");
  assert_str (a->release, "2");
  assert_str (a->arch, "x86_64");
  assert_str (a->url, "https://musl.libc.org/");
  assert_str (a->description, "the musl c library (libc) implementation");
  assert_str (a->source_package, "musl");
  a = find_app (&l, "busybox");
  assert_int_equal (a->epoch, 1);
  assert_str (a->version, "1.36.1");
  assert_str (a->release, "5");
  assert_non_null (find_app (&l, "alpine-baselayout"));
  assert_null (find_app (&l, "noversion"));
  assert_clean (&l);
  apps_list_clear (&l);
}

static void
test_pacman (void **state)
{
  static const char desc[] = "%NAME%\nbash\n\n%VERSION%\n5.2.026-2\n\n"
                             "%BASE%\nbash\n\n%DESC%\nThe GNU Bourne Again shell\n\n"
                             "%URL%\nhttps://www.gnu.org/software/bash/\n\n"
                             "%ARCH%\nx86_64\n\n%BUILDDATE%\n1\n";
  static const char epoch[] = "%NAME%\nlinux\n\n%VERSION%\n2:6.8-1\n\n"
                              "%ARCH%\nx86_64\n";
  static const char noarch[] = "%NAME%\nfoo\n\n%VERSION%\n1-1\n";
  static const char norel[] = "%NAME%\nfoo\n\n%VERSION%\n1\n\n%ARCH%\nany\n";
  static const char bin[] = "%NAME%\n\x01\x02\xff\xfe\n%VERSION%\n\x80-\x81\n"
                            "%ARCH%\n";
  struct apps_list l = { 0 };
  apps_parse_pacman_desc (desc, strlen (desc), &l);
  apps_parse_pacman_desc (epoch, strlen (epoch), &l);
  apps_parse_pacman_desc (noarch, strlen (noarch), &l);
  apps_parse_pacman_desc (norel, strlen (norel), &l);
  apps_parse_pacman_desc (bin, sizeof bin - 1, &l);
  assert_int_equal (l.n, 2);
  assert_int_equal (l.invalid, 3);
  const struct inspect_app *a = find_app (&l, "bash");
  assert_str (a->version, "5.2.026");
  assert_str (a->release, "2");
  assert_str (a->arch, "x86_64");
  assert_str (a->url, "https://www.gnu.org/software/bash/");
  assert_str (a->description, "The GNU Bourne Again shell");
  a = find_app (&l, "linux");
  assert_int_equal (a->epoch, 2);
  assert_clean (&l);
  apps_list_clear (&l);
}

/* ---------------------------------------------------------------------- */
/* Guest trees. */

static char tree[64];

static int
rm_cb (const char *p, const struct stat *st, int flag, struct FTW *f)
{
  return remove (p);
}

static int
tree_setup (void **state)
{
  strcpy (tree, "/tmp/ngm-test-apps.XXXXXX");
  return mkdtemp (tree) ? 0 : -1;
}

static int
tree_teardown (void **state)
{
  return nftw (tree, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
put (const char *rel, const char *data, size_t len)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", tree, rel);
  for (char *p = path + strlen (tree) + 1; (p = strchr (p, '/')); p++) {
    *p = '\0';
    mkdir (path, 0755);
    *p = '/';
  }
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  assert_int_equal (fwrite (data, 1, len, f), len);
  fclose (f);
}

static int
open_tree (void)
{
  int fd = open (tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  return fd;
}

static void
test_tree_deb (void **state)
{
  put ("var/lib/dpkg/status", dpkg_status, strlen (dpkg_status));
  struct inspect_os os = { .root_device = xstrdup ("/dev/sda1"),
                           .package_format = xstrdup ("deb") };
  struct strv warnings = { 0 };
  _cleanup_close_ int fd = open_tree ();
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 3);
  assert_string_equal (os.apps[0].name, "adduser");
  assert_int_equal (warnings.n, 0);

  /* A symlink out of the guest resolves inside it: no host file is read. */
  char path[512];
  snprintf (path, sizeof path, "%s/var/lib/dpkg/status", tree);
  unlink (path);
  assert_int_equal (symlink ("/proc/self/status", path), 0);
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 0);

  /* A directory where the file should be: a warning, no error. */
  unlink (path);
  mkdir (path, 0755);
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 0);
  assert_int_equal (warnings.n, 1);
  assert_non_null (strstr (warnings.v[0], "/dev/sda1"));
  strv_clear (&warnings);
  inspect_os_clear (&os);
}

static void
test_tree_apk_pacman (void **state)
{
  put ("lib/apk/db/installed", apk_db, strlen (apk_db));
  static const char d1[] = "%NAME%\nzlib\n\n%VERSION%\n1:1.3-2\n\n%ARCH%\nx86_64\n";
  static const char d2[] = "%NAME%\nacl\n\n%VERSION%\n2.3.2-1\n\n%ARCH%\nx86_64\n";
  put ("var/lib/pacman/local/zlib-1:1.3-2/desc", d1, strlen (d1));
  put ("var/lib/pacman/local/acl-2.3.2-1/desc", d2, strlen (d2));
  put ("var/lib/pacman/local/ALPM_DB_VERSION", "9\n", 2);
  put ("var/lib/pacman/local/broken-1-1/files", "x\n", 2);

  struct strv warnings = { 0 };
  _cleanup_close_ int fd = open_tree ();
  struct inspect_os os = { .root_device = xstrdup ("/dev/sda1"),
                           .package_format = xstrdup ("apk") };
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 3);
  assert_string_equal (os.apps[0].name, "alpine-baselayout");
  inspect_os_clear (&os);

  os.root_device = xstrdup ("/dev/sda1");
  os.package_format = xstrdup ("pacman");
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 2);
  assert_string_equal (os.apps[0].name, "acl");
  assert_string_equal (os.apps[1].name, "zlib");
  assert_int_equal (os.apps[1].epoch, 1);
  assert_int_equal (warnings.n, 1);   /* broken-1-1 has no desc */
  inspect_os_clear (&os);

  /* Unknown formats list nothing. */
  os.package_format = xstrdup ("unknown");
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 0);
  inspect_os_clear (&os);
  strv_clear (&warnings);
}

/* A separate /var: inspect_applications_all reads the dpkg status from the
 * filesystem mounted there. */
static void
test_all_separate_var (void **state)
{
  put ("root/etc/hostname", "x\n", 2);
  put ("var/lib/dpkg/status", dpkg_status, strlen (dpkg_status));
  char p1[256], p2[256];
  snprintf (p1, sizeof p1, "%s/root", tree);
  snprintf (p2, sizeof p2, "%s/var", tree);
  int rfd = open (p1, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int vfd = open (p2, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (rfd >= 0 && vfd >= 0);

  struct inspection insp = { 0 };
  insp.n_fs = 2;
  insp.fs = xcalloc (2, sizeof *insp.fs);
  insp.fs[0].device = xstrdup ("/dev/sda1");
  insp.fs[0].rootfd = rfd;
  insp.fs[1].device = xstrdup ("/dev/sda2");
  insp.fs[1].rootfd = vfd;
  insp.n_os = 1;
  insp.os = xcalloc (1, sizeof *insp.os);
  struct inspect_os *os = &insp.os[0];
  os->root_device = xstrdup ("/dev/sda1");
  os->package_format = xstrdup ("deb");
  os->n_mountpoints = 2;
  os->mountpoints = xcalloc (2, sizeof *os->mountpoints);
  os->mountpoints[0].mountpoint = xstrdup ("/");
  os->mountpoints[0].device = xstrdup ("/dev/sda1");
  os->mountpoints[1].mountpoint = xstrdup ("/var");
  os->mountpoints[1].device = xstrdup ("/dev/sda2");

  assert_int_equal (inspect_applications (rfd, os, &insp.warnings), 0);
  assert_int_equal (os->n_apps, 0);
  assert_int_equal (inspect_applications_all (&insp), 0);
  assert_int_equal (os->n_apps, 3);
  close (rfd);
  close (vfd);
  inspection_clear (&insp);
}

/* ---------------------------------------------------------------------- */
/* rpm: a real database made with rpmbuild and rpm --justdb. */

static int
run (const char *cmd)
{
  int r = system (cmd);
  return WIFEXITED (r) ? WEXITSTATUS (r) : -1;
}

static bool
make_rpmdb (const char *backend, const char *dbdir)
{
  char cmd[4096];
  snprintf (cmd, sizeof cmd,
            "set -e; t=%s/build; mkdir -p $t/SPECS\n"
            "for p in alpha:0:1.0:1 beta:3:2.5:7.fc40 gamma:0:0.1:1; do\n"
            "  IFS=: read n e v r <<EOF\n$p\nEOF\n"
            "  { echo \"Name: $n\"; echo \"Version: $v\"; echo \"Release: $r\";\n"
            "    [ \"$e\" = 0 ] || echo \"Epoch: $e\";\n"
            "    echo \"Summary: The $n test package\"; echo 'License: MIT';\n"
            "    echo \"URL: https://example.org/$n\"; echo 'BuildArch: noarch';\n"
            "    printf '%%%%description\\nFirst line of %%s.\\nSecond line.\\n' $n;\n"
            "    printf '%%%%files\\n'; } > $t/SPECS/$n.spec\n"
            "  rpmbuild --quiet --define \"_topdir $t\" --define '_build_id_links none' "
            "-bb $t/SPECS/$n.spec >/dev/null 2>&1\n"
            "done\n"
            "mkdir -p %s\n"
            "rpm --define '_db_backend %s' --dbpath %s --initdb 2>/dev/null\n"
            "rpm --define '_db_backend %s' --dbpath %s -i --justdb --nodeps "
            "--nosignature --nodigest --ignorearch --ignoreos "
            "$t/RPMS/noarch/*.rpm >/dev/null 2>&1\n",
            tree, dbdir, backend, dbdir, backend, dbdir);
  return run (cmd) == 0;
}

static void
check_rpm_apps (const struct inspect_os *os)
{
  assert_int_equal (os->n_apps, 3);
  assert_string_equal (os->apps[0].name, "alpha");
  assert_string_equal (os->apps[1].name, "beta");
  assert_string_equal (os->apps[2].name, "gamma");
  const struct inspect_app *b = &os->apps[1];
  assert_int_equal (b->epoch, 3);
  assert_str (b->version, "2.5");
  assert_str (b->release, "7.fc40");
  assert_str (b->arch, "noarch");
  assert_str (b->url, "https://example.org/beta");
  assert_str (b->summary, "The beta test package");
  assert_str (b->description, "First line of beta.\nSecond line.");
  assert_int_equal (os->apps[0].epoch, 0);
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whatever is listed from a damaged database is one of the real packages,
 * whole. */
static void
assert_clean_rpm (const struct inspect_os *os)
{
  static const char *const names[] = { "alpha", "beta", "gamma" };
  for (size_t i = 0; i < os->n_apps; i++) {
    bool known = false;
    for (size_t k = 0; k < 3; k++)
      known = known || strcmp (os->apps[i].name, names[k]) == 0;
    assert_true (known);
    assert_str (os->apps[i].arch, "noarch");
  }
}

static void
rpm_case (const char *backend, const char *guest_dir)
{
  if (run ("command -v rpmbuild >/dev/null && command -v rpm >/dev/null") != 0)
    skip ();
  char dbdir[512];
  snprintf (dbdir, sizeof dbdir, "%s/%s", tree, guest_dir);
  if (!make_rpmdb (backend, dbdir)) {
    print_message ("cannot build an rpm database with backend %s\n", backend);
    skip ();
  }
  struct inspect_os os = { .root_device = xstrdup ("/dev/vda3"),
                           .package_format = xstrdup ("rpm") };
  struct strv warnings = { 0 };
  _cleanup_close_ int fd = open_tree ();
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  for (size_t i = 0; i < warnings.n; i++)
    print_message ("warning: %s\n", warnings.v[i]);
  assert_int_equal (warnings.n, 0);
  check_rpm_apps (&os);
  inspect_os_clear (&os);

  /* Nothing left behind in TMPDIR. */
  assert_int_equal (run ("ls -d ${TMPDIR:-/tmp}/nguestmount-rpmdb.* "
                         ">/dev/null 2>&1"),
                    2);

  /* A corrupt database: a warning, no crash, no error. */
  char cmd[1024];
  snprintf (cmd, sizeof cmd,
            "for f in %s/*; do head -c 8192 /dev/urandom > $f; done", dbdir);
  assert_int_equal (run (cmd), 0);
  os.root_device = xstrdup ("/dev/vda3");
  os.package_format = xstrdup ("rpm");
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (os.n_apps, 0);
  assert_true (warnings.n >= 1);
  inspect_os_clear (&os);
  strv_clear (&warnings);
}

static void
test_rpm_sqlite (void **state)
{
  rpm_case ("sqlite", "usr/lib/sysimage/rpm");
}

/* rpm: a BerkeleyDB "Packages" database (RHEL/CentOS 7 and older), read by
 * librpm's bdb_ro backend.  Debian's rpm cannot write one, so it is built
 * with db_load from the header blobs of a sqlite rpmdb: a hash database
 * whose keys are the header numbers as 4-byte integers in the guest's byte
 * order, plus the key 0 record holding the next free header number, as rpm
 * before 4.16 wrote it. */
static bool
make_bdb (const char *sqlite_dir, const char *order, int pagesize,
          const char *dbdir)
{
  char cmd[4096];
  snprintf (cmd, sizeof cmd,
            "set -e; load=$(command -v db5.3_load || command -v db_load)\n"
            "mkdir -p %s\n"
            "{ printf 'VERSION=3\\nformat=bytevalue\\ntype=hash\\n"
            "db_pagesize=%d\\nHEADER=END\\n'\n"
            "  sqlite3 %s/rpmdb.sqlite \"select hnum, hex(blob) from Packages "
            "union all select 0, (select max(hnum) + 1 from Packages)\" |\n"
            "  awk -F'|' -v o=%s '\n"
            "    function key(n,  h) {\n"
            "      h = sprintf(\"%%08x\", n)\n"
            "      return o == \"le\" ? substr(h, 7, 2) substr(h, 5, 2) "
            "substr(h, 3, 2) substr(h, 1, 2) : h }\n"
            "    { print \" \" key($1); "
            "print \" \" ($1 == 0 ? key($2) : tolower($2)) }'\n"
            "  echo DATA=END; } > %s/dump\n"
            "$load -c db_lorder=%s -f %s/dump %s/Packages\n"
            "rm -f %s/dump\n",
            dbdir, pagesize, sqlite_dir, order, tree,
            strcmp (order, "le") == 0 ? "1234" : "4321", tree, dbdir, tree);
  return run (cmd) == 0;
}

static void
test_rpm_bdb (void **state)
{
  if (run ("{ command -v rpmbuild && command -v rpm && command -v sqlite3 && "
           "{ command -v db5.3_load || command -v db_load; }; } >/dev/null && "
           "rpm --showrc | grep -q '^available backends.*bdb_ro'") != 0)
    skip ();
  char src[512], dbdir[512];
  snprintf (src, sizeof src, "%s/scratch-sqlite", tree);
  snprintf (dbdir, sizeof dbdir, "%s/var/lib/rpm", tree);
  assert_true (make_rpmdb ("sqlite", src));

  /* Little-endian with overflow pages (the usual 4 KiB pages: every
   * header is a "big" item), little-endian with the headers on the hash
   * pages, and big-endian (s390x, ppc64) with headers chained over many
   * 512-byte overflow pages. */
  static const struct {
    const char *order;
    int pagesize;
  } v[] = { { "le", 4096 }, { "le", 16384 }, { "be", 512 } };
  _cleanup_close_ int fd = open_tree ();
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    char cmd[1024];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dbdir);
    assert_int_equal (run (cmd), 0);
    assert_true (make_bdb (src, v[i].order, v[i].pagesize, dbdir));
    /* What a RHEL 7 /var/lib/rpm also holds: index databases and the
     * BerkeleyDB environment; only Packages is needed. */
    put ("var/lib/rpm/Name", "not a database", 14);
    put ("var/lib/rpm/__db.001", "", 0);

    struct inspect_os os = { .root_device = xstrdup ("/dev/sda1"),
                             .package_format = xstrdup ("rpm") };
    struct strv warnings = { 0 };
    assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
    for (size_t k = 0; k < warnings.n; k++)
      print_message ("warning: %s\n", warnings.v[k]);
    assert_int_equal (warnings.n, 0);
    check_rpm_apps (&os);
    inspect_os_clear (&os);
    strv_clear (&warnings);
  }
  assert_int_equal (run ("ls -d ${TMPDIR:-/tmp}/nguestmount-rpmdb.* "
                         ">/dev/null 2>&1"),
                    2);

  /* Damaged databases: a warning naming the device, only valid packages,
   * and librpm never runs unbounded. */
  static const struct {
    const char *what, *damage, *warning;
    size_t max_apps;
  } h[] = {
    { "the meta page intact, every other page random",
      "s=$(stat -c %s $f); head -c $((s - 4096)) /dev/urandom | "
      "dd of=$f bs=4096 seek=1 conv=notrunc status=none",
      "damaged", 0 },
    { "the last page cut off",
      "truncate -s -4096 $f",
      "damaged", 2 },
    /* bdb_ro follows an empty overflow page that names itself as the next
     * one for ever: the child is stopped after RPM_CHILD_IDLE seconds. */
    { "every overflow page empty and pointing at itself",
      "s=$(stat -c %s $f); for i in $(seq 1 $((s / 4096 - 1))); do "
      "  t=$(od -A n -t u1 -j $((i * 4096 + 25)) -N 1 $f); "
      "  [ $t = 7 ] || continue; "
      "  printf \"$(printf '\\\\%03o' $((i & 255)) $((i >> 8 & 255)) 0 0)\" | "
      "  dd of=$f bs=1 seek=$((i * 4096 + 16)) conv=notrunc status=none; "
      "  printf '\\0\\0' | "
      "  dd of=$f bs=1 seek=$((i * 4096 + 22)) conv=notrunc status=none; "
      "done",
      "no progress", 0 },
  };
  for (size_t i = 0; i < sizeof h / sizeof *h; i++) {
    char cmd[2048];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dbdir);
    assert_int_equal (run (cmd), 0);
    assert_true (make_bdb (src, "le", 4096, dbdir));
    snprintf (cmd, sizeof cmd, "set -e; f=%s/Packages; %s", dbdir,
              h[i].damage);
    assert_int_equal (run (cmd), 0);

    struct inspect_os os = { .root_device = xstrdup ("/dev/sda1"),
                             .package_format = xstrdup ("rpm") };
    struct strv warnings = { 0 };
    double t0 = now ();
    assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
    double dt = now () - t0;
    print_message ("%s: %zu packages in %.1f s: %s\n", h[i].what, os.n_apps,
                   dt, warnings.n ? warnings.v[0] : "(no warning)");
    assert_true (dt < 30);
    assert_true (os.n_apps <= h[i].max_apps);
    assert_int_equal (warnings.n, 1);
    assert_non_null (strstr (warnings.v[0], "/dev/sda1"));
    assert_non_null (strstr (warnings.v[0], h[i].warning));
    assert_clean_rpm (&os);
    inspect_os_clear (&os);
    strv_clear (&warnings);
  }
  assert_int_equal (run ("ls -d ${TMPDIR:-/tmp}/nguestmount-rpmdb.* "
                         ">/dev/null 2>&1"),
                    2);
}

/* A 10 GB rpm database (sparse: it costs no disk) is refused with a
 * warning at once, by its size, and nothing of it is copied. */
static void
test_rpm_huge (void **state)
{
  static const char *const files[] = {
    "var/lib/rpm/Packages",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    /* The cap is on all files together: a small database with a huge
     * write-ahead log is refused too. */
    "usr/lib/sysimage/rpm/rpmdb.sqlite-wal",
  };
  _cleanup_close_ int fd = open_tree ();
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char path[512], cmd[1024];
    snprintf (cmd, sizeof cmd, "rm -rf %s/var %s/usr", tree, tree);
    assert_int_equal (run (cmd), 0);
    if (i == 2)
      put ("usr/lib/sysimage/rpm/rpmdb.sqlite", "SQLite format 3", 16);
    put (files[i], "", 0);
    snprintf (path, sizeof path, "%s/%s", tree, files[i]);
    assert_int_equal (truncate (path, 10000000000LL), 0);

    struct inspect_os os = { .root_device = xstrdup ("/dev/sda1"),
                             .package_format = xstrdup ("rpm") };
    struct strv warnings = { 0 };
    double t0 = now ();
    assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
    double dt = now () - t0;
    print_message ("%s: refused in %.3f s\n", files[i], dt);
    assert_true (dt < 1.0);
    assert_int_equal (os.n_apps, 0);
    assert_int_equal (warnings.n, 1);
    assert_non_null (strstr (warnings.v[0], "/dev/sda1"));
    assert_non_null (strstr (warnings.v[0], "larger than"));
    inspect_os_clear (&os);
    strv_clear (&warnings);
    assert_int_equal (run ("ls -d ${TMPDIR:-/tmp}/nguestmount-rpmdb.* "
                           ">/dev/null 2>&1"),
                      2);
  }
}

static void
test_rpm_ndb (void **state)
{
  rpm_case ("ndb", "var/lib/rpm");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_split_version),
    cmocka_unit_test (test_dpkg),
    cmocka_unit_test (test_dpkg_hostile),
    cmocka_unit_test (test_dpkg_many),
    cmocka_unit_test (test_apk),
    cmocka_unit_test (test_pacman),
    cmocka_unit_test_setup_teardown (test_tree_deb, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_tree_apk_pacman, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_all_separate_var, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_rpm_sqlite, tree_setup,
                                     tree_teardown),
    cmocka_unit_test_setup_teardown (test_rpm_ndb, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_rpm_bdb, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_rpm_huge, tree_setup, tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
