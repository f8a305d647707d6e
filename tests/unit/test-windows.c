/* Unit tests for Windows inspection (src/inspect/windows.c): MountedDevices
 * values, PE headers, osinfo ids, drive letter resolution, MBR partition
 * scanning with libblkid, registry reading (including the installed
 * applications of both Uninstall views) from hives built at test
 * time with tests/fixtures/mkhive.py and hivexregedit (those tests skip
 * when python3 or hivexregedit is missing). */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "inspect/inspect.h"

/* ---------------------------------------------------------------------- */
/* MountedDevices values. */

static void
test_decode_mbr (void **state)
{
  (void) state;
  const unsigned char v[12] = { 0x78, 0x56, 0x34, 0x12,             /* sig */
                                0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0 }; /* 1 MiB */
  char letter = 0;
  char *key = NULL;
  assert_int_equal (inspect_windows_decode_mapping ("\\DosDevices\\C:", v,
                                                    sizeof v, &letter, &key),
                    1);
  assert_int_equal (letter, 'C');
  assert_string_equal (key, "mbr:12345678:1048576");
  free (key);

  /* Lower-case letters are Windows's too; the prefix is any case. */
  assert_int_equal (inspect_windows_decode_mapping ("\\dosdevices\\d:", v,
                                                    sizeof v, &letter, &key),
                    1);
  assert_int_equal (letter, 'D');
  free (key);

  /* Offsets up to 2^64 - 1. */
  const unsigned char big[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  assert_int_equal (inspect_windows_decode_mapping ("\\DosDevices\\Z:", big,
                                                    sizeof big, &letter, &key),
                    1);
  assert_string_equal (key, "mbr:ffffffff:18446744073709551615");
  free (key);
}

static void
test_decode_gpt (void **state)
{
  (void) state;
  /* DMIO:ID: + the GUID 01020304-0506-0708-090a-0b0c0d0e0f10 on disk
   * (first three fields little-endian). */
  unsigned char v[24] = "DMIO:ID:";
  const unsigned char g[16] = { 0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08,
                                0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
                                0x0f, 0x10 };
  memcpy (v + 8, g, 16);
  char letter = 0;
  char *key = NULL;
  assert_int_equal (inspect_windows_decode_mapping ("\\DosDevices\\E:", v,
                                                    sizeof v, &letter, &key),
                    1);
  assert_int_equal (letter, 'E');
  assert_string_equal (key, "gpt:01020304-0506-0708-090a-0b0c0d0e0f10");
  free (key);
}

static void
test_decode_hostile (void **state)
{
  (void) state;
  unsigned char buf[4096];
  memset (buf, 0xa5, sizeof buf);
  memcpy (buf, "DMIO:ID:", 8);
  char letter = 0;
  char *key = NULL;
  /* Lengths around the two valid ones. */
  const size_t lens[] = { 0, 1, 4, 8, 11, 13, 16, 23, 25, 64, 4096 };
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    assert_int_equal (inspect_windows_decode_mapping ("\\DosDevices\\C:", buf,
                                                      lens[i], &letter, &key),
                      0);
  /* 24 bytes without the DMIO prefix. */
  memset (buf, 0, 8);
  assert_int_equal (inspect_windows_decode_mapping ("\\DosDevices\\C:", buf,
                                                    24, &letter, &key), 0);
  /* Names that are not a drive letter. */
  const char *names[] = {
    "\\DosDevices\\CC:", "\\DosDevices\\1:", "\\DosDevices\\C", "\\DosDevices\\",
    "\\??\\Volume{01020304-0506-0708-090a-0b0c0d0e0f10}", "", "C:",
    "\\DosDevices\\C:\\", "\\DosDevices\\\xc3\xa9:", "\\DosDevices\\C;",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    assert_int_equal (inspect_windows_decode_mapping (names[i], buf, 12,
                                                      &letter, &key),
                      0);
  assert_int_equal (inspect_windows_decode_mapping (NULL, buf, 12, &letter,
                                                    &key), 0);
  assert_int_equal (inspect_windows_decode_mapping ("\\DosDevices\\C:", NULL,
                                                    12, &letter, &key), 0);
}

/* ---------------------------------------------------------------------- */
/* PE headers. */

static size_t
make_pe (unsigned char *buf, size_t size, uint32_t lfanew, uint16_t machine,
         uint16_t magic)
{
  memset (buf, 0, size);
  buf[0] = 'M';
  buf[1] = 'Z';
  buf[0x3c] = (unsigned char) lfanew;
  buf[0x3d] = (unsigned char) (lfanew >> 8);
  buf[0x3e] = (unsigned char) (lfanew >> 16);
  buf[0x3f] = (unsigned char) (lfanew >> 24);
  if ((uint64_t) lfanew + 26 <= size) {
    memcpy (buf + lfanew, "PE\0\0", 4);
    buf[lfanew + 4] = (unsigned char) machine;
    buf[lfanew + 5] = (unsigned char) (machine >> 8);
    buf[lfanew + 24] = (unsigned char) magic;
    buf[lfanew + 25] = (unsigned char) (magic >> 8);
  }
  return size;
}

static void
test_pe_arch (void **state)
{
  (void) state;
  unsigned char b[512];

  make_pe (b, sizeof b, 0x80, 0x8664, 0x20b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "x86_64");
  make_pe (b, sizeof b, 0x80, 0x014c, 0x10b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "i386");
  make_pe (b, sizeof b, 0xe8, 0xaa64, 0x20b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "aarch64");
  make_pe (b, sizeof b, 0x80, 0x01c4, 0x10b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "arm");
  /* Unknown machine: the optional header's magic decides. */
  make_pe (b, sizeof b, 0x80, 0x1234, 0x10b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "i386");
  make_pe (b, sizeof b, 0x80, 0x1234, 0x20b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "x86_64");
  make_pe (b, sizeof b, 0x80, 0x1234, 0x999);
  assert_null (inspect_windows_pe_arch (b, sizeof b));

  /* Hostile: e_lfanew past the end, at the very end, near 2^32; no MZ; no
   * PE signature; too short. */
  make_pe (b, sizeof b, 0xfffffff0u, 0x8664, 0x20b);
  assert_null (inspect_windows_pe_arch (b, sizeof b));
  make_pe (b, sizeof b, sizeof b - 4, 0x8664, 0x20b);
  assert_null (inspect_windows_pe_arch (b, sizeof b));
  make_pe (b, sizeof b, sizeof b - 26, 0x8664, 0x20b);
  assert_string_equal (inspect_windows_pe_arch (b, sizeof b), "x86_64");
  assert_null (inspect_windows_pe_arch (b, sizeof b - 1));
  make_pe (b, sizeof b, 0x80, 0x8664, 0x20b);
  b[0x80] = 'X';
  assert_null (inspect_windows_pe_arch (b, sizeof b));
  make_pe (b, sizeof b, 0x80, 0x8664, 0x20b);
  b[0] = 'Z';
  assert_null (inspect_windows_pe_arch (b, sizeof b));
  assert_null (inspect_windows_pe_arch (b, 10));
  assert_null (inspect_windows_pe_arch (NULL, 0));
}

/* ---------------------------------------------------------------------- */
/* osinfo. */

static void
check_osinfo (int major, int minor, const char *variant, const char *product,
              const char *build, const char *want)
{
  _cleanup_free_ char *got
      = inspect_windows_osinfo (major, minor, variant, product, build);
  assert_string_equal (got, want);
}

static void
test_osinfo (void **state)
{
  (void) state;
  check_osinfo (6, 1, "Client", "Windows 7 Professional", "7601", "win7");
  check_osinfo (6, 1, "Server", "Windows Server 2008 R2 Standard", "7601",
                "win2k8r2");
  check_osinfo (6, 0, "Server", "Windows Server 2008", "6002", "win2k8");
  check_osinfo (6, 2, "Client", "Windows 8", "9200", "win8");
  check_osinfo (6, 2, "Server", "Windows Server 2012", "9200", "win2k12");
  check_osinfo (6, 3, "Client", "Windows 8.1 Pro", "9600", "win8.1");
  check_osinfo (6, 3, "Server Core", "Windows Server 2012 R2", "9600",
                "win2k12r2");
  check_osinfo (10, 0, "Client", "Windows 10 Pro", "19045", "win10");
  /* Windows 11 still calls itself "Windows 10" in ProductName. */
  check_osinfo (10, 0, "Client", "Windows 10 Pro", "22631", "win11");
  check_osinfo (10, 0, "Client", "Windows 10 Pro", "22000", "win11");
  check_osinfo (10, 0, "Server", "Windows Server 2016 Standard", "14393",
                "win2k16");
  check_osinfo (10, 0, "Server", "Windows Server 2019 Datacenter", "17763",
                "win2k19");
  check_osinfo (10, 0, "Server", "Windows Server 2022 Standard", "20348",
                "win2k22");
  check_osinfo (10, 0, "Server", "Windows Server 2025", "26100", "win2k25");
  /* No build number: the product name. */
  check_osinfo (10, 0, "Server", "Windows Server 2019", "unknown", "win2k19");
  check_osinfo (10, 0, "Client", "unknown", "unknown", "win10");
  check_osinfo (5, 1, "unknown", "Microsoft Windows XP", "2600", "winxp");
  check_osinfo (0, 0, "unknown", "unknown", "unknown", "unknown");
  check_osinfo (10, 0, NULL, NULL, NULL, "win10");
  check_osinfo (10, 0, "Client", "x", "99999999999999999999", "win10");
}

/* ---------------------------------------------------------------------- */
/* Drive letters to devices. */

static void
test_resolve_drives (void **state)
{
  (void) state;
  struct inspect_partition parts[] = {
    { .device = (char *) "/dev/sda1", .mbr = true, .mbr_id = 0x12345678,
      .start = 1048576 },
    { .device = (char *) "/dev/sda2", .mbr = true, .mbr_id = 0x12345678,
      .start = 105906176 },
    { .device = (char *) "/dev/sdb1",
      .guid = (char *) "01020304-0506-0708-090a-0b0c0d0e0f10", .start = 1048576 },
  };
  struct inspect_os os = { 0 };
  const char *raw[][2] = {
    { "C", "mbr:12345678:105906176" },
    { "D", "gpt:01020304-0506-0708-090a-0b0c0d0e0f10" },
    { "E", "mbr:12345678:4096" },          /* no partition there */
    { "F", "mbr:87654321:1048576" },       /* another disk */
    { "G", "gpt:ffffffff-0506-0708-090a-0b0c0d0e0f10" },
    { "H", "mbr:garbage" },
    { "I", "mbr:12345678:1048576x" },
  };
  os.n_drive_mappings = sizeof raw / sizeof raw[0];
  os.drive_mappings = xcalloc (os.n_drive_mappings, sizeof *os.drive_mappings);
  for (size_t i = 0; i < os.n_drive_mappings; i++) {
    os.drive_mappings[i].name = xstrdup (raw[i][0]);
    os.drive_mappings[i].device = xstrdup (raw[i][1]);
  }
  inspect_windows_resolve_drives (&os, parts, 3);
  assert_int_equal (os.n_drive_mappings, 2);
  assert_string_equal (os.drive_mappings[0].name, "C");
  assert_string_equal (os.drive_mappings[0].device, "/dev/sda2");
  assert_string_equal (os.drive_mappings[1].name, "D");
  assert_string_equal (os.drive_mappings[1].device, "/dev/sdb1");
  inspect_os_clear (&os);
}

/* An MBR disk image written here: libblkid finds the signature and the
 * partition's byte offset. */
static void
test_scan_disk (void **state)
{
  (void) state;
  char path[] = "/tmp/ngm-test-windows-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  unlink (path);
  assert_int_equal (ftruncate (fd, 8 * 1024 * 1024), 0);
  unsigned char mbr[512] = { 0 };
  mbr[0x1b8] = 0xef; mbr[0x1b9] = 0xbe; mbr[0x1ba] = 0xad; mbr[0x1bb] = 0xde;
  unsigned char *e = mbr + 0x1be;
  e[4] = 0x07;                                  /* NTFS */
  e[8] = 0x00; e[9] = 0x08;                     /* start 2048 */
  e[12] = 0x00; e[13] = 0x20;                   /* 8192 sectors */
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  assert_int_equal (pwrite_full (fd, mbr, sizeof mbr, 0), 0);

  struct inspect_partition *parts = NULL;
  size_t n = 0;
  assert_int_equal (inspect_windows_scan_disk (fd, 0, 8 * 1024 * 1024,
                                               "/dev/sdb", &parts, &n), 0);
  assert_int_equal (n, 1);
  assert_string_equal (parts[0].device, "/dev/sdb1");
  assert_true (parts[0].mbr);
  assert_int_equal (parts[0].mbr_id, 0xdeadbeef);
  assert_int_equal (parts[0].start, 1048576);
  assert_null (parts[0].guid);
  inspect_partitions_free (parts, n);

  /* No partition table: nothing. */
  memset (mbr, 0, sizeof mbr);
  assert_int_equal (pwrite_full (fd, mbr, sizeof mbr, 0), 0);
  parts = NULL;
  n = 0;
  assert_int_equal (inspect_windows_scan_disk (fd, 0, 8 * 1024 * 1024,
                                               "/dev/sdb", &parts, &n), 0);
  assert_int_equal (n, 0);
  inspect_partitions_free (parts, n);
  close (fd);
}

/* ---------------------------------------------------------------------- */
/* Registry hives built with hivexregedit. */

static char *hive_dir;

static bool
have_tools (void)
{
  return find_program ("hivexregedit", NULL) && find_program ("python3", NULL);
}

static const char *
mkhive_script (void)
{
  static char path[4096];
  const char *top = getenv ("top_srcdir");
  snprintf (path, sizeof path, "%s/tests/fixtures/mkhive.py", top ? top : ".");
  return path;
}

/* Build hive NAME in hive_dir from .reg text; returns its path. */
static char *
build_hive (const char *name, const char *prefix, const char *reg)
{
  _cleanup_free_ char *hive = xasprintf ("%s/%s", hive_dir, name);
  _cleanup_free_ char *regf = xasprintf ("%s/%s.reg", hive_dir, name);
  FILE *f = fopen (regf, "w");
  assert_non_null (f);
  fputs ("Windows Registry Editor Version 5.00\n\n", f);
  fputs (reg, f);
  assert_int_equal (fclose (f), 0);
  _cleanup_free_ char *cmd = xasprintf (
      "python3 '%s' '%s' '%s' && hivexregedit --merge --prefix '%s' '%s' '%s'",
      mkhive_script (), hive, name, prefix, hive, regf);
  assert_int_equal (system (cmd), 0);
  return TAKE_PTR (hive);
}

static int
setup_hives (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/ngm-test-hives-XXXXXX";
  if (!mkdtemp (tmpl))
    return -1;
  hive_dir = xstrdup (tmpl);
  return 0;
}

static int
teardown_hives (void **state)
{
  (void) state;
  _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", hive_dir);
  int r = system (cmd);
  free (hive_dir);
  return r == 0 ? 0 : -1;
}

static void
test_hives (void **state)
{
  (void) state;
  if (!have_tools ())
    skip ();
  _cleanup_free_ char *sw = build_hive (
      "SOFTWARE", "HKEY_LOCAL_MACHINE\\SOFTWARE",
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]\n\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]\n\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n"
      "\"ProductName\"=\"Windows Server 2019 Datacenter\"\n"
      "\"InstallationType\"=\"Server Core\"\n"
      "\"CurrentVersion\"=\"6.3\"\n"
      "\"CurrentMajorVersionNumber\"=dword:0000000a\n"
      "\"CurrentMinorVersionNumber\"=dword:00000000\n"
      "\"CurrentBuildNumber\"=\"17763\"\n");
  _cleanup_free_ char *sys = build_hive (
      "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n"
      "\"Current\"=dword:00000002\n\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002]\n\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services]\n\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\Tcpip]\n\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\Tcpip\\Parameters]\n"
      "\"Hostname\"=\"DC01\\tevil\"\n\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]\n"
      "\"\\\\DosDevices\\\\D:\"=hex:44,4d,49,4f,3a,49,44,3a,04,03,02,01,06,05,08,07,"
      "09,0a,0b,0c,0d,0e,0f,10\n"
      "\"\\\\DosDevices\\\\C:\"=hex:78,56,34,12,00,00,10,00,00,00,00,00\n"
      "\"\\\\DosDevices\\\\X:\"=hex:01,02\n"
      "\"\\\\??\\\\Volume{x}\"=hex:78,56,34,12,00,00,10,00,00,00,00,00\n");

  struct inspect_os os = { 0 };
  struct strv warnings = { 0 };
  assert_int_equal (inspect_windows_read_hives (sw, sys, "/dev/sda2", &os,
                                                &warnings), 0);
  assert_int_equal (warnings.n, 0);
  assert_string_equal (os.product_name, "Windows Server 2019 Datacenter");
  assert_string_equal (os.product_variant, "Server Core");
  assert_int_equal (os.major_version, 10);
  assert_int_equal (os.minor_version, 0);
  assert_string_equal (os.build_id, "17763");
  assert_string_equal (os.windows_current_control_set, "ControlSet002");
  /* hivexregedit keeps "\t" as the two characters backslash and t. */
  assert_non_null (os.hostname);
  assert_true (str_has_prefix (os.hostname, "DC01"));
  assert_int_equal (os.n_drive_mappings, 2);
  assert_string_equal (os.drive_mappings[0].name, "C");
  assert_string_equal (os.drive_mappings[0].device, "mbr:12345678:1048576");
  assert_string_equal (os.drive_mappings[1].name, "D");
  assert_string_equal (os.drive_mappings[1].device,
                       "gpt:01020304-0506-0708-090a-0b0c0d0e0f10");
  _cleanup_free_ char *osinfo = inspect_windows_osinfo (
      os.major_version, os.minor_version, os.product_variant, os.product_name,
      os.build_id);
  assert_string_equal (osinfo, "win2k19");
  inspect_os_clear (&os);
  strv_clear (&warnings);
}

