/* Unit tests for src/inspect/parse.c: every guest file parser, with real
 * files of current distributions and hostile input. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "inspect/parse.h"

#define S(lit) (lit), (sizeof (lit) - 1)

/* ---------------------------------------------------------------------- */
/* Real os-release files. */

static const char fedora39_os_release[]
    = "NAME=\"Fedora Linux\"\n"
      "VERSION=\"39 (Thirty Nine)\"\n"
      "ID=fedora\n"
      "VERSION_ID=39\n"
      "VERSION_CODENAME=\"\"\n"
      "PLATFORM_ID=\"platform:f39\"\n"
      "PRETTY_NAME=\"Fedora Linux 39 (Thirty Nine)\"\n"
      "ANSI_COLOR=\"0;38;2;60;110;180\"\n"
      "LOGO=fedora-logo-icon\n"
      "CPE_NAME=\"cpe:/o:fedoraproject:fedora:39\"\n"
      "DEFAULT_HOSTNAME=\"fedora\"\n"
      "HOME_URL=\"https://fedoraproject.org/\"\n"
      "DOCUMENTATION_URL=\"https://docs.fedoraproject.org/en-US/fedora/f39/"
      "system-administrators-guide/\"\n"
      "SUPPORT_URL=\"https://ask.fedoraproject.org/\"\n"
      "BUG_REPORT_URL=\"https://bugzilla.redhat.com/\"\n"
      "REDHAT_BUGZILLA_PRODUCT=\"Fedora\"\n"
      "REDHAT_BUGZILLA_PRODUCT_VERSION=39\n"
      "REDHAT_SUPPORT_PRODUCT=\"Fedora\"\n"
      "REDHAT_SUPPORT_PRODUCT_VERSION=39\n"
      "SUPPORT_END=2024-11-12\n";

static const char rhel93_os_release[]
    = "NAME=\"Red Hat Enterprise Linux\"\n"
      "VERSION=\"9.3 (Plow)\"\n"
      "ID=\"rhel\"\n"
      "ID_LIKE=\"fedora\"\n"
      "VERSION_ID=\"9.3\"\n"
      "PLATFORM_ID=\"platform:el9\"\n"
      "PRETTY_NAME=\"Red Hat Enterprise Linux 9.3 (Plow)\"\n"
      "ANSI_COLOR=\"0;31\"\n"
      "LOGO=\"fedora-logo-icon\"\n"
      "CPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"\n"
      "HOME_URL=\"https://www.redhat.com/\"\n"
      "DOCUMENTATION_URL=\"https://access.redhat.com/documentation/en-us/"
      "red_hat_enterprise_linux/9\"\n"
      "BUG_REPORT_URL=\"https://bugzilla.redhat.com/\"\n"
      "\n"
      "REDHAT_BUGZILLA_PRODUCT=\"Red Hat Enterprise Linux 9\"\n"
      "REDHAT_BUGZILLA_PRODUCT_VERSION=9.3\n"
      "REDHAT_SUPPORT_PRODUCT=\"Red Hat Enterprise Linux\"\n"
      "REDHAT_SUPPORT_PRODUCT_VERSION=\"9.3\"\n";

static const char ubuntu2204_os_release[]
    = "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n"
      "NAME=\"Ubuntu\"\n"
      "VERSION_ID=\"22.04\"\n"
      "VERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n"
      "VERSION_CODENAME=jammy\n"
      "ID=ubuntu\n"
      "ID_LIKE=debian\n"
      "HOME_URL=\"https://www.ubuntu.com/\"\n"
      "SUPPORT_URL=\"https://help.ubuntu.com/\"\n"
      "BUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"\n"
      "PRIVACY_POLICY_URL=\"https://www.ubuntu.com/legal/terms-and-policies/"
      "privacy-policy\"\n"
      "UBUNTU_CODENAME=jammy\n";

static const char debian12_os_release[]
    = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
      "NAME=\"Debian GNU/Linux\"\n"
      "VERSION_ID=\"12\"\n"
      "VERSION=\"12 (bookworm)\"\n"
      "VERSION_CODENAME=bookworm\n"
      "ID=debian\n"
      "HOME_URL=\"https://www.debian.org/\"\n"
      "SUPPORT_URL=\"https://www.debian.org/support\"\n"
      "BUG_REPORT_URL=\"https://bugs.debian.org/\"\n";

static const char alpine319_os_release[]
    = "NAME=\"Alpine Linux\"\n"
      "ID=alpine\n"
      "VERSION_ID=3.19.1\n"
      "PRETTY_NAME=\"Alpine Linux v3.19\"\n"
      "HOME_URL=\"https://alpinelinux.org/\"\n"
      "BUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/"
      "issues\"\n";

static const char arch_os_release[]
    = "NAME=\"Arch Linux\"\n"
      "PRETTY_NAME=\"Arch Linux\"\n"
      "ID=arch\n"
      "BUILD_ID=rolling\n"
      "ANSI_COLOR=\"38;2;23;147;209\"\n"
      "HOME_URL=\"https://archlinux.org/\"\n"
      "DOCUMENTATION_URL=\"https://wiki.archlinux.org/\"\n"
      "SUPPORT_URL=\"https://bbs.archlinux.org/\"\n"
      "BUG_REPORT_URL=\"https://gitlab.archlinux.org/groups/archlinux/-/"
      "issues\"\n"
      "PRIVACY_POLICY_URL=\"https://terms.archlinux.org/docs/privacy-policy/"
      "\"\n"
      "LOGO=archlinux-logo\n";

