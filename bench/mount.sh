#!/usr/bin/env bash
# shellcheck disable=SC2016  # timed commands are single-quoted: bash -c expands them
# Mount benchmark on the python-data image (../shared/workloads): rafs mount against
# squashfuse_ll, kernel EROFS and the plain unpacked directory, interleaved run by
# run; prints one table of medians with the targets. Not part of the test suite.
# See bench/README.md for the knobs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PREFETCH_THREADS=${PREFETCH_THREADS:-4}
PREFETCH_ALL=${PREFETCH_ALL:-false}
SQFS_LEVEL=${SQFS_LEVEL:-3}
IMPORT=${IMPORT:-import pandas}
VARIANT=${VARIANT:---poll-idle-ms 0}  # the second rafs column: rafs mount with these flags

require_root
ensure_tools tar2sqfs:squashfs-tools-ng squashfuse_ll:squashfuse mkfs.erofs:erofs-utils \
  fusermount3:fuse3 /usr/bin/time:time cc:gcc
find_rafs

PD=$WORKLOADS/python-data
ROOTFS=$PD/rootfs
if [[ ! -d $ROOTFS || ! -f $PD/prefetch.txt || ! -f $PD/oci/index.json ]]; then
  gen=$REPO_DIR/../shared/workloads/make-workloads.sh
  [[ -f $gen ]] || die "no $PD and no $gen to make it"
  log "making the workloads with $gen (a few minutes)"
  bash "$gen" "$WORKLOADS" >&2
fi

T=$(realpath -m "$BENCH_TMP")/mount
TOOLS=(rafs rafsv sqfs erofs plain)
declare -A LABEL=([rafs]=rafs [rafsv]="rafs $VARIANT" [rafspf]="rafs (prefetch image)"
  [sqfs]=squashfuse_ll [erofs]="kernel EROFS"
  [plain]="plain dir")
declare -A DPID   # FUSE daemon pid of each mounted tool
declare -A S      # S[MEASUREMENT,TOOL]: samples
declare -A NA     # NA[MEASUREMENT,TOOL] or NA[TOOL]: why there is no value
declare -A OUT    # OUT[MEASUREMENT,TOOL]: the last output of the timed command

mnt() { if [[ $1 == plain ]]; then echo "$ROOTFS"; else echo "$T/mnt/$1"; fi; }
mounted() { findmnt -M "$1" >/dev/null; }   # also true for a FUSE mount whose daemon died

