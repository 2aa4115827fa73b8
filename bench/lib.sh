# Shared helpers of the bench scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034  # globals set here are read by the scripts

export LC_ALL=C
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
WORKLOADS=${WORKLOADS:-/tmp/workloads}          # output of ../shared/workloads/make-workloads.sh
BENCH_DATA=${BENCH_DATA:-/tmp/rafs-bench-data}  # synthetic layers made by workloads.sh
BENCH_TMP=${BENCH_TMP:-/tmp/rafs-bench}         # scratch: outputs, mounts, caches
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

require_root() { [[ $(id -u) == 0 ]] || die "run as root (installs packages, drops caches, mounts)"; }

# ensure_tools CMD:PACKAGE... installs the Debian package of each missing command.
ensure_tools() {
  local spec missing=()
  for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null || missing+=("${spec#*:}")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; }
}

# Sets RAFS to ${RAFS:-build-rel/rafs}, building a Release binary if it is missing.
find_rafs() {
  RAFS=${RAFS:-$REPO_DIR/build-rel/rafs}
  if [[ ! -x $RAFS ]]; then
    [[ $RAFS == "$REPO_DIR/build-rel/rafs" ]] || die "RAFS=$RAFS is not an executable"
    log "building $RAFS"
    cmake -S "$REPO_DIR" -B "$REPO_DIR/build-rel" -DCMAKE_BUILD_TYPE=Release >&2
    cmake --build "$REPO_DIR/build-rel" -j2 --target rafs >&2
  fi
  RAFS=$(realpath "$RAFS")
  export RAFS
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
warm_file() { cat "$@" >/dev/null; }

# measure CMD: runs CMD with bash -c (stdout to $M_OUT, stderr to $M_ERR) and sets
# M_SEC (wall seconds, less the ~2 ms it takes to start /usr/bin/time and bash, measured
# once) and M_RSS_KB (peak RSS of the largest process, /usr/bin/time %M). Returns CMD's status.
MEASURE_OVERHEAD_US=
measure() {
  M_OUT=$BENCH_TMP/measure.out M_ERR=$BENCH_TMP/measure.err
  local rss=$BENCH_TMP/measure.rss t0 t1 us rc=0 i
  if [[ -z $MEASURE_OVERHEAD_US ]]; then
    local -a idle=()
    MEASURE_OVERHEAD_US=0
    for i in 1 2 3 4 5 6 7; do measure : && idle+=("${M_SEC/./}"); done
    MEASURE_OVERHEAD_US=$(median "${idle[@]}")
    MEASURE_OVERHEAD_US=$((10#$MEASURE_OVERHEAD_US))
  fi
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$rss" bash -c "$1" >"$M_OUT" 2>"$M_ERR" || rc=$?
  t1=$EPOCHREALTIME
  us=$((${t1/./} - ${t0/./} - MEASURE_OVERHEAD_US))
  ((us > 0)) || us=0
  M_SEC=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
  M_RSS_KB=$(tail -n 1 "$rss")
  return "$rc"
}

# measure_or_die CMD: measure, and stop with CMD's stderr if it fails.
measure_or_die() {
  measure "$1" || { cat "$M_ERR" >&2; die "failed: $1"; }
}

# median NUMBER...
median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR == 0) exit 1; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# maximum NUMBER...
maximum() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# calc EXPR [FORMAT]: awk arithmetic, e.g. calc "3 / 2" %.2f
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }

# Table: table_row CELL... appends a row (the first row is the header); table_print
# prints it as an aligned Markdown table.
TABLE_FILE=
table_row() {
  [[ -n $TABLE_FILE ]] || TABLE_FILE=$(mktemp "$BENCH_TMP/table.XXXXXX")
  local IFS=$'\t'
  printf '%s\n' "$*" >>"$TABLE_FILE"
}
table_print() {
  awk -F'\t' '
    { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
      if (NF > n) n = NF }
    END {
      for (r = 1; r <= NR; r++) {
        line = "|"
        for (i = 1; i <= n; i++) line = line sprintf(" %-" w[i] "s |", c[r, i])
        print line
        if (r == 1) {
          line = "|"
          for (i = 1; i <= n; i++) { d = ""; for (k = 0; k < w[i] + 2; k++) d = d "-"; line = line d "|" }
          print line
        }
      }
    }' "$TABLE_FILE"
  rm -f "$TABLE_FILE"
  TABLE_FILE=
}