static const char leap155_os_release[]
    = "NAME=\"openSUSE Leap\"\n"
      "VERSION=\"15.5\"\n"
      "ID=\"opensuse-leap\"\n"
      "ID_LIKE=\"suse opensuse\"\n"
      "VERSION_ID=\"15.5\"\n"
      "PRETTY_NAME=\"openSUSE Leap 15.5\"\n"
      "ANSI_COLOR=\"0;32\"\n"
      "CPE_NAME=\"cpe:/o:opensuse:leap:15.5\"\n"
      "BUG_REPORT_URL=\"https://bugs.opensuse.org\"\n"
      "HOME_URL=\"https://www.opensuse.org/\"\n"
      "DOCUMENTATION_URL=\"https://en.opensuse.org/Portal:Leap\"\n"
      "LOGO=\"distributor-logo-Leap\"\n";

static const char rocky93_os_release[]
    = "NAME=\"Rocky Linux\"\n"
      "VERSION=\"9.3 (Blue Onyx)\"\n"
      "ID=\"rocky\"\n"
      "ID_LIKE=\"rhel centos fedora\"\n"
      "VERSION_ID=\"9.3\"\n"
      "PLATFORM_ID=\"platform:el9\"\n"
      "PRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n"
      "ANSI_COLOR=\"0;32\"\n"
      "LOGO=\"fedora-logo-icon\"\n"
      "CPE_NAME=\"cpe:/o:rocky:rocky:9::baseos\"\n"
      "HOME_URL=\"https://rockylinux.org/\"\n"
      "BUG_REPORT_URL=\"https://bugs.rockylinux.org/\"\n"
      "SUPPORT_END=\"2032-05-31\"\n"
      "ROCKY_SUPPORT_PRODUCT=\"Rocky-Linux-9\"\n"
      "ROCKY_SUPPORT_PRODUCT_VERSION=\"9.3\"\n"
      "REDHAT_SUPPORT_PRODUCT=\"Rocky Linux\"\n"
      "REDHAT_SUPPORT_PRODUCT_VERSION=\"9.3\"\n";

static const char centos7_os_release[]
    = "NAME=\"CentOS Linux\"\n"
      "VERSION=\"7 (Core)\"\n"
      "ID=\"centos\"\n"
      "ID_LIKE=\"rhel fedora\"\n"
      "VERSION_ID=\"7\"\n"
      "PRETTY_NAME=\"CentOS Linux 7 (Core)\"\n"
      "ANSI_COLOR=\"0;31\"\n"
      "CPE_NAME=\"cpe:/o:centos:centos:7\"\n"
      "HOME_URL=\"https://www.centos.org/\"\n"
      "BUG_REPORT_URL=\"https://bugs.centos.org/\"\n"
      "\n"
      "CENTOS_MANTISBT_PROJECT=\"CentOS-7\"\n"
      "CENTOS_MANTISBT_PROJECT_VERSION=\"7\"\n"
      "REDHAT_SUPPORT_PRODUCT=\"centos\"\n"
      "REDHAT_SUPPORT_PRODUCT_VERSION=\"7\"\n"
      "\n";

struct os_release_case {
  const char *text;
  const char *id;
  const char *version_id;
  const char *pretty_name;
  const char *distro;
  int major, minor;
};

static const struct os_release_case os_release_cases[] = {
  { fedora39_os_release, "fedora", "39", "Fedora Linux 39 (Thirty Nine)",
    "fedora", 39, 0 },
  { rhel93_os_release, "rhel", "9.3", "Red Hat Enterprise Linux 9.3 (Plow)",
    "rhel", 9, 3 },
  { ubuntu2204_os_release, "ubuntu", "22.04", "Ubuntu 22.04.3 LTS", "ubuntu",
    22, 4 },
  { debian12_os_release, "debian", "12", "Debian GNU/Linux 12 (bookworm)",
    "debian", 12, 0 },
  { alpine319_os_release, "alpine", "3.19.1", "Alpine Linux v3.19",
    "alpinelinux", 3, 19 },
  { arch_os_release, "arch", NULL, "Arch Linux", "archlinux", 0, 0 },
  { leap155_os_release, "opensuse-leap", "15.5", "openSUSE Leap 15.5",
    "opensuse", 15, 5 },
  { rocky93_os_release, "rocky", "9.3", "Rocky Linux 9.3 (Blue Onyx)", "rocky",
    9, 3 },
  { centos7_os_release, "centos", "7", "CentOS Linux 7 (Core)", "centos", 7,
    0 },
};

static void
test_os_release_real (void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE (os_release_cases); i++) {
    const struct os_release_case *c = &os_release_cases[i];
    struct parsed_os_release r;
    parse_os_release (c->text, strlen (c->text), &r);
    assert_non_null (r.id);
    assert_string_equal (r.id, c->id);
    if (c->version_id)
      assert_string_equal (r.version_id, c->version_id);
    else
      assert_null (r.version_id);
    assert_string_equal (r.pretty_name, c->pretty_name);
    assert_string_equal (parse_distro_of_os_release_id (r.id), c->distro);
    int major = -1, minor = -1;
    bool ok = parse_version (r.version_id, &major, &minor);
    assert_int_equal (ok, c->version_id != NULL);
    assert_int_equal (major, c->major);
    assert_int_equal (minor, c->minor);
    parsed_os_release_clear (&r);
  }

  struct parsed_os_release r;
  parse_os_release (S (arch_os_release), &r);
  assert_string_equal (r.build_id, "rolling");
  assert_string_equal (r.name, "Arch Linux");
  parsed_os_release_clear (&r);
  parse_os_release (S (ubuntu2204_os_release), &r);
  assert_string_equal (r.id_like, "debian");
  assert_string_equal (r.version_codename, "jammy");
  parsed_os_release_clear (&r);
  parse_os_release (S (fedora39_os_release), &r);
  assert_string_equal (r.version_codename, "");
  parsed_os_release_clear (&r);
}