unmount_all() {
  local m
  for m in "$T"/mnt/*; do
    mounted "$m" || continue
    fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" || true
  done
}
trap unmount_all EXIT
trap 'exit 130' INT TERM

# The pid of the process with the argument MOUNTPOINT (the FUSE daemon we started).
daemon_pid() {
  local p arg
  local -a argv
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    mapfile -d '' argv 2>/dev/null <"$p/cmdline" || continue
    for arg in "${argv[@]:1}"; do
      [[ $arg == "$1" ]] && { echo "${p#/proc/}"; return 0; }
    done
  done
  return 1
}

mount_cmd() { # TOOL: sets CMD, the mount command (rafs: with the cache dir $CACHE)
  local m
  m=$(mnt "$1")
  case $1 in
    rafs) CMD=("$RAFS" mount "$T/img/rafs.boot" "$m" -D "$T/img/blobs" --cache-dir "$CACHE") ;;
    rafsv) # shellcheck disable=SC2086  # VARIANT: flags, split on spaces
      CMD=("$RAFS" mount "$T/img/rafs.boot" "$m" -D "$T/img/blobs" --cache-dir "$CACHE" $VARIANT) ;;
    rafspf) CMD=("$RAFS" mount "$T/img/rafspf.boot" "$m" -D "$T/img/blobs-pf" --cache-dir "$CACHE"
      --config "$T/img/prefetch.json") ;;
    sqfs) CMD=(squashfuse_ll "$T/img/python.sqfs" "$m") ;;
    erofs) CMD=(mount -t erofs -o "loop,ro" "$T/img/python.erofs" "$m") ;;
  esac
}

CACHE_N=0
do_mount() { # TOOL: mounts it (rafs: with a fresh empty cache dir); sets READY_MS
  local tool=$1 m
  READY_MS=
  [[ $tool == plain ]] && return 0
  m=$(mnt "$tool")
  CACHE=$T/cache/$tool.$((++CACHE_N))
  [[ $tool == rafs* ]] && mkdir -p "$CACHE"
  mount_cmd "$tool"
  READY_MS=$("$T/mountwait" "$m" 30000 "${CMD[@]}") || die "mounting $tool failed: ${CMD[*]}"
  if [[ $tool != erofs ]]; then DPID[$tool]=$(daemon_pid "$m"); fi
}

do_umount() { # TOOL: unmounts it, waits for its daemon to exit, removes its cache
  local tool=$1 m pid i
  [[ $tool == plain ]] && return 0
  m=$(mnt "$tool")
  if mounted "$m"; then
    if [[ $tool == erofs ]]; then umount "$m"; else fusermount3 -u "$m"; fi
  fi
  pid=${DPID[$tool]:-}
  if [[ -n $pid ]]; then
    for ((i = 0; i < 1000; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.01
    done
  fi
  unset "DPID[$tool]"
  rm -rf "$T/cache/$tool".*
}

add() { S[$1,$2]+="$3 "; }
# timed MEASUREMENT TOOL COMMAND: one sample (seconds) of COMMAND run with $M the tool's
# mountpoint; a failure marks the tool n/a for that measurement.
timed() {
  local meas=$1 tool=$2
  [[ -z ${NA[$meas,$tool]:-} ]] || return 0
  M=$(mnt "$tool")
  export M
  if measure "$3"; then
    add "$meas" "$tool" "$M_SEC"
    OUT[$meas,$tool]=$(tail -c 200 "$M_OUT")
  else
    NA[$meas,$tool]="$3 failed: $(head -n 1 "$M_ERR")"
    log "${LABEL[$tool]}: ${NA[$meas,$tool]}"
  fi
}
warm_up() { timed "$@"; S[$1,$2]=; }

vmhwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# ---- images
log "preparing images in $T"
unmount_all
rm -rf --one-file-system "$T"
mkdir -p "$T"/img/{blobs,blobs-pf} "$T"/mnt/{rafs,rafsv,rafspf,sqfs,erofs} "$T/cache"
cc -O2 -Wall -o "$T/mountwait" "$BENCH_DIR/mountwait.c"
"$RAFS" convert "$PD/oci" -o "$T/img/oci" -B "$T/img/rafs.boot" -D "$T/img/blobs" >&2
"$RAFS" convert "$PD/oci" -o "$T/img/oci-pf" -B "$T/img/rafspf.boot" -D "$T/img/blobs-pf" \
  --prefetch-policy fs <"$PD/prefetch.txt" >&2
printf '{"mode": "direct", "fs_prefetch": {"enable": true, "threads_count": %s, "prefetch_all": %s}}\n' \
  "$PREFETCH_THREADS" "$PREFETCH_ALL" >"$T/img/prefetch.json"
tar -C "$ROOTFS" --xattrs -cf - . | tar2sqfs -q -f -j "$THREADS" -c zstd -X level="$SQFS_LEVEL" "$T/img/python.sqfs"
if ! err=$(mkfs.erofs -zlz4 --quiet "$T/img/python.erofs" "$ROOTFS" 2>&1); then
  NA[erofs]="mkfs.erofs failed: ${err%%$'\n'*}"
elif ! err=$(mount -t erofs -o loop,ro "$T/img/python.erofs" "$T/mnt/erofs" 2>&1); then
  NA[erofs]="mount -t erofs -o loop failed: ${err%%$'\n'*}"
else
  umount "$T/mnt/erofs"
fi
if [[ -n ${NA[erofs]:-} ]]; then
  log "erofs: ${NA[erofs]}"
  TOOLS=(rafs rafsv sqfs plain)
fi
FUSE_TOOLS=()
for tool in "${TOOLS[@]}"; do [[ $tool == plain ]] || FUSE_TOOLS+=("$tool"); done

# ---- mount ready (page cache warm), then warm find, read and import on those mounts
for ((r = 1; r <= RUNS; r++)); do
  log "run $r/$RUNS: mount ready"
  for tool in "${FUSE_TOOLS[@]}"; do
    do_umount "$tool"
    do_mount "$tool"
    add ready "$tool" "$READY_MS"
  done
done
FIND='find "$M" | wc -l'
READ='tar cf - -C "$M" . | wc -c'
IMPORT_CMD="chroot \"\$M\" python3 -c '$IMPORT'"
for tool in "${TOOLS[@]}"; do
  log "warm-up: ${LABEL[$tool]}"
  warm_up find "$tool" "$FIND"
  warm_up read "$tool" "$READ"
  warm_up import "$tool" "$IMPORT_CMD"
done
for ((r = 1; r <= RUNS; r++)); do
  log "run $r/$RUNS: warm find, read, import"
  for tool in "${TOOLS[@]}"; do timed find "$tool" "$FIND"; done
  for tool in "${TOOLS[@]}"; do timed read "$tool" "$READ"; done
  for tool in "${TOOLS[@]}"; do timed import "$tool" "$IMPORT_CMD"; done
done
for tool in "${TOOLS[@]}"; do do_umount "$tool"; done

# ---- cold: drop the page cache, fresh mount (and empty cache dir), then one command
cold() { # MEASUREMENT TOOL COMMAND
  do_umount "$2"
  drop_caches
  do_mount "$2"
  [[ -z $READY_MS ]] || add "$1-ready" "$2" "$READY_MS"
  timed "$1" "$2" "$3"
  [[ -z ${DPID[$2]:-} ]] || add "$1-rss" "$2" "$(vmhwm_kb "${DPID[$2]}")"
  do_umount "$2"
}
for ((r = 1; r <= RUNS; r++)); do
  log "run $r/$RUNS: cold read, cold import"
  for tool in "${TOOLS[@]}"; do cold coldread "$tool" "$READ"; done
  for tool in rafspf "${TOOLS[@]}"; do cold coldimport "$tool" "$IMPORT_CMD"; done
done

# ---- table
# value MEASUREMENT TOOL KIND: the median as printed; KIND ms (samples in seconds),
# msraw (samples in ms), mbps (seconds; bytes from the command's output), kib (kB samples)
value() {
  local meas=$1 tool=$2 kind=$3 samples med
  [[ -z ${NA[$tool]:-} && -z ${NA[$meas,$tool]:-} ]] || { echo n/a; return; }
  samples=${S[$meas,$tool]:-}
  [[ -n ${samples// /} ]] || { echo -; return; }
  local -a a
  read -ra a <<<"$samples"
  med=$(median "${a[@]}")
  case $kind in
    ms) calc "$med * 1000" %.1f ;;
    msraw) calc "$med" %.1f ;;
    mbps) calc "${OUT[$meas,$tool]} / $med / 1e6" %.0f ;;
    kib) calc "$med / 1024" %.0f ;;
  esac
}
# ratio RAFS PEER KIND: rafs speed / peer speed (> 1: rafs faster)
ratio() {
  if ! [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] || ! awk "BEGIN { exit !($1 > 0 && $2 > 0) }"; then
    echo -
    return
  fi
  case $3 in
    mbps) calc "$1 / $2" %.2fx ;;
    ms | msraw) calc "$2 / $1" %.2fx ;;
    *) echo - ;;
  esac
}
# check EXPR: met, MISSED, or n/a if a value is missing (EXPR: awk, numbers substituted)
check() {
  if [[ $1 == *n/a* ]]; then echo n/a; elif awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi
}

table_row measurement rafs squashfuse_ll "kernel EROFS" "plain dir" "rafs vs squashfuse_ll" \
  "rafs vs EROFS" "rafs vs plain" target "target met"
row() { # LABEL MEASUREMENT KIND RAFS_TOOL TARGET CHECK_EXPR (with @rafs @sqfs @erofs @plain)
  local label=$1 meas=$2 kind=$3 rtool=$4 target=$5 expr=$6 v tool verdict=-
  local -A val
  val[rafs]=$(value "$meas" "$rtool" "$kind")
  for tool in sqfs erofs plain; do val[$tool]=$(value "$meas" "$tool" "$kind"); done
  if [[ -n $expr ]]; then
    for tool in rafs sqfs erofs plain; do
      v=${val[$tool]}
      [[ $v =~ ^[0-9.]+$ ]] || v=n/a
      expr=${expr//@$tool/$v}
    done
    verdict=$(check "$expr")
  fi
  table_row "$label" "${val[rafs]}" "${val[sqfs]}" "${val[erofs]}" "${val[plain]}" \
    "$(ratio "${val[rafs]}" "${val[sqfs]}" "$kind")" "$(ratio "${val[rafs]}" "${val[erofs]}" "$kind")" \
    "$(ratio "${val[rafs]}" "${val[plain]}" "$kind")" "$target" "$verdict"
}
row "mount ready, warm page cache (ms)" ready msraw rafs "rafs <= 10 ms" "@rafs <= 10"
row "mount ready after drop_caches (ms)" coldread-ready msraw rafs "" ""
BP=$VARIANT
row "warm find | wc -l (ms)" find ms rafs "time <= 2x EROFS" "@rafs <= 2 * @erofs"
row "warm find, rafs $BP (ms)" find ms rafsv "time <= 2x EROFS" "@rafs <= 2 * @erofs"
row "warm full read, tar | wc -c (MB/s)" read mbps rafs ">= 0.9x plain dir" "@rafs >= 0.9 * @plain"
row "warm full read, rafs $BP (MB/s)" read mbps rafsv ">= 0.9x plain dir" "@rafs >= 0.9 * @plain"
row "cold full read (MB/s)" coldread mbps rafs ">= 1.3x squashfuse_ll, >= 0.8x EROFS" \
  "@rafs >= 1.3 * @sqfs && @rafs >= 0.8 * @erofs"
row "cold full read, rafs $BP (MB/s)" coldread mbps rafsv ">= 1.3x squashfuse_ll, >= 0.8x EROFS" \
  "@rafs >= 1.3 * @sqfs && @rafs >= 0.8 * @erofs"
row "daemon peak RSS after cold read (MiB)" coldread-rss kib rafs "" ""
row "warm chroot python3 -c '$IMPORT' (ms)" import ms rafs "time <= 1.1x plain dir" "@rafs <= 1.1 * @plain"
row "warm python3 -c '$IMPORT', rafs $BP (ms)" import ms rafsv "time <= 1.1x plain dir" "@rafs <= 1.1 * @plain"
row "cold chroot python3 -c '$IMPORT', rafs with prefetch (ms)" coldimport ms rafspf "time <= 1.3x plain dir" "@rafs <= 1.3 * @plain"
row "cold chroot python3 -c '$IMPORT', rafs without prefetch (ms)" coldimport ms rafs "" ""

printf '\nrafs mount bench: %s; RUNS=%s; %s, %s cores; image %s (%s entries, tar of it %s MiB)\n' \
  "$("$RAFS" --version)" "$RUNS" "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)" \
  "$PD" "${OUT[find,plain]:-?}" "$(calc "${OUT[read,plain]:-0} / 1048576" %.0f)"
printf 'images: rafs blobs %s MiB (zstd), squashfs %s MiB (zstd %s), EROFS %s MiB (lz4); prefetch: %s files, threads %s, prefetch_all %s\n' \
  "$(calc "$(du -sb "$T/img/blobs" | cut -f1) / 1048576" %.0f)" "$(calc "$(stat -c %s "$T/img/python.sqfs") / 1048576" %.0f)" \
  "$SQFS_LEVEL" "$( [[ -f $T/img/python.erofs ]] && calc "$(stat -c %s "$T/img/python.erofs") / 1048576" %.0f || echo -)" \
  "$(wc -l <"$PD/prefetch.txt")" "$PREFETCH_THREADS" "$PREFETCH_ALL"
printf 'medians; ratios are rafs speed / peer speed (> 1: rafs faster)\n\n'
table_print
for key in "${!NA[@]}"; do printf 'n/a %s: %s\n' "$key" "${NA[$key]}"; done | sort
for tool in "${TOOLS[@]}"; do
  [[ ${OUT[find,$tool]:-} == "${OUT[find,plain]:-}" ]] ||
    printf 'note: find sees %s entries on %s, %s on the plain dir\n' "${OUT[find,$tool]:-?}" "${LABEL[$tool]}" "${OUT[find,plain]:-?}"
  [[ ${OUT[read,$tool]:-} == "${OUT[read,plain]:-}" ]] ||
    printf 'note: tar reads %s bytes on %s, %s on the plain dir\n' "${OUT[read,$tool]:-?}" "${LABEL[$tool]}" "${OUT[read,plain]:-?}"
done