/* Old Windows: no CurrentMajorVersionNumber, CurrentVersion "6.1". */
static void
test_hive_old_version (void **state)
{
  (void) state;
  if (!have_tools ())
    skip ();
  _cleanup_free_ char *sw = build_hive (
      "SOFTWARE7", "HKEY_LOCAL_MACHINE\\SOFTWARE",
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]\n\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]\n\n"
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n"
      "\"ProductName\"=\"Windows 7 Professional\"\n"
      "\"CurrentVersion\"=\"6.1\"\n"
      "\"CurrentBuildNumber\"=\"7601 evil\"\n"
      "\"InstallationType\"=dword:00000001\n");
  struct inspect_os os = { 0 };
  struct strv warnings = { 0 };
  assert_int_equal (inspect_windows_read_hives (sw, NULL, "/dev/sda1", &os,
                                                &warnings), 0);
  assert_string_equal (os.product_name, "Windows 7 Professional");
  assert_int_equal (os.major_version, 6);
  assert_int_equal (os.minor_version, 1);
  assert_null (os.build_id);            /* not a number */
  assert_null (os.product_variant);     /* not a string */
  assert_null (os.windows_current_control_set);
  inspect_os_clear (&os);
  strv_clear (&warnings);
}

/* Not hives at all, truncated ones, a missing file: warnings, no crash. */
static void
test_hive_hostile (void **state)
{
  (void) state;
  _cleanup_free_ char *junk = xasprintf ("%s/junk", hive_dir);
  _cleanup_free_ char *empty = xasprintf ("%s/empty", hive_dir);
  _cleanup_free_ char *missing = xasprintf ("%s/missing", hive_dir);
  FILE *f = fopen (junk, "w");
  assert_non_null (f);
  fputs ("regf", f);
  for (int i = 0; i < 10000; i++)
    fputc ((i * 7919) & 0xff, f);
  assert_int_equal (fclose (f), 0);
  f = fopen (empty, "w");
  assert_non_null (f);
  assert_int_equal (fclose (f), 0);

  struct inspect_os os = { 0 };
  struct strv warnings = { 0 };
  assert_int_equal (inspect_windows_read_hives (junk, empty, "/dev/sda1", &os,
                                                &warnings), 0);
  assert_int_equal (warnings.n, 2);
  assert_true (str_has_prefix (warnings.v[0], "/dev/sda1: cannot read the SOFTWARE hive"));
  assert_int_equal (inspect_windows_read_hives (missing, NULL, "/dev/sda1",
                                                &os, &warnings), 0);
  assert_int_equal (warnings.n, 3);
  assert_null (os.product_name);
  inspect_os_clear (&os);
  strv_clear (&warnings);

  /* A real hive cut short. */
  if (!have_tools ())
    return;
  _cleanup_free_ char *sw = build_hive (
      "SOFTWARECUT", "HKEY_LOCAL_MACHINE\\SOFTWARE",
      "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]\n");
  assert_int_equal (truncate (sw, 5000), 0);
  assert_int_equal (inspect_windows_read_hives (sw, NULL, "/dev/sda1", &os,
                                                &warnings), 0);
  assert_int_equal (warnings.n, 1);
  inspect_os_clear (&os);
  strv_clear (&warnings);
}