static void
test_shell_quoting (void **state)
{
  static const char text[]
      = "A=\"x \\\"y\\\" \\$z \\\\ \\w\"\n" /* A="x \"y\" \$z \\ \w" */
        "B='a \"b\" \\n'\n"                 /* B='a "b" \n' */
        "C=a\\ b\n"                         /* C=a\ b */
        "D=\"unterminated value\n"
        "E=val # a comment\n"
        "export F=exported\n"
        "G=crlf\r\n"
        "  H=indented\n"
        "I = spaced\n"
        "J=first\n"
        "J=second\n"
        "K=\"mix\"'ed'bare\n"
        "L=\n"
        "=nokey\n"
        "M\n"
        "N=\"tab\there\"\n"
        "O=\"trailing backslash\\";
  struct {
    const char *key;
    const char *value;
  } cases[] = {
    { "A", "x \"y\" $z \\ \\w" },
    { "B", "a \"b\" \\n" },
    { "C", "a b" },
    { "D", "unterminated value" },
    { "E", "val" },
    { "F", "exported" },
    { "G", "crlf" },
    { "H", "indented" },
    { "I", NULL },
    { "J", "second" },
    { "K", "mixedbare" },
    { "L", "" },
    { "M", NULL },
    { "N", "tab?here" },
    { "O", "trailing backslash\\" },
    { "Z", NULL },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    _cleanup_free_ char *v = parse_shell_var (S (text), cases[i].key);
    if (cases[i].value) {
      assert_non_null (v);
      assert_string_equal (v, cases[i].value);
    }
    else
      assert_null (v);
  }

  /* ID must not be confused with ID_LIKE or VERSION_ID. */
  static const char t2[] = "ID_LIKE=debian\nVERSION_ID=1\n";
  _cleanup_free_ char *id = parse_shell_var (S (t2), "ID");
  assert_null (id);

  /* A NUL byte inside a value does not cut the buffer short. */
  static const char t3[] = "A=x\0y\nB=after\n";
  _cleanup_free_ char *a = parse_shell_var (t3, sizeof t3 - 1, "A");
  _cleanup_free_ char *b = parse_shell_var (t3, sizeof t3 - 1, "B");
  assert_string_equal (a, "x?y");
  assert_string_equal (b, "after");

  /* Control characters and invalid UTF-8 are sanitized. */
  static const char t4[] = "A=\"\033[31mred\377\"\n";
  _cleanup_free_ char *c = parse_shell_var (S (t4), "A");
  assert_string_equal (c, "?[31mred?");
}

static void
test_lsb_release (void **state)
{
  static const char ubuntu[] = "DISTRIB_ID=Ubuntu\n"
                               "DISTRIB_RELEASE=22.04\n"
                               "DISTRIB_CODENAME=jammy\n"
                               "DISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n";
  struct parsed_lsb_release r;
  parse_lsb_release (S (ubuntu), &r);
  assert_string_equal (r.distrib_id, "Ubuntu");
  assert_string_equal (r.distrib_release, "22.04");
  assert_string_equal (r.distrib_description, "Ubuntu 22.04.3 LTS");
  assert_string_equal (parse_distro_of_lsb_id (r.distrib_id), "ubuntu");
  parsed_lsb_release_clear (&r);

  static const char mint[] = "DISTRIB_ID=LinuxMint\nDISTRIB_RELEASE=21.2\n"
                             "DISTRIB_CODENAME=victoria\n"
                             "DISTRIB_DESCRIPTION=\"Linux Mint 21.2 Victoria\"";
  parse_lsb_release (S (mint), &r);
  assert_string_equal (parse_distro_of_lsb_id (r.distrib_id), "linuxmint");
  assert_string_equal (r.distrib_description, "Linux Mint 21.2 Victoria");
  parsed_lsb_release_clear (&r);

  /* RHEL 3 style: only LSB_VERSION. */
  static const char bare[] = "LSB_VERSION=\"1.3\"\n";
  parse_lsb_release (S (bare), &r);
  assert_null (r.distrib_id);
  assert_null (r.distrib_release);
  assert_null (r.distrib_description);
  parsed_lsb_release_clear (&r);

  assert_null (parse_distro_of_lsb_id ("Debian"));
  assert_null (parse_distro_of_lsb_id (NULL));
}

