#!/bin/bash
# nguestmount: one-step set-up on Debian 12, run as root from a clone.
#
#   ./contrib/setup.sh demo    install packages, build, mount a sample guest
#   ./contrib/setup.sh test    install packages, build, run the test suite
#   ./contrib/setup.sh bench   install packages, build, run `make bench`
#   ./contrib/setup.sh deps    only install the packages
#   ./contrib/setup.sh build   install the packages and build
#
# The build happens out of tree in _build/ (never in the source directory).
# Safe to run again: packages that are already installed are not touched,
# autoreconf and configure only run when their outputs are missing or stale.
# Works unattended (CI=true, no stdin).

set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=$srcdir/_build
jobs=$(nproc 2>/dev/null || echo 2)

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8

# Everything the build, the tests and the test fixtures use.
packages=(
  # build
  build-essential autoconf automake libtool pkg-config
  libfuse3-dev libblkid-dev libmount-dev libnbd-dev libcryptsetup-dev
  libudev-dev libjson-c-dev libssl-dev libcmocka-dev libxml2-dev librpm-dev zlib1g-dev
  libhivex-dev libbtrfsutil-dev
  # run time
  fuse3 qemu-utils util-linux mount kmod ntfs-3g fusefat exfat-fuse
  # tests and fixtures
  e2fsprogs xfsprogs btrfs-progs dosfstools fdisk squashfs-tools
  debootstrap wget ca-certificates jq python3 attr procps psmisc
  mdadm cryptsetup-bin lvm2 mtools libxml2-utils rpm sqlite3 db5.3-util libhivex-bin libwin-hivex-perl
)

say () { printf 'setup: %s\n' "$*" >&2; }
die () { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

usage ()
{
  sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

missing_packages ()
{
  local p status
  for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case $status in
      ii*) ;;
      *) printf '%s\n' "$p" ;;
    esac
  done
}

install_deps ()
{
  local missing
  command -v dpkg-query >/dev/null ||
    die "this script expects Debian 12 (dpkg-query not found)"
  mapfile -t missing < <(missing_packages)
  if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#packages[@]} packages are already installed"
    return 0
  fi
  [ "$(id -u)" = 0 ] ||
    die "run as root to install: ${missing[*]}"
  say "installing: ${missing[*]}"
  local try
  for try in 1 2 3; do
    if apt-get update -q &&
       apt-get install -y -q --no-install-recommends \
         -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
         "${missing[@]}" </dev/null; then
      return 0
    fi
    say "apt-get failed (attempt $try of 3)"
    sleep $((try * 5))
  done
  die "could not install: ${missing[*]}"
}

build ()
{
  cd "$srcdir" || return 1
  if [ -e "$srcdir/config.status" ]; then
    die "the source directory has been configured in place; run 'make distclean' there first (builds go to _build/)"
  fi
  if [ ! -x configure ] || [ ! -e Makefile.in ] ||
     [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    say "autoreconf -fi"
    autoreconf -fi || return 1
  fi
  mkdir -p "$builddir" || return 1
  cd "$builddir" || return 1
  if [ ! -e config.status ]; then
    say "configure (in _build/)"
    "$srcdir/configure" -q || return 1
  fi
  say "make -j$jobs $*"
  make -j"$jobs" "$@" || return 1
}

# Print "N passed, N failed, N skipped" from the automake test-suite.log.
summary ()
{
  local log=$builddir/test-suite.log
  if [ ! -r "$log" ]; then
    return 1
  fi
  awk '
    /^# PASS:/  { pass  = $3 }
    /^# XFAIL:/ { xfail = $3 }
    /^# SKIP:/  { skip  = $3 }
    /^# FAIL:/  { fail  = $3 }
    /^# XPASS:/ { xpass = $3 }
    /^# ERROR:/ { error = $3 }
    END {
      printf "%d passed, %d failed, %d skipped\n",
             pass + xfail, fail + xpass + error, skip
    }' "$log"
}

show_failures ()
{
  local trs log
  while IFS= read -r trs; do
    if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
      log=${trs%.trs}.log
      printf '\n===== %s =====\n' "${log#"$builddir"/}"
      tail -n 200 "$log" 2>/dev/null || true
    fi
  done < <(find "$builddir" -name '*.trs' | sort)
}

run_tests ()
{
  if ! build; then
    say "the build failed"
    echo "0 passed, 1 failed, 0 skipped"
    return 1
  fi
  cd "$builddir"
  rm -f test-suite.log
  local rc=0
  make -j2 check </dev/null || rc=$?
  if [ $rc -ne 0 ]; then
    show_failures
  fi
  echo
  if ! summary; then
    say "the tests did not run (no test-suite.log)"
    echo "0 passed, 1 failed, 0 skipped"
    return 1
  fi
  return $rc
}

cmd=${1:-}
case $cmd in
  deps)
    install_deps ;;
  build)
    install_deps
    build ;;
  demo)
    install_deps
    build
    NGUESTMOUNT=$builddir/nguestmount exec bash "$srcdir/contrib/demo.sh" ;;
  test)
    install_deps
    run_tests ;;
  bench)
    install_deps
    build
    make -C "$builddir" bench ;;
  -h|--help|help)
    usage ;;
  *)
    usage >&2
    exit 2 ;;
esac