/* ---------------------------------------------------------------------- */
/* Installed applications (Uninstall keys). */

/* A .reg REG_SZ value of n bytes of s, as raw UTF-16LE ("hex(1):..."):
 * each byte of s is one UTF-16 unit; raw adds bytes verbatim (no NUL). */
static char *
reg_sz (const char *s, size_t n, bool raw)
{
  char *out = xcalloc (16 + 8 * n + 8, 1);
  size_t o = (size_t) sprintf (out, "hex(1):");
  for (size_t i = 0; i < n; i++) {
    if (raw)
      o += (size_t) sprintf (out + o, "%s%02x", i ? "," : "",
                             (unsigned char) s[i]);
    else
      o += (size_t) sprintf (out + o, "%s%02x,00", i ? "," : "",
                             (unsigned char) s[i]);
  }
  if (!raw)
    o += (size_t) sprintf (out + o, "%s00,00", n ? "," : "");
  return out;
}

#define SW "[HKEY_LOCAL_MACHINE\\SOFTWARE\\"
#define UNINSTALL "Microsoft\\Windows\\CurrentVersion\\Uninstall"

/* The parents of both Uninstall keys. */
static const char apps_parents[]
    = SW "Microsoft]\n\n" SW "Microsoft\\Windows]\n\n"
      SW "Microsoft\\Windows\\CurrentVersion]\n\n" SW UNINSTALL "]\n\n"
      SW "WOW6432Node]\n\n" SW "WOW6432Node\\Microsoft]\n\n"
      SW "WOW6432Node\\Microsoft\\Windows]\n\n"
      SW "WOW6432Node\\Microsoft\\Windows\\CurrentVersion]\n\n"
      SW "WOW6432Node\\" UNINSTALL "]\n\n";