static void
test_version (void **state)
{
  static const struct {
    const char *s;
    bool ok;
    int major, minor;
  } cases[] = {
    { "12", true, 12, 0 },
    { "22.04", true, 22, 4 },
    { "3.19.1", true, 3, 19 },
    { "9.3", true, 9, 3 },
    { "CentOS Linux release 7.9.2009 (Core)", true, 7, 9 },
    { "Fedora release 39 (Thirty Nine)", true, 39, 0 },
    { "trixie/sid", false, 0, 0 },
    { "", false, 0, 0 },
    { "garbage", false, 0, 0 },
    { "v2", true, 2, 0 },
    { "2023.4", true, 2023, 4 },
    { "99999999999999999999", false, 0, 0 },
    { "1.99999999999999999999", true, 1, 0 },
    { "release 2 version 3.4", true, 3, 4 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    int major = -1, minor = -1;
    bool ok = parse_version (cases[i].s, &major, &minor);
    assert_int_equal (ok, cases[i].ok);
    assert_int_equal (major, cases[i].major);
    assert_int_equal (minor, cases[i].minor);
  }
  int major = -1, minor = -1;
  assert_false (parse_version (NULL, &major, &minor));
  assert_int_equal (major, 0);
  assert_int_equal (minor, 0);
}

static void
test_distro_ids (void **state)
{
  static const struct {
    const char *id;
    const char *distro;
  } cases[] = {
    { "rhel", "rhel" },
    { "fedora", "fedora" },
    { "debian", "debian" },
    { "ubuntu", "ubuntu" },
    { "alpine", "alpinelinux" },
    { "arch", "archlinux" },
    { "opensuse-leap", "opensuse" },
    { "opensuse-tumbleweed", "opensuse" },
    { "opensuse", "opensuse" },
    { "sles", "sles" },
    { "sled", "sles" },
    { "rocky", "rocky" },
    { "centos", "centos" },
    { "ol", "oraclelinux" },
    { "void", "voidlinux" },
    { "gentoo", "gentoo" },
    { "kali", "kalilinux" },
    { "linuxmint", "linuxmint" },
    { "mageia", "mageia" },
    { "altlinux", "altlinux" },
    { "pld", "pldlinux" },
    { "openEuler", "openeuler" },
    { "almalinux", NULL },
    { "Fedora", NULL },
    { "", NULL },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    const char *d = parse_distro_of_os_release_id (cases[i].id);
    if (cases[i].distro)
      assert_string_equal (d, cases[i].distro);
    else
      assert_null (d);
  }
  assert_null (parse_distro_of_os_release_id (NULL));
  assert_true (parse_distro_is_rolling ("archlinux"));
  assert_true (parse_distro_is_rolling ("voidlinux"));
  assert_true (parse_distro_is_rolling ("gentoo"));
  assert_false (parse_distro_is_rolling ("debian"));
  assert_false (parse_distro_is_rolling (NULL));
}

/* ---------------------------------------------------------------------- */
/* Release files. */

struct release_case {
  const char *path;
  const char *text;
  bool ok;
  const char *distro;
  bool have_version;
  int major, minor;
  const char *product;
};

static const struct release_case release_cases[] = {
  { "/etc/redhat-release", "Fedora release 39 (Thirty Nine)\n", true, "fedora",
    true, 39, 0, "Fedora release 39 (Thirty Nine)" },
  { "/etc/redhat-release", "Red Hat Enterprise Linux release 9.3 (Plow)\n",
    true, "rhel", true, 9, 3, "Red Hat Enterprise Linux release 9.3 (Plow)" },
  { "/etc/redhat-release",
    "Red Hat Enterprise Linux AS release 4 (Nahant Update 9)\n", true, "rhel",
    true, 4, 9, NULL },
  { "/etc/redhat-release", "Red Hat Enterprise Linux Server release 7\n", true,
    "rhel", true, 7, 0, NULL },
  { "/etc/redhat-release", "CentOS release 6.10 (Final)\n", true, "centos",
    true, 6, 10, NULL },
  { "/etc/redhat-release", "CentOS Stream release 9\n", true, "centos", true, 9,
    0, NULL },
  { "/etc/redhat-release", "Rocky Linux release 9.3 (Blue Onyx)\n", true,
    "rocky", true, 9, 3, NULL },
  { "/etc/redhat-release", "Scientific Linux release 6.10 (Carbon)\n", true,
    "scientificlinux", true, 6, 10, NULL },
  { "/etc/redhat-release", "AlmaLinux release 9.3 (Shamrock Pink Dolphin)\n",
    true, "redhat-based", true, 9, 3, NULL },
  { "/etc/redhat-release", "", true, "redhat-based", false, 0, 0, NULL },
  { "/etc/redhat-release", "\n\n   \n", true, "redhat-based", false, 0, 0,
    NULL },
  { "/etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n", true,
    "centos", true, 7, 9, "CentOS Linux release 7.9.2009 (Core)" },
  { "/etc/centos-release", "CentOS release 5.11 (Final) Update 3", true,
    "centos", true, 5, 3, NULL },
  { "/etc/centos-release", "something else", false, NULL, false, 0, 0, NULL },
  { "/etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n", true,
    "rocky", true, 9, 3, NULL },
  { "/etc/oracle-release", "Oracle Linux Server release 8.9\n", true,
    "oraclelinux", true, 8, 9, NULL },
  { "/etc/debian_version", "12.4\n", true, "debian", true, 12, 4, "12.4" },
  { "/etc/debian_version", "bookworm/sid\n", true, "debian", false, 0, 0,
    "bookworm/sid" },
  { "/etc/debian_version", "", false, NULL, false, 0, 0, NULL },
  { "/etc/arch-release", "", true, "archlinux", false, 0, 0, NULL },
  { "/etc/gentoo-release", "Gentoo Base System release 2.14\n", true, "gentoo",
    true, 2, 14, NULL },
  { "/etc/slackware-version", "Slackware 15.0\n", true, "slackware", true, 15,
    0, "Slackware 15.0" },
  { "/etc/alpine-release", "3.19.1\n", true, "alpinelinux", true, 3, 19,
    "3.19.1" },
  { "/etc/pld-release", "2.0 PLD Linux (Ac)\n", true, "pldlinux", true, 2, 0,
    NULL },
  { "/etc/frugalware-release", "Frugalware 2.1 (Clearwater)\n", true,
    "frugalware", true, 2, 1, NULL },
  { "/etc/cirros/version", "0.6.2\n", true, "cirros", true, 0, 6, NULL },
  { "/etc/br-version", "2023.02.1\n", true, "buildroot", true, 2023, 2, NULL },
  { "/etc/altlinux-release", "ALT Workstation 10.1 (Sorbaronia Mitschurinii)\n",
    true, "altlinux", true, 10, 1, NULL },
  { "/etc/openmandriva-release",
    "OpenMandriva Lx release 5.0 (Vanadium) for x86_64\n", true, "openmandriva",
    true, 5, 0, NULL },
  { "/etc/SuSE-release",
    "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n",
    true, "sles", true, 11, 4, "SUSE Linux Enterprise Server 11 (x86_64)" },
  { "/etc/SuSE-release",
    "SUSE Linux Enterprise Server 12 (x86_64)\nVERSION = 12\n", true, "sles",
    true, 12, 0, NULL },
  { "/etc/SuSE-release",
    "openSUSE 13.2 (x86_64)\nVERSION = 13.2\n"
    "CODENAME = Harlequin\n",
    true, "opensuse", true, 13, 2, "openSUSE 13.2 (x86_64)" },
  { "/etc/SuSE-release", "Something SUSE-ish\n", true, "suse-based", false, 0,
    0, NULL },
  { "/etc/SuSE-release", "", true, "suse-based", false, 0, 0, NULL },
  { "/etc/not-a-release-file", "Fedora release 39\n", false, NULL, false, 0, 0,
    NULL },
};

static void
test_release_files (void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE (release_cases); i++) {
    const struct release_case *c = &release_cases[i];
    struct parsed_release r;
    bool ok = parse_release_file (c->path, c->text, strlen (c->text), &r);
    if (ok != c->ok)
      fail_msg ("case %zu (%s: %s): ok=%d", i, c->path, c->text, ok);
    if (ok) {
      assert_string_equal (r.distro, c->distro);
      assert_int_equal (r.have_version, c->have_version);
      assert_int_equal (r.major, c->major);
      assert_int_equal (r.minor, c->minor);
      if (c->product)
        assert_string_equal (r.product_name, c->product);
    }
    parsed_release_clear (&r);
  }

  /* Every listed file has a rule. */
  for (size_t i = 0; parse_release_files[i]; i++) {
    struct parsed_release r;
    static const char text[] = "Something 1.2 release\n";
    (void)parse_release_file (parse_release_files[i], S (text), &r);
    parsed_release_clear (&r);
  }

  /* BSD texts. */
  struct parsed_release r;
  static const char netbsd[]
      = "NetBSD 9.3 (GENERIC) #0: Thu Aug  4 15:30:37 UTC 2022\n";
  assert_true (parse_release_text ("netbsd", "^NetBSD ([0-9]+)\\.([0-9]+)",
                                   S (netbsd), &r));
  assert_int_equal (r.major, 9);
  assert_int_equal (r.minor, 3);
  parsed_release_clear (&r);
  static const char openbsd[] = "OpenBSD ?.? (UNKNOWN)\n";
  assert_true (parse_release_text (
      "openbsd", "^OpenBSD ([0-9]+|\\?)\\.([0-9]+|\\?)", S (openbsd), &r));
  assert_false (r.have_version);
  parsed_release_clear (&r);
}

