# tests/functions.sh: sourced by every integration test (bash).
#
#   . "${top_srcdir:-.}/tests/functions.sh"
#
# Sourcing it creates a private temporary directory "$tmp" (removed at exit,
# after unmounting whatever the test mounted under it and stopping any
# nguestmount it started) and takes a snapshot of the loop devices and
# nguestmount socket directories, which assert_no_leaks compares with.
#
# Exit codes follow automake's test driver: 0 pass, 77 skip, 99 hard error,
# anything else a failure.

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${NGUESTMOUNT:=$top_builddir/nguestmount}"
export top_srcdir top_builddir NGUESTMOUNT
fixtures=$top_srcdir/tests/fixtures
test_name=${0##*/}
test_name=${test_name%.sh}

# Where fixture images are cached between tests (and runs), keyed by the
# content of the fixture scripts and their arguments.
: "${NGM_TEST_CACHE:=/var/tmp/ngm-test-cache}"

fail ()
{
  echo "FAIL: $test_name: $*" >&2
  exit 1
}

skip ()
{
  echo "SKIP: $test_name: $*" >&2
  exit 77
}

hard_error ()
{
  echo "ERROR: $test_name: $*" >&2
  exit 99
}

note ()
{
  echo "# $*" >&2
}

requires ()
{
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
  done
}

requires_root ()
{
  [ "$(id -u)" -eq 0 ] || skip "needs root"
}

# The program under test; a test that cannot find it has not really run.
requires_nguestmount ()
{
  [ -x "$NGUESTMOUNT" ] || hard_error "$NGUESTMOUNT is not built"
}

# ---------------------------------------------------------------------------
# Mount table helpers (this process's mount namespace).

# Print every mount point under DIR (DIR included), deepest first.
_ngm_mounts_under ()
{
  awk -v d="$1" '
    function unescape(s) {
      gsub(/\\040/, " ", s); gsub(/\\011/, "\t", s);
      gsub(/\\012/, "\n", s); gsub(/\\134/, "\\", s); return s
    }
    { mp = unescape($5); if (mp == d || index(mp, d "/") == 1) print length(mp) "\t" mp }
  ' /proc/self/mountinfo | sort -rn | cut -f2-
}

# ngm_fstype MP: the filesystem type of the topmost mount at MP ("" if none).
ngm_fstype ()
{
  awk -v d="$1" '
    { for (i = 7; $i != "-"; i++) ; if ($5 == d) t = $(i + 1) }
    END { print t }' /proc/self/mountinfo
}

ngm_is_mounted ()
{
  [ -n "$(ngm_fstype "$1")" ]
}

# ---------------------------------------------------------------------------
# Leak tracking.

# One line per attached loop device: "name back-maj:min back-ino back-file".
_ngm_loops ()
{
  losetup -n --raw -l -O NAME,BACK-MAJ:MIN,BACK-INO,BACK-FILE 2>/dev/null \
    | LC_ALL=C sort
}

# Entries that look like nguestmount's private directories (sockets).
_ngm_socket_entries ()
{
  local d
  for d in /tmp /var/tmp /run /dev/shm "/run/user/$(id -u)"; do
    [ -d "$d" ] || continue
    find "$d" -maxdepth 1 -name 'nguestmount*' 2>/dev/null
  done | LC_ALL=C sort
}

# Is the loop device DEV (/dev/loopN) used by any live process: a mount
# in some mount namespace, or an open fd on it or on a filesystem it holds
# (detached mounts appear in no mountinfo, only as fds)?
_ngm_loop_in_use ()
{
  local majmin
  majmin=$(cat "/sys/block/${1#/dev/}/dev" 2>/dev/null) || return 1
  if cat /proc/[0-9]*/mountinfo 2>/dev/null \
       | awk -v m="$majmin" '$3 == m { f = 1 } END { exit !f }'; then
    return 0
  fi
  stat -L -c '%Hd:%Ld %Hr:%Lr' /proc/[0-9]*/fd/* 2>/dev/null \
    | awk -v m="$majmin" '$1 == m || $2 == m { f = 1 } END { exit !f }'
}

# Print one line per leak found now (nothing if clean).
_ngm_find_leaks ()
{
  local line name rest back mp pid comm e
  # FUSE (or any) mounts left under the test directory.
  while IFS= read -r mp; do
    [ -n "$mp" ] || continue
    case " ${_ngm_own_mounts[*]} " in *" $mp "*) continue ;; esac
    echo "mount left: $mp ($(ngm_fstype "$mp"))"
  done < <(_ngm_mounts_under "$tmp")
  # Loop devices attached since the test started that are ours (backing
  # file in the test directory) or that nobody uses any more.
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    grep -qxF -- "$line" "$tmp/.loops-before" && continue
    name=${line%% *}
    rest=${line#* }; rest=${rest#* }; back=${rest#* }
    case $back in
      "$tmp"/*) echo "loop device left: $line"; continue ;;
    esac
    _ngm_loop_in_use "$name" || echo "loop device left, unused: $line"
  done < <(_ngm_loops)
  # Processes.
  for pid in $(pgrep -f -- "$tmp"); do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    case $comm in
      nguestmount*|ngm-*|qemu-nbd|qemu-storage*|fusermount*)
        echo "process left: $pid $comm: $(tr '\0' ' ' < "/proc/$pid/cmdline")" ;;
    esac
  done
  # Private directories: the one given as TMPDIR must be empty; new global
  # nguestmount* entries must belong to some live process.
  if [ -d "$tmp/tmpdir" ] && [ -n "$(ls -A "$tmp/tmpdir")" ]; then
    echo "files left in TMPDIR: $(ls -A "$tmp/tmpdir" | tr '\n' ' ')"
  fi
  while IFS= read -r e; do
    [ -n "$e" ] || continue
    grep -qxF -- "$e" "$tmp/.sockets-before" && continue
    if ! grep -qsF -- "$e" /proc/[0-9]*/cmdline; then
      echo "private directory left: $e"
    fi
  done < <(_ngm_socket_entries)
}

# own_mount DIR / own_umount DIR: the test itself mounts DIR (a tmpfs on a
# mountpoint to make it busy); not a leak while registered.
_ngm_own_mounts=()
own_mount ()
{
  _ngm_own_mounts+=("$1")
}

own_umount ()
{
  local i
  umount "$1" || fail "cannot unmount $1"
  for i in "${!_ngm_own_mounts[@]}"; do
    [ "${_ngm_own_mounts[$i]}" = "$1" ] && unset '_ngm_own_mounts[i]'
  done
  return 0
}

# assert_no_leaks: after the last nguestmount of the test is gone, nothing
# of it may remain.  Waits up to ~8 s (loop autoclear and process exit are
# asynchronous), then fails listing what is left.
assert_no_leaks ()
{
  local leaks i
  for i in $(seq 1 40); do
    leaks=$(_ngm_find_leaks)
    [ -z "$leaks" ] && return 0
    sleep 0.2
  done
  fail "leaks: $leaks"
}

# ---------------------------------------------------------------------------
# Running nguestmount.

# How long one nguestmount command may take before the test gives up on it
# (exit status 124, reported as a failure instead of a hung test suite).
: "${NGM_TIMEOUT:=120}"

# ngm ARGS...: run nguestmount with a private TMPDIR (checked for leftovers)
# and a time limit.
ngm ()
{
  TMPDIR=$tmp/tmpdir timeout -k 10 "$NGM_TIMEOUT" "$NGUESTMOUNT" "$@"
}

# ngm_mount ARGS...: mount (the mountpoint is the last argument) with
# --pid-file "$tmp/pid"; fails the test with nguestmount's stderr on error.
# Its stderr stays in "$tmp/ngm.err" (notes) and is copied to the log.
ngm_mount ()
{
  local mp=${!#} rc=0
  ngm --pid-file "$tmp/pid" "$@" 2> "$tmp/ngm.err" || rc=$?
  cat "$tmp/ngm.err" >&2
  [ $rc -ne 124 ] || fail "nguestmount $* timed out after ${NGM_TIMEOUT}s"
  [ $rc -eq 0 ] || fail "nguestmount $* exited $rc: $(cat "$tmp/ngm.err")"
  case $(ngm_fstype "$mp") in
    fuse|fuse.*) ;;
    *) fail "nguestmount $* returned 0 but $mp is not a FUSE mount" ;;
  esac
  [ -s "$tmp/pid" ] || fail "nguestmount returned 0 but wrote no pid file"
  kill -0 "$(cat "$tmp/pid")" 2>/dev/null || fail "daemon $(cat "$tmp/pid") is not running"
}

