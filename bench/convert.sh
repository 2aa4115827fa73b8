#!/usr/bin/env bash
# shellcheck disable=SC2016  # timed commands are single-quoted: bash -c expands them
# Conversion benchmark: `rafs create` against zstd, tar2sqfs (and igzip/zcat for
# gzip input) on the same input layers, interleaved run by run; prints one table
# of medians. Not part of the test suite. See bench/README.md for the knobs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-zstd1 lz4 gz zstd3 small determinism}  # and big (BIG=1): 5 GiB, ~3 more minutes
[[ ${BIG:-0} == 1 ]] && ROWS+=" big"
BIG_RUNS=${BIG_RUNS:-1}
SQFS_LEVEL=${SQFS_LEVEL:-3}

want() { [[ " $ROWS " == *" $1 "* ]]; }

require_root
ensure_tools zstd:zstd tar2sqfs:squashfs-tools-ng igzip:isal /usr/bin/time:time python3:python3
find_rafs
T=$BENCH_TMP/convert
mkdir -p "$T"
kinds=(realistic)
want small && kinds+=(small)
want big && kinds+=(big)
"$BENCH_DIR/workloads.sh" "$BENCH_DATA" "${kinds[@]}"

# What the timed commands see: $R rafs, $J threads, $L tar2sqfs zstd level, $IN the
# input, $O an empty output directory (with O/blobs), fresh for every command.
export R=$RAFS J=$THREADS L=$SQFS_LEVEL IN O
RAFS_CREATE='"$R" create -t tar --threads "$J" -D "$O/blobs" -B "$O/boot" "$IN"'
SQFS_ZSTD='tar2sqfs -q -f -j "$J" -c zstd -X level="$L" "$O/out.sqfs" <"$IN"'
SQFS_LZ4='tar2sqfs -q -f -j "$J" -c lz4 "$O/out.sqfs" <"$IN"'
ZSTD1='zstd -q -1 -T"$J" -c "$IN" >"$O/out.zst"'
ZSTD3='zstd -q -3 -T"$J" -c "$IN" >"$O/out.zst"'

# group NAME INPUT TAR_BYTES RUNS, then tool LABEL COMMAND [NOTE]..., then run_group:
# each run times every tool once on INPUT, in order. The first tool (rafs) is the base
# of the ratio column: rafs speed / tool speed = tool time / rafs time (> 1: rafs faster).
group() { G_NAME=$1 G_IN=$2 G_BYTES=$3 G_RUNS=$4 G_LABEL=() G_CMD=() G_NOTE=(); }
tool() { G_LABEL+=("$1") G_CMD+=("$2") G_NOTE+=("${3:-}"); }
median_of() { local -a a; read -ra a <<<"$1"; median "${a[@]}"; }
max_of() { local -a a; read -ra a <<<"$1"; maximum "${a[@]}"; }
declare -A ENTRIES
count_entries() { # TAR: sets COUNT to its number of entries, counted once per file
  [[ -n ${ENTRIES[$1]:-} ]] || ENTRIES[$1]=$(tar -tf "$1" | wc -l)
  COUNT=${ENTRIES[$1]}
}