/* ---------------------------------------------------------------------- */
/* ELF. */

static void
make_elf (unsigned char *h, int cls, int data, unsigned machine)
{
  memset (h, 0, 64);
  memcpy (h, "\177ELF", 4);
  h[4] = (unsigned char)cls;
  h[5] = (unsigned char)data;
  h[6] = 1;
  if (data == 1) {
    h[18] = (unsigned char)(machine & 0xff);
    h[19] = (unsigned char)(machine >> 8);
  }
  else {
    h[18] = (unsigned char)(machine >> 8);
    h[19] = (unsigned char)(machine & 0xff);
  }
}

static void
test_elf (void **state)
{
  static const struct {
    int cls, data;
    unsigned machine;
    const char *arch;
  } cases[] = {
    { 2, 1, 62, "x86_64" },       { 1, 1, 3, "i386" },
    { 2, 1, 183, "aarch64" },     { 1, 1, 40, "arm" },
    { 2, 2, 21, "ppc64" },        { 2, 1, 21, "ppc64le" },
    { 1, 2, 20, "ppc" },          { 2, 2, 22, "s390x" },
    { 1, 2, 22, "s390" },         { 2, 1, 243, "riscv64" },
    { 1, 1, 243, "riscv32" },     { 1, 2, 8, "mips" },
    { 2, 2, 8, "mips64" },        { 2, 2, 43, "sparc64" },
    { 2, 1, 258, "loongarch64" }, { 2, 1, 0x1234, NULL },
    { 3, 1, 62, NULL },           { 2, 0, 62, NULL },
  };
  unsigned char h[64];
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    make_elf (h, cases[i].cls, cases[i].data, cases[i].machine);
    const char *a = parse_elf_arch (h, sizeof h);
    if (cases[i].arch)
      assert_string_equal (a, cases[i].arch);
    else
      assert_null (a);
  }
  make_elf (h, 2, 1, 62);
  assert_null (parse_elf_arch (h, 19)); /* too short */
  assert_string_equal (parse_elf_arch (h, 20), "x86_64");
  assert_null (parse_elf_arch (NULL, 64));
  assert_null (parse_elf_arch ("#!/bin/sh\necho hello world\n", 27));
  h[0] = 0;
  assert_null (parse_elf_arch (h, sizeof h));
}

/* ---------------------------------------------------------------------- */
/* osinfo, package management, hostname. */

