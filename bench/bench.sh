#!/bin/bash
# nguestmount benchmark: `make bench` (or NGUESTMOUNT=... bench/bench.sh).
#
# Measures, side by side in one run, three ways of reading the same ext4
# filesystem:
#   kernel     losetup -r -o OFFSET --sizelimit SIZE on the raw image + mount -o ro
#              (the baseline: no FUSE, no userspace in the data path)
#   ngm-raw    nguestmount -a IMAGE.raw
#   ngm-qcow2  nguestmount -a IMAGE.qcow2
# and prints, for each, the median of BENCH_REPEAT (3) runs of:
#   time to ready   from the command's start until the mount serves
#   seq read        cold (caches dropped) dd bs=1M of a 512 MiB random file
#   cold walk       find -printf '%s %y' over the whole tree, caches dropped
#   warm walk       the same again
#   peak RSS        VmHWM of the nguestmount daemon (and with its children)
# with the ratio to the kernel baseline.  Then a LUKS+LVM pair: cold
# sequential read of a 256 MiB file through LUKS2 (aes-xts) on an LVM
# linear LV, as a ratio to the same file on a plain partition, both read
# through one nguestmount mount in the same runs.
#
# The image (1 GiB raw, GPT, one ext4 partition holding random.bin and a
# Debian tree from tests/fixtures/debootstrap.sh, or a generated tree of
# ~20 000 files when that is unavailable) and its qcow2 conversion are
# cached in BENCH_DIR (/var/tmp/nguestmount-bench).
#
# Needs root.  Exits 77 without it.  Cleans up on any exit.

set -euo pipefail
export LC_ALL=C