# ngm_wait_gone [SECONDS]: wait until the pid file is removed and the daemon
# has exited.
ngm_wait_gone ()
{
  local limit=${1:-20} pid i
  pid=$(cat "$tmp/pid" 2>/dev/null || true)
  for i in $(seq 1 $((limit * 10))); do
    if [ ! -e "$tmp/pid" ] && { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; }; then
      return 0
    fi
    sleep 0.1
  done
  [ -e "$tmp/pid" ] && fail "pid file $tmp/pid still there after ${limit}s"
  fail "daemon $pid still running after ${limit}s"
}

# ngm_umount MP: fusermount3 -u, then wait (<= 20 s) for complete teardown.
ngm_umount ()
{
  fusermount3 -u "$1" || fail "fusermount3 -u $1 failed"
  ngm_wait_gone 20
  ngm_is_mounted "$1" && fail "$1 still mounted after teardown"
  return 0
}

# expect_fail SUBSTRING CMD...: CMD must exit 1, print exactly one
# "nguestmount: error: ..." line containing SUBSTRING (every other stderr
# line being a "nguestmount: " note or the "Try 'nguestmount --help'" hint),
# mount nothing and leave nothing behind.
expect_fail ()
{
  local want=$1 rc=0 n
  shift
  "$@" > "$tmp/fail.out" 2> "$tmp/fail.err" || rc=$?
  sed 's/^/# stderr: /' "$tmp/fail.err" >&2
  [ $rc -ne 0 ] || fail "expected a failure (\"$want\") from: $*"
  [ $rc -ne 124 ] || fail "timed out: $*"
  [ $rc -eq 1 ] || fail "expected exit status 1, got $rc from: $*"
  n=$(grep -c '^nguestmount: error: ' "$tmp/fail.err")
  [ "$n" -eq 1 ] || fail "expected one error line, got $n from: $*"
  grep '^nguestmount: error: ' "$tmp/fail.err" | grep -qF -- "$want" \
    || fail "error line lacks \"$want\": $(cat "$tmp/fail.err")"
  # Besides notes, only the usual hint after a command-line error.
  if grep -v '^nguestmount: ' "$tmp/fail.err" \
       | grep -qvxF "Try 'nguestmount --help' for more information."; then
    fail "stray stderr output: $(grep -v '^nguestmount: ' "$tmp/fail.err")"
  fi
  [ ! -e "$tmp/pid" ] || fail "pid file left after a failure"
  assert_no_leaks
}