static void
test_osinfo (void **state)
{
  static const struct {
    const char *type, *distro;
    int major, minor;
    const char *product, *osinfo;
  } cases[] = {
    { "linux", "debian", 12, 4, NULL, "debian12" },
    { "linux", "ubuntu", 22, 4, NULL, "ubuntu22.04" },
    { "linux", "ubuntu", 24, 10, NULL, "ubuntu24.10" },
    { "linux", "fedora", 39, 0, NULL, "fedora39" },
    { "linux", "rhel", 9, 3, NULL, "rhel9.3" },
    { "linux", "rhel", 8, 0, NULL, "rhel8.0" },
    { "linux", "centos", 7, 9, NULL, "centos7.0" },
    { "linux", "centos", 6, 10, NULL, "centos6.10" },
    { "linux", "centos", 8, 5, "CentOS Linux 8", "centos8" },
    { "linux", "centos", 8, 0, "CentOS Stream 8", "centos-stream8" },
    { "linux", "centos", 9, 0, "CentOS Stream 9", "centos-stream9" },
    { "linux", "rocky", 9, 3, NULL, "rocky9" },
    { "linux", "alpinelinux", 3, 19, NULL, "alpinelinux3.19" },
    { "linux", "opensuse", 15, 5, NULL, "opensuse15.5" },
    { "linux", "archlinux", 0, 0, NULL, "archlinux" },
    { "linux", "gentoo", 2, 14, NULL, "gentoo" },
    { "linux", "voidlinux", 0, 0, NULL, "voidlinux" },
    { "linux", "sles", 15, 5, NULL, "sle15sp5" },
    { "linux", "sles", 15, 0, NULL, "sle15" },
    { "linux", "sles", 12, 5, NULL, "sles12sp5" },
    { "linux", "altlinux", 10, 1, NULL, "alt10.1" },
    { "linux", "mageia", 9, 0, NULL, "mageia9" },
    { "linux", "unknown", 1, 2, NULL, "unknown" },
    { "linux", "redhat-based", 0, 0, NULL, "unknown" },
    { "freebsd", "freebsd", 13, 2, NULL, "freebsd13.2" },
    { "windows", "windows", 10, 0, NULL, "unknown" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    _cleanup_free_ char *o
        = parse_osinfo (cases[i].type, cases[i].distro, cases[i].major,
                        cases[i].minor, cases[i].product);
    assert_string_equal (o, cases[i].osinfo);
  }
  _cleanup_free_ char *n = parse_osinfo (NULL, NULL, 0, 0, NULL);
  assert_string_equal (n, "unknown");
}

static void
test_packages (void **state)
{
  static const struct {
    const char *distro;
    int major;
    const char *format, *mgmt;
  } cases[] = {
    { "fedora", 39, "rpm", "dnf" },
    { "fedora", 21, "rpm", "yum" },
    { "rhel", 9, "rpm", "dnf" },
    { "rhel", 7, "rpm", "yum" },
    { "rhel", 4, "rpm", "up2date" },
    { "centos", 8, "rpm", "dnf" },
    { "centos", 7, "rpm", "yum" },
    { "rocky", 9, "rpm", "dnf" },
    { "oraclelinux", 8, "rpm", "dnf" },
    { "debian", 12, "deb", "apt" },
    { "ubuntu", 22, "deb", "apt" },
    { "linuxmint", 21, "deb", "apt" },
    { "kalilinux", 2023, "deb", "apt" },
    { "opensuse", 15, "rpm", "zypper" },
    { "sles", 15, "rpm", "zypper" },
    { "alpinelinux", 3, "apk", "apk" },
    { "archlinux", 0, "pacman", "pacman" },
    { "gentoo", 0, "ebuild", "portage" },
    { "voidlinux", 0, "xbps", "xbps" },
    { "mageia", 9, "rpm", "urpmi" },
    { "altlinux", 10, "rpm", "apt" },
    { "freebsd", 13, "unknown", "unknown" },
    { "unknown", 0, "unknown", "unknown" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    assert_string_equal (parse_package_format (cases[i].distro),
                         cases[i].format);
    assert_string_equal (
        parse_package_management (cases[i].distro, cases[i].major),
        cases[i].mgmt);
  }
  assert_string_equal (parse_package_format (NULL), "unknown");
  assert_string_equal (parse_package_management (NULL, 0), "unknown");
}

static void
test_hostname (void **state)
{
  static const struct {
    const char *text;
    size_t len;
    const char *hostname;
  } cases[] = {
    { S ("myhost\n"), "myhost" },
    { S ("myhost"), "myhost" },
    { S ("  myhost.example.com  \r\n"), "myhost.example.com" },
    { S ("# comment\n\nrealname\nsecond\n"), "realname" },
    { S (""), NULL },
    { S ("\n\n# only comments\n"), NULL },
    { S ("bad\033name\n"), "bad?name" },
    { S ("\0\0\0\n"), "???" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    _cleanup_free_ char *h = parse_hostname (cases[i].text, cases[i].len);
    if (cases[i].hostname)
      assert_string_equal (h, cases[i].hostname);
    else
      assert_null (h);
  }

  static const char net[] = "NETWORKING=yes\nHOSTNAME=oldrhel.example.com\n";
  _cleanup_free_ char *h = parse_shell_var (S (net), "HOSTNAME");
  assert_string_equal (h, "oldrhel.example.com");

  _cleanup_free_ char *first = parse_first_line (S ("\n  \n  First line  \nx"));
  assert_string_equal (first, "First line");
}

/* ---------------------------------------------------------------------- */
/* fstab. */

static void
test_fstab_real (void **state)
{
  static const char text[]
      = "# /etc/fstab: static file system information.\n"
        "#\n"
        "# <file system> <mount point>   <type>  <options>       <dump>  "
        "<pass>\n"
        "UUID=4f2b6a0c-9d2e-4a55-8a57-2b1e0c1f2a3b /               ext4    "
        "errors=remount-ro 0       1\n"
        "# /boot/efi was on /dev/vda1 during installation\n"
        "UUID=ABCD-1234  /boot/efi       vfat    umask=0077      0       1\n"
        "/dev/mapper/vg0-home /home xfs defaults 0 2\n"
        "LABEL=my\\040data /srv//data/ ext4 defaults,nofail\n"
        "/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       "
        "0\n"
        "tmpfs /tmp tmpfs\tdefaults 0 0\n"
        "/swapfile none swap sw 0 0\n"
        "/dev/vdb1 /data btrfs subvol=@data\n";
  _cleanup_strv_free_ char **unused = NULL;
  struct strv w = { 0 };
  struct inspect_fstab_entry *e = NULL;
  size_t n = 0;

  assert_int_equal (parse_fstab (S (text), "sda2: /etc/fstab", &e, &n, &w), 0);
  assert_int_equal (n, 8);
  assert_int_equal (w.n, 0);
  assert_string_equal (e[0].spec, "UUID=4f2b6a0c-9d2e-4a55-8a57-2b1e0c1f2a3b");
  assert_string_equal (e[0].mountpoint, "/");
  assert_string_equal (e[0].fstype, "ext4");
  assert_string_equal (e[0].options, "errors=remount-ro");
  assert_string_equal (e[1].spec, "UUID=ABCD-1234");
  assert_string_equal (e[1].mountpoint, "/boot/efi");
  assert_string_equal (e[2].spec, "/dev/mapper/vg0-home");
  assert_string_equal (e[3].spec, "LABEL=my data");
  assert_string_equal (e[3].mountpoint, "/srv/data");
  assert_string_equal (e[3].options, "defaults,nofail");
  assert_string_equal (e[5].fstype, "tmpfs");
  assert_string_equal (e[6].mountpoint, "none");
  assert_string_equal (e[7].spec, "/dev/vdb1");
  assert_string_equal (e[7].options, "subvol=@data");
  parse_fstab_free (e, n);
  strv_clear (&w);
}

static void
test_fstab_hostile (void **state)
{
  struct strv w = { 0 };
  struct inspect_fstab_entry *e = NULL;
  size_t n = 0;

  /* A bad line in the middle is skipped with a warning naming it. */
  static const char bad[] = "/dev/sda1 / ext4 defaults 0 1\n"
                            "this-line-has-only-one-field\n"
                            "/dev/sda2 /home ext4 defaults notanumber 1\n"
                            "/dev/sda3 /var ext4\n";
  assert_int_equal (parse_fstab (S (bad), "X", &e, &n, &w), 0);
  assert_int_equal (n, 2);
  assert_string_equal (e[0].mountpoint, "/");
  assert_string_equal (e[1].mountpoint, "/var");
  assert_string_equal (e[1].options, "defaults");
  assert_int_equal (w.n, 2);
  assert_string_equal (w.v[0], "X: line 2: cannot parse, line ignored");
  assert_string_equal (w.v[1], "X: line 3: cannot parse, line ignored");
  parse_fstab_free (e, n);
  strv_clear (&w);

  /* A first line that looks like mountinfo does not change the syntax. */
  static const char mi[] = "1 2 3 4\n/dev/sda1 / ext4 defaults 0 1\n";
  assert_int_equal (parse_fstab (S (mi), "X", &e, &n, &w), 0);
  assert_int_equal (n, 2);
  assert_string_equal (e[0].spec, "1");
  assert_string_equal (e[1].mountpoint, "/");
  parse_fstab_free (e, n);
  strv_clear (&w);

  /* No final newline, CRLF, trailing comments: no spurious warnings. */
  static const char crlf[] = "/dev/sda1 / ext4 defaults 0 1\r\n"
                             "/dev/sda2 /boot ext4 defaults 0 2\r\n"
                             "# trailing comment\r\n\r\n";
  assert_int_equal (parse_fstab (S (crlf), "X", &e, &n, &w), 0);
  assert_int_equal (n, 2);
  assert_int_equal (w.n, 0);
  assert_string_equal (e[1].options, "defaults");
  parse_fstab_free (e, n);
  static const char nonl[] = "/dev/sda1 / ext4 defaults 0 1";
  assert_int_equal (parse_fstab (S (nonl), "X", &e, &n, &w), 0);
  assert_int_equal (n, 1);
  assert_int_equal (w.n, 0);
  parse_fstab_free (e, n);

  /* Empty and comment-only files. */
  assert_int_equal (parse_fstab ("", 0, "X", &e, &n, &w), 0);
  assert_int_equal (n, 0);
  assert_null (e);
  assert_int_equal (
      parse_fstab (S ("# nothing\n\n  \n# here"), "X", &e, &n, &w), 0);
  assert_int_equal (n, 0);
  assert_int_equal (w.n, 0);

  /* NUL bytes and control characters. */
  static const char nul[] = "/dev/sda1 / ext4 defaults 0 1\n"
                            "/dev/\0sda2 /x ext4\n"
                            "/dev/sda3 /y\033[2J ext4\n";
  assert_int_equal (parse_fstab (nul, sizeof nul - 1, "X", &e, &n, &w), 0);
  for (size_t i = 0; i < n; i++)
    for (const char *p = e[i].mountpoint; *p; p++)
      assert_true ((unsigned char)*p >= 0x20);
  assert_string_equal (e[0].mountpoint, "/");
  assert_string_equal (e[n - 1].mountpoint, "/y?[2J");
  parse_fstab_free (e, n);
  strv_clear (&w);

  /* Unbalanced quotes are just characters to libmount. */
  static const char quotes[] = "UUID=\"abc / ext4 defaults\n";
  assert_int_equal (parse_fstab (S (quotes), "X", &e, &n, &w), 0);
  assert_int_equal (n, 1);
  assert_string_equal (e[0].spec, "UUID=\"abc");
  parse_fstab_free (e, n);
  strv_clear (&w);
}

static void
test_fstab_huge (void **state)
{
  struct strv w = { 0 };
  struct inspect_fstab_entry *e = NULL;
  size_t n = 0;

  /* More entries than the cap. */
  const size_t lines = PARSE_FSTAB_MAX + 500;
  size_t cap = lines * 40 + 1, len = 0;
  _cleanup_free_ char *big = xcalloc (cap, 1);
  for (size_t i = 0; i < lines; i++)
    len += (size_t)snprintf (big + len, cap - len, "/dev/sda1 /m%zu ext4\n", i);
  assert_int_equal (parse_fstab (big, len, "X", &e, &n, &w), 0);
  assert_int_equal (n, PARSE_FSTAB_MAX);
  assert_int_equal (w.n, 1);
  assert_non_null (strstr (w.v[0], "more than"));
  parse_fstab_free (e, n);
  strv_clear (&w);

  /* 100 000 lines, every other one garbage: ten bad lines are named, the
   * others counted in one warning; at most PARSE_FSTAB_MAX are looked at. */
  const size_t many = 100000;
  size_t mcap = many * 40 + 1, mlen = 0;
  _cleanup_free_ char *mixed = xcalloc (mcap, 1);
  for (size_t i = 0; i < many; i++)
    mlen += (size_t)snprintf (mixed + mlen, mcap - mlen,
                              i % 2 ? "\x01\xff junk\n" : "LABEL=l%zu /m%zu xfs\n",
                              i, i);
  assert_int_equal (parse_fstab (mixed, mlen, "X", &e, &n, &w), 0);
  assert_int_equal (n, PARSE_FSTAB_MAX / 2);
  size_t named = 0, counted = 0, capped = 0;
  for (size_t i = 0; i < w.n; i++) {
    named += strstr (w.v[i], ": cannot parse, line ignored") != NULL;
    counted += strstr (w.v[i], "4990 more lines cannot be parsed") != NULL;
    capped += strstr (w.v[i], "more than 10000 entries") != NULL;
  }
  assert_int_equal (named, 10);
  assert_int_equal (counted, 1);
  assert_int_equal (capped, 1);
  assert_int_equal (w.n, 12);
  parse_fstab_free (e, n);
  strv_clear (&w);

  /* One 3 MiB line with no newline. */
  const size_t huge = 3 * 1024 * 1024;
  _cleanup_free_ char *line = xcalloc (huge + 1, 1);
  memset (line, 'A', huge);
  memcpy (line, "/dev/sda1 /", 11);
  memcpy (line + huge - 5, " ext4", 5);
  assert_int_equal (parse_fstab (line, huge, "X", &e, &n, &w), 0);
  assert_int_equal (n, 1);
  assert_true (strlen (e[0].mountpoint) <= PARSE_VALUE_MAX);
  parse_fstab_free (e, n);
  strv_clear (&w);
}

/* ---------------------------------------------------------------------- */
/* Every parser against garbage. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)rng_state;
}

static void
run_all_parsers (const char *buf, size_t len)
{
  struct parsed_os_release osr;
  struct parsed_lsb_release lsb;
  struct parsed_release rel;
  struct strv w = { 0 };
  struct inspect_fstab_entry *e = NULL;
  size_t n = 0;
  int major, minor;

  parse_os_release (buf, len, &osr);
  if (osr.pretty_name)
    assert_true (strlen (osr.pretty_name) <= PARSE_VALUE_MAX);
  parsed_os_release_clear (&osr);
  parse_lsb_release (buf, len, &lsb);
  parsed_lsb_release_clear (&lsb);
  free (parse_shell_var (buf, len, "A"));
  free (parse_first_line (buf, len));
  free (parse_hostname (buf, len));
  for (size_t i = 0; parse_release_files[i]; i++) {
    if (parse_release_file (parse_release_files[i], buf, len, &rel)
        && rel.product_name)
      assert_true (strlen (rel.product_name) <= PARSE_VALUE_MAX);
    parsed_release_clear (&rel);
  }
  (void)parse_elf_arch (buf, len);
  _cleanup_free_ char *first = parse_first_line (buf, len);
  (void)parse_version (first, &major, &minor);
  assert_int_equal (parse_fstab (buf, len, "X", &e, &n, &w), 0);
  for (size_t i = 0; i < n; i++) {
    assert_non_null (e[i].spec);
    assert_non_null (e[i].mountpoint);
    assert_non_null (e[i].fstype);
    assert_non_null (e[i].options);
  }
  parse_fstab_free (e, n);
  strv_clear (&w);
}

static void
test_garbage (void **state)
{
  char buf[4096];

  for (int round = 0; round < 300; round++) {
    size_t len = rng () % sizeof buf;
    for (size_t i = 0; i < len; i++) {
      uint32_t r = rng ();
      /* Mix binary bytes with the characters parsers care about. */
      static const char interesting[] = "=\"'\\ \t\n\r#/.0123456789ID_";
      buf[i] = (r & 1) ? interesting[(r >> 1) % (sizeof interesting - 1)]
                       : (char)(r >> 8);
    }
    run_all_parsers (buf, len);
  }

  /* Huge value: capped, not overflowing. */
  const size_t huge = 2 * 1024 * 1024;
  _cleanup_free_ char *big = xcalloc (huge + 1, 1);
  memcpy (big, "PRETTY_NAME=\"", 13);
  memset (big + 13, 'x', huge - 13);
  struct parsed_os_release osr;
  parse_os_release (big, huge, &osr);
  assert_int_equal (strlen (osr.pretty_name), PARSE_VALUE_MAX);
  parsed_os_release_clear (&osr);
  run_all_parsers (big, huge);

  /* All NULs. */
  memset (big, 0, huge);
  run_all_parsers (big, 100000);

  /* Empty and NULL. */
  run_all_parsers ("", 0);
  _cleanup_free_ char *v = parse_shell_var (NULL, 0, "A");
  assert_null (v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_os_release_real),
    cmocka_unit_test (test_shell_quoting),
    cmocka_unit_test (test_lsb_release),
    cmocka_unit_test (test_version),
    cmocka_unit_test (test_distro_ids),
    cmocka_unit_test (test_release_files),
    cmocka_unit_test (test_elf),
    cmocka_unit_test (test_osinfo),
    cmocka_unit_test (test_packages),
    cmocka_unit_test (test_hostname),
    cmocka_unit_test (test_fstab_real),
    cmocka_unit_test (test_fstab_hostile),
    cmocka_unit_test (test_fstab_huge),
    cmocka_unit_test (test_garbage),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