me=bench
say () { printf '%s: %s\n' "$me" "$*" >&2; }
die () { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  say "needs root (loop devices, mount, drop_caches): skipped"
  exit 77
fi

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NGUESTMOUNT=${NGUESTMOUNT:-$top_srcdir/_build/nguestmount}
BENCH_DIR=${BENCH_DIR:-/var/tmp/nguestmount-bench}
REPEAT=${BENCH_REPEAT:-3}
PATH=$PATH:/usr/sbin:/sbin

[ -x "$NGUESTMOUNT" ] || die "NGUESTMOUNT=$NGUESTMOUNT is not an executable (build first)"
for t in sfdisk mkfs.ext4 losetup mount umount qemu-img jq fusermount3 dd find; do
  command -v "$t" >/dev/null || die "$t not found (run ./contrib/setup.sh deps)"
done

image_version=1                 # bump when the image layout changes
disk_size=$((1024 * 1024 * 1024))
random_mib=512
raw=$BENCH_DIR/bench.raw
qcow2=$BENCH_DIR/bench.qcow2
stamp=$BENCH_DIR/bench.stamp

# ---------------------------------------------------------------------------
# Cleanup: everything this script mounts, attaches or starts is recorded
# here and released on exit, whatever the exit path.
work=$(mktemp -d /tmp/nguestmount-bench.XXXXXX)
kernel_mounts=()     # mountpoints mounted with mount(8)
fuse_mounts=()       # mountpoints mounted by nguestmount
loops=()             # loop devices we attached
pidfiles=()          # nguestmount pid files

cleanup ()
{
  local rc=$? m l p pid
  trap - EXIT INT TERM HUP
  for m in "${fuse_mounts[@]}"; do
    if mountpoint -q "$m" 2>/dev/null; then
      fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    fi
  done
  for p in "${pidfiles[@]}"; do
    [ -e "$p" ] || continue
    pid=$(cat "$p" 2>/dev/null || true)
    for _ in $(seq 50); do
      [ -e "$p" ] || break
      sleep 0.1
    done
    if [ -e "$p" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  for m in "${kernel_mounts[@]}"; do
    if mountpoint -q "$m" 2>/dev/null; then
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    fi
  done
  for l in "${loops[@]}"; do
    losetup -d "$l" 2>/dev/null || true
  done
  # Never recurse into a mount that could not be removed.
  rm -f "$work"/*.pid "$work"/*.err
  rmdir "$work"/mnt "$work"/build 2>/dev/null || true
  rmdir "$work" 2>/dev/null || say "left $work behind (still mounted?)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

now () { date +%s.%N; }
elapsed () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
drop_caches () { sync; echo 3 > /proc/sys/vm/drop_caches; }

forget ()   # ARRAYNAME VALUE: remove VALUE from the array
{
  local -n arr=$1
  local out=() x
  for x in "${arr[@]}"; do
    [ "$x" = "$2" ] || out+=("$x")
  done
  arr=("${out[@]}")
}

# ---------------------------------------------------------------------------
# The image.

# Prints the path of the debootstrap tarball, or nothing.
debian_tarball ()
{
  local script=$top_srcdir/tests/fixtures/debootstrap.sh out rc=0
  [ -r "$script" ] || { say "tests/fixtures/debootstrap.sh not found"; return 0; }
  out=$(bash "$script" </dev/null) || rc=$?
  if [ $rc -eq 0 ] && [ -n "$out" ] && [ -r "${out##*$'\n'}" ]; then
    printf '%s\n' "${out##*$'\n'}"
  elif [ $rc -eq 3 ]; then
    say "the Debian mirror is unreachable: no debootstrap tree"
  else
    say "tests/fixtures/debootstrap.sh failed (exit $rc): no debootstrap tree"
  fi
}

# A tree of 20 000 small files: 20 dirs x 20 subdirs x 50 files, sizes
# 64 bytes to 8 KiB, plus a few symlinks.
generate_tree ()
{
  local dir=$1 i j k n=0 blob
  blob=$(printf '%8192s' '' | tr ' ' 'x')
  for i in $(seq -w 0 19); do
    for j in $(seq -w 0 19); do
      mkdir -p "$dir/d$i/s$j"
      for k in $(seq -w 0 49); do
        # printf is a builtin: no fork per file.
        printf '%s\n' "${blob:0:$(( (n * 7919) % 8128 + 63 ))}" > "$dir/d$i/s$j/f$k"
        n=$((n + 1))
      done
      ln -s f00 "$dir/d$i/s$j/link"
    done
  done
}

build_image ()
{
  local tarball=$1 source part_start part_size loop m
  rm -f "$raw" "$qcow2" "$stamp"
  mkdir -p "$BENCH_DIR"
  say "building $raw (1 GiB) ..."
  truncate -s "$disk_size" "$raw.tmp"
  sfdisk -q --no-reread --no-tell-kernel "$raw.tmp" >/dev/null <<EOF
label: gpt
unit: sectors
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="bench"
EOF
  read -r part_start part_size < <(sfdisk -J "$raw.tmp" |
    jq -r '.partitiontable.partitions[0] | "\(.start) \(.size)"')
  loop=$(losetup -f --show -o $((part_start * 512)) --sizelimit $((part_size * 512)) "$raw.tmp")
  loops+=("$loop")
  mkfs.ext4 -q -F -L bench "$loop"
  m=$work/build
  mkdir -p "$m"
  mount "$loop" "$m"
  kernel_mounts+=("$m")

  say "writing random.bin ($random_mib MiB of random data) ..."
  dd if=/dev/urandom of="$m/random.bin" bs=1M count="$random_mib" status=none
  mkdir "$m/tree"
  if [ -n "$tarball" ]; then
    say "unpacking $tarball into /tree ..."
    tar --numeric-owner -xpf "$tarball" -C "$m/tree"
    source="debootstrap bookworm minbase ($(basename "$tarball"))"
  else
    say "generating a tree of 20 000 small files into /tree ..."
    generate_tree "$m/tree"
    source="generated (20 dirs x 20 subdirs x 50 files)"
  fi
  local nfiles
  nfiles=$(find "$m/tree" | wc -l)
  umount "$m"
  forget kernel_mounts "$m"
  losetup -d "$loop"
  forget loops "$loop"
  mv -f "$raw.tmp" "$raw"

  say "converting to $qcow2 ..."
  qemu-img convert -q -f raw -O qcow2 "$raw" "$qcow2.tmp"
  mv -f "$qcow2.tmp" "$qcow2"
  {
    printf 'version=%q\n' "$image_version"
    printf 'part_start=%q\n' "$part_start"
    printf 'part_size=%q\n' "$part_size"
    printf 'tree_source=%q\n' "$source"
    printf 'tree_entries=%q\n' "$nfiles"
  } > "$stamp"
}

tarball=$(debian_tarball)
want_generated=$([ -z "$tarball" ] && echo yes || echo no)
need_build=yes
if [ -e "$stamp" ] && [ -e "$raw" ] && [ -e "$qcow2" ]; then
  # shellcheck disable=SC1090
  . "$stamp"
  if [ "${version:-}" = "$image_version" ]; then
    case $tree_source in
      generated*) [ "$want_generated" = yes ] && need_build=no ;;
      *)          need_build=no ;;
    esac
  fi
fi
if [ $need_build = yes ]; then
  build_image "$tarball"
else
  say "using the cached image in $BENCH_DIR"
fi
# shellcheck disable=SC1090
. "$stamp"
case $tree_source in
  generated*) say "NOTE: the Debian tree is not available; the walk uses a generated tree" ;;
esac

# ---------------------------------------------------------------------------
# Setups: each has up (sets $mp, prints nothing), and down.

mp=$work/mnt
mkdir -p "$mp"
daemon_pid=

up_kernel ()
{
  local loop
  loop=$(losetup -r -f --show -o $((part_start * 512)) --sizelimit $((part_size * 512)) "$raw") ||
    return 1
  loops+=("$loop")
  cur_loop=$loop
  mount -t ext4 -o ro,nosuid,nodev "$loop" "$mp" || return 1
  kernel_mounts+=("$mp")
}

down_kernel ()
{
  umount "$mp" || return 1
  forget kernel_mounts "$mp"
  losetup -d "$cur_loop" 2>/dev/null || true
  forget loops "$cur_loop"
}

up_ngm ()   # IMAGE FORMAT
{
  local pidfile=$work/ngm.pid
  rm -f "$pidfile"
  pidfiles+=("$pidfile")
  fuse_mounts+=("$mp")
  if ! "$NGUESTMOUNT" --ro --format="$2" -a "$1" -m /dev/sda1 \
       --pid-file "$pidfile" "$mp" 2>"$work/ngm.err"; then
    say "nguestmount failed: $(cat "$work/ngm.err")"
    return 1
  fi
  daemon_pid=$(cat "$pidfile")
}

down_ngm ()
{
  local pidfile=$work/ngm.pid
  fusermount3 -u "$mp" || return 1
  forget fuse_mounts "$mp"
  for _ in $(seq 300); do
    [ -e "$pidfile" ] || break
    sleep 0.05
  done
  if [ -e "$pidfile" ]; then
    say "the pid file is still there 15 s after the unmount"
    return 1
  fi
  forget pidfiles "$pidfile"
  daemon_pid=
}

up ()
{
  case $1 in
    kernel)    up_kernel ;;
    ngm-raw)   up_ngm "$raw" raw ;;
    ngm-qcow2) up_ngm "$qcow2" qcow2 ;;
  esac
}

down ()
{
  case $1 in
    kernel) down_kernel ;;
    *)      down_ngm ;;
  esac
}

# VmHWM in KiB of a pid, and of the pid plus all its descendants.
hwm () { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_tree ()
{
  local total kid
  total=$(hwm "$1")
  for kid in $(pgrep -P "$1" 2>/dev/null); do
    total=$((total + $(hwm_tree "$kid")))
  done
  echo "$total"
}

# results[setup,metric] = space-separated samples
declare -A results
failed=()

record () { results[$1,$2]="${results[$1,$2]:-} $3"; }

measure_once ()   # SETUP
{
  local s=$1 t0 t1
  drop_caches
  t0=$(now)
  up "$s" || return 1
  stat "$mp/random.bin" >/dev/null || return 1
  t1=$(now)
  record "$s" ready "$(elapsed "$t0" "$t1")"

  drop_caches
  t0=$(now)
  dd if="$mp/random.bin" of=/dev/null bs=1M status=none || return 1
  t1=$(now)
  record "$s" read "$(elapsed "$t0" "$t1")"

  drop_caches
  t0=$(now)
  find "$mp/tree" -printf '%s %y\n' >/dev/null || return 1
  t1=$(now)
  record "$s" cold "$(elapsed "$t0" "$t1")"

  t0=$(now)
  find "$mp/tree" -printf '%s %y\n' >/dev/null || return 1
  t1=$(now)
  record "$s" warm "$(elapsed "$t0" "$t1")"

  if [ -n "$daemon_pid" ]; then
    record "$s" rss "$(hwm "$daemon_pid")"
    record "$s" rsstree "$(hwm_tree "$daemon_pid")"
  fi

  t0=$(now)
  down "$s" || return 1
  t1=$(now)
  record "$s" down "$(elapsed "$t0" "$t1")"
}

setups=(kernel ngm-raw ngm-qcow2)
say "$REPEAT runs of each setup, interleaved; kernel $(uname -r), $(nproc) CPUs"
for run in $(seq "$REPEAT"); do
  for s in "${setups[@]}"; do
    case " ${failed[*]-} " in *" $s "*) continue ;; esac
    say "run $run/$REPEAT: $s"
    if ! measure_once "$s"; then
      say "$s failed; its remaining runs are skipped"
      failed+=("$s")
      # Release whatever the failed run left.
      if mountpoint -q "$mp"; then
        if [ "$s" = kernel ]; then down_kernel || true; else down_ngm || true; fi
      fi
      if [ "$s" = kernel ] && [ -n "${cur_loop:-}" ]; then
        losetup -d "$cur_loop" 2>/dev/null || true
        forget loops "$cur_loop"
        cur_loop=
      fi
    fi
  done
done

# ---------------------------------------------------------------------------
# LUKS+LVM: the same 256 MiB of random data read through nguestmount from a
# plain ext4 partition (sda1) and from an ext4 inside a LUKS2 container
# (aes-xts-plain64, decrypted in userspace) on an LVM linear LV (sda2 is
# the PV), both from one --all mount of one raw image, in the same run.
# The image comes from tests/fixtures/make-stack-guest.sh (kind "bench")
# and is cached in BENCH_DIR, rebuilt when that script changes.

stack_mib=256
stack_img=$BENCH_DIR/stack-luks-lvm.raw
stack_stamp=$BENCH_DIR/stack-luks-lvm.stamp
stack_script=$top_srcdir/tests/fixtures/make-stack-guest.sh
stack_failed=
stack_skipped=

stack_key ()
{
  cat "$stack_script" "$top_srcdir/tests/fixtures/lib.sh" | sha256sum | cut -c1-24
}

build_stack_image ()
{
  local t
  for t in cryptsetup pvcreate vgcfgrestore python3; do
    if ! command -v "$t" >/dev/null; then
      say "$t not found: no LUKS+LVM figures"
      stack_skipped=yes
      return 1
    fi
  done
  if [ -e "$stack_img" ] && [ "$(cat "$stack_stamp" 2>/dev/null)" = "$(stack_key)" ]; then
    say "using the cached LUKS+LVM image $stack_img"
    return 0
  fi
  say "building $stack_img (LUKS2 + LVM, ${stack_mib} MiB twice) ..."
  rm -f "$stack_img" "$stack_img".* "$stack_stamp"
  mkdir -p "$BENCH_DIR"
  if ! bash "$stack_script" "$stack_img" bench > "$work/stack.log" 2>&1; then
    say "make-stack-guest.sh failed: $(tail -n 5 "$work/stack.log")"
    rm -f "$stack_img" "$stack_img".*
    return 1
  fi
  rm -f "$work/stack.log"
  stack_key > "$stack_stamp"
}

up_stack ()
{
  local pidfile=$work/ngm.pid
  rm -f "$pidfile"
  pidfiles+=("$pidfile")
  fuse_mounts+=("$mp")
  if ! "$NGUESTMOUNT" --ro --format=raw -a "$stack_img" --all \
       --key "all:key:$PASSPHRASE" --pid-file "$pidfile" "$mp" 2>"$work/ngm.err"; then
    say "nguestmount (LUKS+LVM) failed: $(cat "$work/ngm.err")"
    return 1
  fi
  daemon_pid=$(cat "$pidfile")
}

timed_read ()   # SETUP FILE
{
  local t0 t1
  drop_caches
  t0=$(now)
  dd if="$2" of=/dev/null bs=1M status=none || return 1
  t1=$(now)
  record "$1" read "$(elapsed "$t0" "$t1")"
}

measure_stack_once ()   # RUN
{
  local plain=$mp/sda1/random.bin
  local crypt=$mp/mapper-luks--${LUKS_UUID//-/--}/random.bin want f
  up_stack || return 1
  [ -f "$plain" ] && [ -f "$crypt" ] || { say "random.bin missing in the LUKS+LVM view"; return 1; }
  timed_read stack-plain "$plain" || return 1
  timed_read stack-luks-lvm "$crypt" || return 1
  if [ "$1" = 1 ]; then
    want=$(sed -n 's|^/random.bin ||p' "$stack_img.sha256")
    for f in "$plain" "$crypt"; do
      [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$want" ] \
        || { say "$f does not hold the expected data"; return 1; }
    done
  fi
  down_ngm
}

if build_stack_image; then
  # shellcheck disable=SC1090
  . "$stack_img.env"
  for run in $(seq "$REPEAT"); do
    say "run $run/$REPEAT: LUKS+LVM"
    if ! measure_stack_once "$run"; then
      say "LUKS+LVM failed; its remaining runs are skipped"
      stack_failed=yes
      mountpoint -q "$mp" && { down_ngm || true; }
      break
    fi
  done
else
  stack_failed=yes
fi

# ---------------------------------------------------------------------------
# Report.

median ()
{
  awk '{ for (i = 1; i <= NF; i++) print $i }' <<<"$1" | sort -g |
    awk '{ v[NR] = $1 }
      END {
        if (NR == 0) print ""
        else if (NR % 2) print v[(NR + 1) / 2]
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2
      }'
}

metrics=(ready read cold warm down rss rsstree)
declare -A label=(
  [ready]="time to ready (s)"
  [read]="cold seq read $random_mib MiB (s)"
  [cold]="cold walk (s)"
  [warm]="warm walk (s)"
  [down]="unmount (s)"
  [rss]="peak RSS daemon (MiB)"
  [rsstree]="peak RSS +children (MiB)"
)

cell ()   # SETUP METRIC
{
  local m base
  m=$(median "${results[$1,$2]:-}")
  [ -n "$m" ] || { printf '%s' "-"; return; }
  case $2 in
    rss|rsstree)
      awk -v v="$m" 'BEGIN { printf "%.1f", v / 1024 }'
      return ;;
  esac
  base=$(median "${results[kernel,$2]:-}")
  if [ "$1" = kernel ] || [ -z "$base" ]; then
    awk -v v="$m" 'BEGIN { printf "%.3f", v }'
  else
    awk -v v="$m" -v b="$base" 'BEGIN {
      if (b > 0) printf "%.3f (%.2fx)", v, v / b; else printf "%.3f", v }'
  fi
}

echo
echo "nguestmount benchmark ($(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), $(nproc) CPUs)"
echo "image: $raw + qcow2; tree: $tree_source, $tree_entries entries"
echo "median of $REPEAT runs; (Nx) = time relative to the kernel baseline"
echo
printf '%-28s %-18s %-18s %-18s\n' "" "${setups[@]}"
for metric in "${metrics[@]}"; do
  printf '%-28s' "${label[$metric]}"
  for s in "${setups[@]}"; do
    printf ' %-18s' "$(cell "$s" "$metric")"
  done
  echo
done
# Throughput, for reading convenience.
printf '%-28s' "cold seq read (MB/s)"
for s in "${setups[@]}"; do
  m=$(median "${results[$s,read]:-}")
  if [ -n "$m" ]; then
    printf ' %-18s' "$(awk -v v="$m" -v n="$random_mib" 'BEGIN { printf "%.0f", n * 1048576 / v / 1e6 }')"
  else
    printf ' %-18s' "-"
  fi
done
echo

echo
echo "LUKS+LVM: the same $stack_mib MiB file, one nguestmount --all mount of $(basename "$stack_img")"
echo "(Nx) = time relative to the plain partition in the same runs"
stack_cell ()   # SETUP
{
  local m base
  m=$(median "${results[$1,read]:-}")
  [ -n "$m" ] || { printf '%s' "-"; return; }
  base=$(median "${results[stack-plain,read]:-}")
  awk -v v="$m" -v b="$base" -v n="$stack_mib" -v r="$2" 'BEGIN {
    printf "%.3f s, %.0f MB/s", v, n * 1048576 / v / 1e6
    if (r && b > 0) printf " (%.2fx)", v / b }'
}
printf '%-42s %s\n' "cold seq read, plain partition" "$(stack_cell stack-plain 0)"
printf '%-42s %s\n' "cold seq read, LUKS2 aes-xts + LVM linear" "$(stack_cell stack-luks-lvm 1)"
[ -z "$stack_failed" ] || [ -n "$stack_skipped" ] || failed+=(LUKS+LVM)

if [ ${#failed[@]} -gt 0 ]; then
  echo
  say "failed setups: ${failed[*]}"
  exit 1
fi