# ---------------------------------------------------------------------------
# Fixtures.

# fixture SCRIPT OUTNAME ARGS...: run tests/fixtures/SCRIPT OUT ARGS in the
# cache (once per content + arguments, safe against parallel tests) and
# print the path of OUT.  Side files (OUT.sha256 ...) sit next to it.
fixture ()
{
  local script=$1 outname=$2 key dir lock owner i
  shift 2
  # Arguments naming files (a tarball) stand for their size and mtime too.
  key=$( { cat "$fixtures"/lib.sh "$fixtures"/distro-tree.sh "$fixtures"/mkhive.py \
               "$fixtures/$script"
           printf '%s\0' "$script" "$outname" "$@"
           for i in "$@"; do [ -f "$i" ] && stat -c '%s %Y' "$i"; done
         } | sha256sum | cut -c1-24)
  dir=$NGM_TEST_CACHE/$key
  lock=$dir.lock
  mkdir -p "$NGM_TEST_CACHE"
  for i in $(seq 1 1800); do
    if [ -e "$dir/$outname" ]; then
      echo "$dir/$outname"
      return 0
    fi
    if mkdir "$lock" 2>/dev/null; then
      echo $$ > "$lock/pid"
      if [ ! -e "$dir/$outname" ]; then
        rm -rf "$dir.build"
        mkdir -p "$dir.build"
        if ! "$fixtures/$script" "$dir.build/$outname" "$@" >&2; then
          rm -rf "$dir.build" "$lock"
          hard_error "fixture $script $* failed"
        fi
        mv "$dir.build" "$dir"
      fi
      rm -rf "$lock"
      continue
    fi
    # Someone else builds it; take over a lock whose owner died.
    owner=$(cat "$lock/pid" 2>/dev/null || true)
    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf "$lock"
    fi
    sleep 0.5
  done
  hard_error "timed out waiting for fixture $script $*"
}