run_group() {
  local r i n=${#G_LABEL[@]} base t ratio
  local -a times=() rss=() size=()
  count_entries "$G_IN"
  warm_file "$G_IN"
  for ((r = 1; r <= G_RUNS; r++)); do
    for ((i = 0; i < n; i++)); do
      IN=$G_IN O=$T/out
      rm -rf "$O" && mkdir -p "$O/blobs" && sync
      log "$G_NAME: ${G_LABEL[i]} (run $r/$G_RUNS)"
      measure_or_die "${G_CMD[i]}"
      times[i]+="$M_SEC " rss[i]+="$M_RSS_KB "
      size[i]=$(du -sb "$O" | cut -f1)
    done
  done
  rm -rf "$T/out"
  base=$(median_of "${times[0]}")
  G_RAFS_RSS_KB=$(max_of "${rss[0]}")
  for ((i = 0; i < n; i++)); do
    t=$(median_of "${times[i]}")
    ratio=base
    ((i == 0)) || ratio=$(calc "$t / $base" %.2fx)
    table_row "$G_NAME" "${G_LABEL[i]}" "$(calc "$t" %.3f)" "$(calc "$G_BYTES / $t / 1e6" %.0f)" \
      "$(calc "$COUNT / $t" %.0f)" "$ratio" \
      "$(calc "$(max_of "${rss[i]}") / 1024" %.0f)" "$(calc "${size[i]} / 1048576" %.1f)" "${G_NOTE[i]}"
  done
}

# determinism NAME INPUT: rafs create with --threads 1 and --threads 2 make the same bytes.
determinism() {
  local th t1 t2 verdict
  warm_file "$2"
  for th in 1 2; do
    rm -rf "$T/det$th" && mkdir -p "$T/det$th/blobs"
    log "determinism: $1 --threads $th"
    measure_or_die "\"\$R\" create -t tar --threads $th -D '$T/det$th/blobs' -B '$T/det$th/boot' '$2'"
    [[ $th == 1 ]] && t1=$M_SEC || t2=$M_SEC
  done
  if diff -rq "$T/det1" "$T/det2" >/dev/null; then
    verdict="OK: blob and bootstrap byte-identical"
  else
    verdict="DIFF: $(diff -rq "$T/det1" "$T/det2" 2>&1 | head -n 1 || true)"
  fi
  rm -rf "$T/det1" "$T/det2"
  table_row "determinism" "rafs --threads 1 vs 2 ($1)" "$(calc "$t1" %.3f)" "-" "-" "-" "-" "-" \
    "$verdict; time is --threads 1's, --threads 2 is $(calc "$t1 / $t2")x as fast"
}

REAL=$(realpath "$BENCH_DATA/realistic.tar")       # zstd skips symlinks
REAL_GZ=$(realpath "$BENCH_DATA/realistic.tar.gz")
SMALL=$BENCH_DATA/small-files.tar
real_bytes=$(stat -L -c %s "$REAL")
table_row "workload" "tool" "time s" "MB/s" "entries/s" "rafs speed / tool's" "peak RSS MiB" "output MiB" "note"

if want zstd1; then
  group "plain tar -> zstd 1" "$REAL" "$real_bytes" "$RUNS"
  tool "rafs create zstd 1" "$RAFS_CREATE --compression-level 1"
  tool "zstd -1 -T$THREADS" "$ZSTD1"
  tool "tar2sqfs -j$THREADS zstd $SQFS_LEVEL" "$SQFS_ZSTD"
  run_group
fi
if want lz4; then
  group "plain tar -> lz4" "$REAL" "$real_bytes" "$RUNS"
  tool "rafs create lz4_block" "$RAFS_CREATE --compressor lz4_block"
  tool "tar2sqfs -j$THREADS lz4" "$SQFS_LZ4"
  run_group
fi
if want gz; then
  group "tar.gz -> zstd 1" "$REAL_GZ" "$real_bytes" "$RUNS"
  tool "rafs create zstd 1" "$RAFS_CREATE --compression-level 1"
  tool "tar2sqfs -j$THREADS zstd $SQFS_LEVEL" "$SQFS_ZSTD" \
    "tar2sqfs inflates the .tar.gz itself"
  tool "igzip -dc | zstd -1 -T$THREADS" 'igzip -dc "$IN" | zstd -q -1 -T"$J" >"$O/out.zst"' "reference pipeline"
  tool "igzip -dc" 'igzip -dc "$IN" >/dev/null' "reference: inflate only (ISA-L)"
  tool "zcat" 'zcat "$IN" >/dev/null' "reference: inflate only (gzip)"
  run_group
fi
if want zstd3; then
  group "plain tar -> zstd 3" "$REAL" "$real_bytes" "$RUNS"
  tool "rafs create zstd 3" "$RAFS_CREATE"
  tool "zstd -3 -T$THREADS" "$ZSTD3" "reference: raw zstd"
  run_group
fi
if want small; then
  small_bytes=$(stat -c %s "$SMALL")
  group "100k small files, zstd" "$SMALL" "$small_bytes" "$RUNS"
  tool "rafs create zstd 3" "$RAFS_CREATE"
  tool "tar2sqfs -j$THREADS zstd $SQFS_LEVEL" "$SQFS_ZSTD"
  run_group
  group "100k small files, lz4" "$SMALL" "$small_bytes" "$RUNS"
  tool "rafs create lz4_block" "$RAFS_CREATE --compressor lz4_block"
  tool "tar2sqfs -j$THREADS lz4" "$SQFS_LZ4"
  run_group
fi
if want big; then
  declare -A RSS_KB
  for size in 100m 5g; do
    big=$BENCH_DATA/big-$size.tar
    group "big layer $size" "$big" "$(stat -c %s "$big")" "$([[ $size == 5g ]] && echo "$BIG_RUNS" || echo "$RUNS")"
    tool "rafs create zstd 3" "$RAFS_CREATE"
    tool "zstd -3 -T$THREADS" "$ZSTD3" "reference: raw zstd"
    tool "tar2sqfs -j$THREADS zstd $SQFS_LEVEL" "$SQFS_ZSTD"
    run_group
    RSS_KB[$size]=$G_RAFS_RSS_KB
  done
  verdict=MISSED
  ((RSS_KB[5g] <= 128 * 1024 && RSS_KB[5g] <= RSS_KB[100m] + 16 * 1024)) && verdict=met
  table_row "big layer RSS" "rafs create" "-" "-" "-" "-" "$(calc "${RSS_KB[5g]} / 1024" %.0f)" "-" \
    "target: 5g <= 128 MiB and <= 100m's $(calc "${RSS_KB[100m]} / 1024" %.0f) + 16 MiB: $verdict"
fi
if want determinism; then
  determinism "plain tar" "$REAL"
  determinism "tar.gz" "$REAL_GZ"
  want small && determinism "small files" "$SMALL"
fi

printf '\nrafs convert bench: %s; RUNS=%s (big 5g: %s), THREADS=%s; %s, %s cores\n' \
  "$("$RAFS" --version)" "$RUNS" "$BIG_RUNS" "$THREADS" \
  "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)"
printf 'realistic layer: %s, %s MiB; medians of RUNS; MB/s of uncompressed tar bytes; peak RSS: max over runs\n\n' \
  "$(cat "$BENCH_DATA/realistic.src")" "$(calc "$real_bytes / 1048576" %.0f)"
table_print