static const struct inspect_app *
find_app (const struct inspect_os *os, const char *name, const char *version)
{
  for (size_t i = 0; i < os->n_apps; i++)
    if (strcmp (os->apps[i].name, name) == 0
        && (!version || (os->apps[i].version
                         && strcmp (os->apps[i].version, version) == 0)))
      return &os->apps[i];
  return NULL;
}

static void
assert_str_or_null (const char *got, const char *want)
{
  if (!want)
    assert_null (got);
  else {
    assert_non_null (got);
    assert_string_equal (got, want);
  }
}

static void
test_hive_apps (void **state)
{
  (void) state;
  if (!have_tools ())
    skip ();

  /* A 65000-character key name, a 64 Ki-character DisplayName with an
   * ESC every 1001 characters. */
  _cleanup_free_ char *long_key = xcalloc (65001, 1);
  memset (long_key, 'K', 65000);
  _cleanup_free_ char *long_dn_raw = xcalloc (65537, 1);
  memset (long_dn_raw, 'D', 65536);
  for (size_t i = 1000; i < 65536; i += 1001)
    long_dn_raw[i] = '\x1b';
  _cleanup_free_ char *long_dn = reg_sz (long_dn_raw, 65536, false);
  _cleanup_free_ char *comments = reg_sz ("First\r\nsecond\tline\x1b[1m\r\n",
                                          27, false);
  _cleanup_free_ char *bell = reg_sz ("Bell\x07 and\nnewline", 17, false);
  _cleanup_free_ char *hidden = reg_sz ("1.0\0hidden", 10, false);
  /* An unpaired surrogate (D800); an odd number of bytes. */
  _cleanup_free_ char *surrogate = reg_sz ("A\0\0\xd8" "B\0\0\0", 8, true);
  _cleanup_free_ char *odd = reg_sz ("O\0d\0d", 5, true);

  _cleanup_free_ char *reg = xasprintf (
      "%s"
      SW UNINSTALL "\\7-Zip]\n"
      "\"DisplayName\"=\"7-Zip 23.01 (x64)\"\n"
      "\"DisplayVersion\"=\"23.01\"\n"
      "\"Publisher\"=\"Igor Pavlov\"\n"
      "\"InstallLocation\"=\"C:\\\\Program Files\\\\7-Zip\\\\\"\n"
      "\"URLInfoAbout\"=\"https://www.7-zip.org/\"\n"
      "\"Comments\"=%s\n"
      "\"UninstallString\"=\"C:\\\\Program Files\\\\7-Zip\\\\Uninstall.exe\"\n\n"
      SW UNINSTALL "\\KB5034441]\n"
      "\"Publisher\"=\"Microsoft Corporation\"\n\n"
      SW UNINSTALL "\\Evil\x01Key\x7fName]\n"
      "\"DisplayName\"=%s\n"
      "\"DisplayVersion\"=%s\n"
      "\"Publisher\"=dword:00000007\n\n"
      SW UNINSTALL "\\%s]\n"
      "\"DisplayName\"=%s\n\n"
      SW UNINSTALL "\\Broken]\n"
      "\"DisplayName\"=\"Broken\"\n"
      "\"Publisher\"=%s\n"
      "\"Comments\"=%s\n\n"
      SW UNINSTALL "\\Empty]\n"
      "\"DisplayName\"=\"\"\n\n"
      SW UNINSTALL "\\Unreadable]\n"
      "\"DisplayName\"=%s\n\n"
      SW UNINSTALL "\\Dword]\n"
      "\"DisplayName\"=dword:00000001\n\n"
      SW UNINSTALL "\\Expand]\n"
      "\"DisplayName\"=hex(2):45,00,78,00,70,00,00,00\n\n"
      SW "WOW6432Node\\" UNINSTALL "\\7-Zip]\n"
      "\"DisplayName\"=\"7-Zip 9.20\"\n"
      "\"DisplayVersion\"=\"9.20\"\n\n"
      SW "WOW6432Node\\" UNINSTALL "\\Notepad++]\n"
      "\"displayname\"=\"Notepad++ (32-bit x86)\"\n"
      "\"DisplayVersion\"=\"8.6.2\"\n"
      "\"URLInfoAbout\"=\"https://notepad-plus-plus.org/\"\n",
      apps_parents, comments, bell, hidden, long_key, long_dn, surrogate, odd,
      surrogate);
  _cleanup_free_ char *sw
      = build_hive ("SOFTWAREAPPS", "HKEY_LOCAL_MACHINE\\SOFTWARE", reg);

  struct inspect_os os = { 0 };
  struct strv warnings = { 0 };
  assert_int_equal (inspect_windows_read_hives (sw, NULL, "/dev/sda2", &os,
                                                &warnings), 0);
  /* Unreadable and Dword are skipped, with one warning. */
  assert_int_equal (warnings.n, 1);
  assert_string_equal (warnings.v[0],
                       "/dev/sda2: 2 application entries skipped: their key "
                       "name or DisplayName is not readable text");
  /* 7-Zip twice (both views), Broken, Empty, Evil, Expand, K..., Notepad++;
   * not KB5034441 (no DisplayName). */
  assert_int_equal (os.n_apps, 8);
  for (size_t i = 1; i < os.n_apps; i++)
    assert_true (strcmp (os.apps[i - 1].name, os.apps[i].name) <= 0);
  assert_null (find_app (&os, "KB5034441", NULL));
  assert_null (find_app (&os, "Unreadable", NULL));

  const struct inspect_app *a = find_app (&os, "7-Zip", "23.01");
  assert_non_null (a);
  assert_string_equal (a->display_name, "7-Zip 23.01 (x64)");
  assert_string_equal (a->publisher, "Igor Pavlov");
  assert_string_equal (a->install_path, "C:\\Program Files\\7-Zip\\");
  assert_string_equal (a->url, "https://www.7-zip.org/");
  /* Line breaks kept ("\r\n" → "\n"), other control characters not. */
  assert_string_equal (a->description, "First\nsecond?line?[1m");
  assert_int_equal (a->epoch, 0);
  assert_null (a->release);
  assert_null (a->arch);
  assert_null (a->source_package);
  assert_null (a->summary);

  a = find_app (&os, "7-Zip", "9.20");
  assert_non_null (a);
  assert_string_equal (a->display_name, "7-Zip 9.20");
  assert_null (a->publisher);
  assert_null (a->description);

  a = find_app (&os, "Notepad++", NULL);
  assert_non_null (a);
  assert_string_equal (a->display_name, "Notepad++ (32-bit x86)");
  assert_string_equal (a->version, "8.6.2");
  assert_string_equal (a->url, "https://notepad-plus-plus.org/");

  a = find_app (&os, "Evil?Key?Name", NULL);
  assert_non_null (a);
  assert_string_equal (a->display_name, "Bell? and?newline");
  assert_string_equal (a->version, "1.0");      /* up to the NUL */
  assert_null (a->publisher);                   /* a DWORD */

  a = find_app (&os, "Broken", NULL);
  assert_non_null (a);
  assert_null (a->publisher);                   /* not UTF-16 */
  assert_str_or_null (a->description, "Od");    /* the odd byte dropped */

  a = find_app (&os, "Empty", NULL);
  assert_non_null (a);
  assert_null (a->display_name);

  a = find_app (&os, "Expand", NULL);           /* REG_EXPAND_SZ */
  assert_non_null (a);
  assert_string_equal (a->display_name, "Exp");

  /* The long ones cut at APPS_FIELD_MAX (32 KiB). */
  a = &os.apps[6];
  assert_int_equal (a->name[0], 'K');
  assert_int_equal (strlen (a->name), 32 * 1024);
  assert_int_equal (strspn (a->name, "K"), 32 * 1024);
  assert_int_equal (strlen (a->display_name), 32 * 1024);
  assert_int_equal (a->display_name[1000], '?');
  assert_int_equal (strspn (a->display_name, "D?"), 32 * 1024);

  inspect_os_clear (&os);
  strv_clear (&warnings);

  /* At most max applications, with a warning. */
  assert_int_equal (inspect_windows_read_apps (sw, "/dev/sda2", 3, &os,
                                               &warnings), 0);
  assert_int_equal (os.n_apps, 3);
  bool capped = false;
  for (size_t i = 0; i < warnings.n; i++)
    capped |= str_has_prefix (warnings.v[i],
                              "/dev/sda2: more than 3 applications");
  assert_true (capped);
  inspect_os_clear (&os);
  strv_clear (&warnings);
}