# ngm_copy SRC NAME: a private copy of a cached image in the test directory
# (holes kept), so that every loop device and process of the test names a
# path under "$tmp".  Side files are copied too.  Prints the new path.
ngm_copy ()
{
  local f
  cp --sparse=always "$1" "$tmp/$2" || hard_error "cannot copy $1"
  for f in "$1".*; do
    [ -e "$f" ] && cp "$f" "$tmp/$2${f#"$1"}"
  done
  echo "$tmp/$2"
}

# guest_image TABLE FORMAT [DISTRO]: a private copy of a make-guest.sh image.
guest_image ()
{
  local img
  img=$(fixture make-guest.sh "guest.$2" --table "$1" --format "$2" \
          --distro "${3:-fedora}") || exit $?
  ngm_copy "$img" "guest-$1${3:+-$3}.$2"
}

# distro_image DISTRO [ARCH]: a private copy of a make-distro.sh image.
distro_image ()
{
  local img
  img=$(fixture make-distro.sh "$1.img" "$@") || exit $?
  ngm_copy "$img" "$1.img"
}

# ---------------------------------------------------------------------------
# Assertions.

# assert_eq WHAT EXPECTED ACTUAL
assert_eq ()
{
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# assert_file_eq FILE EXPECTED: FILE's content is EXPECTED plus a newline.
assert_file_eq ()
{
  local got
  [ -f "$1" ] || fail "$1: not a regular file"
  got=$(cat "$1"; echo x) || fail "cannot read $1"
  assert_eq "$1" "$2
x" "$got"
}

# assert_roots MP IDS: the OS root ids of the view, one per line: the
# entries of the /.inspect/roots directory (one roots/<id>/ per OS).
assert_roots ()
{
  local got
  [ -d "$1/.inspect/roots" ] || fail "$1/.inspect/roots is not a directory"
  got=$(LC_ALL=C ls "$1/.inspect/roots") || fail "cannot list $1/.inspect/roots"
  assert_eq "/.inspect/roots" "$2" "$got"
}

# assert_sha256 MP SHAFILE: every "path sha" line of SHAFILE matches MP/path.
assert_sha256 ()
{
  local path sum got
  while read -r path sum; do
    got=$(sha256sum < "$1$path" | cut -d' ' -f1) || fail "cannot read $1$path"
    assert_eq "sha256 of $path" "$sum" "$got"
  done < "$2"
}

# assert_erofs CMD...: CMD fails with "Read-only file system".
assert_erofs ()
{
  local rc=0
  "$@" > "$tmp/erofs.out" 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "write succeeded on a read-only view: $*"
  grep -q "Read-only file system" "$tmp/erofs.out" \
    || fail "expected EROFS from '$*', got: $(cat "$tmp/erofs.out")"
}

# view_manifest MP: the view in fixture_manifest's format (directories
# without size), .inspect excluded, sorted.
view_manifest ()
{
  {
    find "$1" -mindepth 1 -path "$1/.inspect" -prune -o \
      \( -type f -o -type l \) -printf "/%P %y %m %U %G %s %l\n"
    find "$1" -mindepth 1 -path "$1/.inspect" -prune -o \
      -type d -printf "/%P %y %m %U %G\n"
  } | LC_ALL=C sort
}

# ---------------------------------------------------------------------------
# Per-test directory and cleanup.

_ngm_cleanup ()
{
  local rc=$? mp pid i
  set +e
  trap - EXIT INT TERM HUP
  while IFS= read -r mp; do
    [ -n "$mp" ] || continue
    fusermount3 -u -z "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
  done < <(_ngm_mounts_under "$tmp")
  pid=$(cat "$tmp/pid" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  fi
  # Anything else this test started (named by its directory), by pid.
  for pid in $(pgrep -f -- "$tmp"); do
    [ "$pid" != $$ ] && kill -KILL "$pid" 2>/dev/null
  done
  # A daemon blocked on a request to its own FUSE connection cannot die
  # even of SIGKILL: abort those connections (fusectl, private namespace).
  sleep 0.5
  for pid in $(pgrep -f -- "$tmp"); do
    [ "$pid" != $$ ] || continue
    echo "# warning: $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) survived SIGKILL; aborting its FUSE connections" >&2
    # shellcheck disable=SC2046
    unshare -m --propagation private sh -c '
      mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
      for c in "$@"; do echo 1 > "/sys/fs/fuse/connections/$c/abort"; done' sh \
      $(sed -n 's/^fuse_connection:[[:space:]]*//p' /proc/"$pid"/fdinfo/* 2>/dev/null | sort -u)
  done
  if [ -n "$(_ngm_mounts_under "$tmp")" ]; then
    echo "# warning: mounts remain under $tmp, not removing it" >&2
  else
    rm -rf --one-file-system "$tmp"
  fi
  exit $rc
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngm-$test_name.XXXXXX") \
  || hard_error "mktemp failed"
tmp=$(realpath "$tmp")
trap _ngm_cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$tmp/tmpdir" "$tmp/mp"
_ngm_loops > "$tmp/.loops-before"
_ngm_socket_entries > "$tmp/.sockets-before"

# ---------------------------------------------------------------------------
# The make-guest.sh guest, as seen with -i.

# expect_os ROOTID FIELD VALUE: /.inspect/roots/ROOTID/FIELD is VALUE.
expect_os ()
{
  assert_file_eq "$mp/.inspect/roots/$1/$2" "$3"
}

# check_guest_view MP IMG: the whole -i view of a make-guest.sh image (its
# side files IMG.env, IMG.sha256, IMG.manifest describe it).
check_guest_view ()
{
  local mp=$1 img=$2 id got
  # shellcheck disable=SC1090
  . "$img.env"
  id=${ROOT_DEV#/dev/}

  # Data, byte-exact, in /, /boot and /home (the @home subvolume).
  assert_sha256 "$mp" "$img.sha256"
  [ ! -e "$mp/home/top-level-only" ] || fail "/home is the btrfs top level, not subvol=@home"

  # Every file, directory and symlink with type, mode, owner, size, target.
  view_manifest "$mp" > "$tmp/view.manifest" || fail "find failed on the view"
  diff -u "$img.manifest" "$tmp/view.manifest" >&2 \
    || fail "the view differs from the guest's files"

  # Symlinks are returned verbatim and never resolved on the host.
  assert_eq "readlink /abs-link" /etc/passwd "$(readlink "$mp/abs-link")"
  assert_eq "type of /abs-link" "symbolic link" "$(stat -c %F "$mp/abs-link")"
  assert_eq "readlink /bin" usr/bin "$(readlink "$mp/bin")"
  grep -q '^guestonly:x:4242:' "$mp/etc/passwd" || fail "/etc/passwd is not the guest's"
  assert_eq "hostname via a relative symlink" "$HOSTNAME" "$(cat "$mp/rel-link")"
  cmp -s "$mp/usr/bin/bash" "$mp/bin/bash" || fail "/bin/bash through /bin -> usr/bin differs"
  assert_eq "stat /marker-root" "65536 644 regular file" \
    "$(stat -c '%s %a %F' "$mp/marker-root")"
  assert_eq "stat /srv/data/suid" "4755 0 0" "$(stat -c '%a %u %g' "$mp/srv/data/suid")"
  ls -la "$mp" "$mp/boot" "$mp/home" "$mp/srv/data" > /dev/null || fail "ls -la failed"
  got=$(find "$mp/srv" | wc -l)
  assert_eq "find /srv" 9 "$got"

  # /.inspect
  assert_roots "$mp" "$id"
  assert_eq "readlink /.inspect/root" "roots/$id" "$(readlink "$mp/.inspect/root")"
  expect_os "$id" type linux
  expect_os "$id" distro fedora
  expect_os "$id" product_name "Fedora Linux 39 (Thirty Nine)"
  expect_os "$id" major_version 39
  expect_os "$id" minor_version 0
  expect_os "$id" package_format rpm
  expect_os "$id" package_management dnf
  expect_os "$id" osinfo fedora39
  expect_os "$id" hostname "$HOSTNAME"
  expect_os "$id" arch "$(uname -m)"
  assert_file_eq "$mp/.inspect/root/distro" fedora
  assert_file_eq "$mp/.inspect/roots/$id/mountpoints" \
    "$(printf '/\t%s\n/boot\t%s\n/home\tbtrfsvol:%s/@home' "$ROOT_DEV" "$BOOT_DEV" "$HOME_DEV")"
  grep -qP "^\Q$BOOT_DEV\E\text4\t\Q$BOOT_UUID\E\tboot\t[0-9]+\$" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks $BOOT_DEV: $(cat "$mp/.inspect/filesystems")"
  grep -qP "^\Q$ROOT_DEV\E\txfs\t\Q$ROOT_UUID\E\troot\t[0-9]+\$" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks $ROOT_DEV: $(cat "$mp/.inspect/filesystems")"
  grep -qP "^\Q$HOME_DEV\E\tbtrfs\t\Q$HOME_UUID\E\thome\t[0-9]+\$" "$mp/.inspect/filesystems" \
    || fail "/.inspect/filesystems lacks $HOME_DEV: $(cat "$mp/.inspect/filesystems")"
  assert_eq "inspect.json" "1 fedora $HOSTNAME 39" \
    "$(jq -r '"\(.version) \(.operatingsystems[0].distro) \(.operatingsystems[0].hostname) \(.operatingsystems[0].major_version)"' \
         "$mp/.inspect/inspect.json")"

  # Read-only everywhere.
  assert_erofs touch "$mp/newfile"
  assert_erofs bash -c 'echo x > "$1"' sh "$mp/marker-root"
  assert_erofs bash -c 'echo x >> "$1"' sh "$mp/boot/marker-boot"
  assert_erofs mkdir "$mp/home/newdir"
  assert_erofs rm -f "$mp/home/marker-home"
  assert_erofs mv "$mp/marker-root" "$mp/marker-moved"
  assert_erofs ln -s x "$mp/srv/newlink"
  assert_erofs chmod 600 "$mp/marker-root"
  assert_erofs touch "$mp/.inspect/newfile"
  assert_sha256 "$mp" "$img.sha256"
}