/* No Uninstall key, a hive that is not one: no applications, no crash. */
static void
test_hive_apps_hostile (void **state)
{
  (void) state;
  struct inspect_os os = { 0 };
  struct strv warnings = { 0 };
  _cleanup_free_ char *junk = xasprintf ("%s/junk-apps", hive_dir);
  FILE *f = fopen (junk, "w");
  assert_non_null (f);
  fputs ("regf", f);
  for (int i = 0; i < 20000; i++)
    fputc ((i * 31337) & 0xff, f);
  assert_int_equal (fclose (f), 0);
  assert_int_equal (inspect_windows_read_apps (junk, "/dev/sda1", 0, &os,
                                               &warnings), 0);
  assert_int_equal (os.n_apps, 0);
  assert_int_equal (warnings.n, 1);
  strv_clear (&warnings);

  if (!have_tools ())
    return;
  _cleanup_free_ char *sw = build_hive (
      "SOFTWARENOAPPS", "HKEY_LOCAL_MACHINE\\SOFTWARE",
      SW "Microsoft]\n\n" SW "Microsoft\\Windows]\n\n");
  assert_int_equal (inspect_windows_read_apps (sw, "/dev/sda1", 0, &os,
                                               &warnings), 0);
  assert_int_equal (os.n_apps, 0);
  assert_int_equal (warnings.n, 0);
  inspect_os_clear (&os);
}

/* inspect_applications on a Windows root: the hive is read from the
 * guest tree (case-insensitively). */
static void
test_windows_applications (void **state)
{
  (void) state;
  if (!have_tools ())
    skip ();
  _cleanup_free_ char *sw = build_hive (
      "SOFTWAREROOT", "HKEY_LOCAL_MACHINE\\SOFTWARE",
      SW "Microsoft]\n\n" SW "Microsoft\\Windows]\n\n"
      SW "Microsoft\\Windows\\CurrentVersion]\n\n" SW UNINSTALL "]\n\n"
      SW UNINSTALL "\\Git_is1]\n"
      "\"DisplayName\"=\"Git\"\n"
      "\"DisplayVersion\"=\"2.43.0\"\n");
  _cleanup_free_ char *root = xasprintf ("%s/root", hive_dir);
  _cleanup_free_ char *cmd = xasprintf (
      "mkdir -p '%s/WINDOWS/System32/Config' && cp '%s' "
      "'%s/WINDOWS/System32/Config/software' && "
      "printf MZ > '%s/WINDOWS/System32/cmd.exe'",
      root, sw, root, root);
  assert_int_equal (system (cmd), 0);
  int fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);

  struct inspect_os os = { .root_device = xstrdup ("/dev/sda1"),
                           .type = xstrdup ("windows") };
  struct strv warnings = { 0 };
  assert_int_equal (inspect_applications (fd, &os, &warnings), 0);
  assert_int_equal (warnings.n, 0);
  assert_int_equal (os.n_apps, 1);
  assert_string_equal (os.apps[0].name, "Git_is1");
  assert_string_equal (os.apps[0].display_name, "Git");
  assert_string_equal (os.apps[0].version, "2.43.0");

  /* The whole root inspection reads them too. */
  struct inspect_os os2 = { 0 };
  assert_int_equal (inspect_windows_root (fd, "/dev/sda1", &os2, &warnings),
                    1);
  assert_int_equal (os2.n_apps, 1);
  assert_string_equal (os2.apps[0].name, "Git_is1");
  inspect_os_clear (&os2);
  inspect_os_clear (&os);
  strv_clear (&warnings);
  close (fd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_decode_mbr),
    cmocka_unit_test (test_decode_gpt),
    cmocka_unit_test (test_decode_hostile),
    cmocka_unit_test (test_pe_arch),
    cmocka_unit_test (test_osinfo),
    cmocka_unit_test (test_resolve_drives),
    cmocka_unit_test (test_scan_disk),
    cmocka_unit_test (test_hives),
    cmocka_unit_test (test_hive_old_version),
    cmocka_unit_test (test_hive_hostile),
    cmocka_unit_test (test_hive_apps),
    cmocka_unit_test (test_hive_apps_hostile),
    cmocka_unit_test (test_windows_applications),
  };
  return cmocka_run_group_tests (tests, setup_hives, teardown_hives);
}
