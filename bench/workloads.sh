#!/usr/bin/env bash
# Input layers of the bench scripts, in OUTDIR (default $BENCH_DATA):
#   workloads.sh [OUTDIR] [realistic] [small] [big]     (default: all three)
#
#   realistic.tar, realistic.tar.gz  links to $WORKLOADS/debian-base/layer1.tar{,.gz}
#       (../shared/workloads/make-workloads.sh) when it exists; otherwise about
#       120 MiB of this system's /usr as one tar (GNU tar --sort=name) and `gzip -6 -n` of it
#   small-files.tar                  100,000 files of 1-8 KiB (gen_layers.py small)
#   big-100m.tar, big-5g.tar         the same recipe at 100 MiB and 5 GiB (gen_layers.py big)
# Outputs that exist are kept. realistic.src says where the realistic layer came from.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${1:-$BENCH_DATA}
shift || true
(($#)) || set -- realistic small big
mkdir -p "$OUT"

realistic() {
  if [[ -f $WORKLOADS/debian-base/layer1.tar && -f $WORKLOADS/debian-base/layer1.tar.gz ]]; then
    ln -sfn "$(realpath "$WORKLOADS/debian-base/layer1.tar")" "$OUT/realistic.tar"
    ln -sfn "$(realpath "$WORKLOADS/debian-base/layer1.tar.gz")" "$OUT/realistic.tar.gz"
    echo "debian-base/layer1 of make-workloads.sh (debootstrap minbase bookworm)" >"$OUT/realistic.src"
    return
  fi
  [[ -f $OUT/realistic.tar && ! -L $OUT/realistic.tar && -f $OUT/realistic.tar.gz ]] && return
  log "no $WORKLOADS/debian-base: taking ~120 MiB of this system's /usr"
  # Every directory and symlink, and every Nth file so that the files sum to ~120 MiB:
  # this system's mix of file sizes, in name order.
  (cd / && find usr/lib usr/share usr/bin -xdev \( -type f -o -type d -o -type l \) -printf '%y %s\t%p\n') |
    sort -t $'\t' -k 2 >"$OUT/realistic.all"
  awk -F'\t' -v want=$((120 << 20)) '
    NR == FNR { if ($1 ~ /^f/) { split($1, a, " "); total += a[2] }; next }
    FNR == 1 { step = total > want ? total / want : 1 }
    $1 !~ /^f/ { print $2; next }
    { n++; if (n >= next_pick) { print $2; next_pick += step } }' \
    "$OUT/realistic.all" "$OUT/realistic.all" >"$OUT/realistic.list"
  rm "$OUT/realistic.all"
  local rc=0
  tar --sort=name --no-recursion -C / -T "$OUT/realistic.list" -cf "$OUT/realistic.tar.tmp" || rc=$?
  ((rc <= 1)) || die "tar of the local system failed"   # 1: a file changed while read
  gzip -6 -n -c "$OUT/realistic.tar.tmp" >"$OUT/realistic.tar.gz"
  mv "$OUT/realistic.tar.tmp" "$OUT/realistic.tar"
  echo "local system: $(wc -l <"$OUT/realistic.list") entries sampled from /usr/{lib,share,bin} of $(hostname)" >"$OUT/realistic.src"
}

generate() { # NAME KIND [BYTES]: gen_layers.py KIND OUT/NAME [BYTES] unless OUT/NAME exists
  [[ -f $OUT/$1 ]] && return
  log "generating $OUT/$1"
  python3 "$BENCH_DIR/gen_layers.py" "$2" "$OUT/$1" "${@:3}"
}

for what in "$@"; do
  case $what in
    realistic) realistic ;;
    small) generate small-files.tar small ;;
    big)
      generate big-100m.tar big $((100 << 20))
      generate big-5g.tar big $((5 << 30))
      ;;
    *) die "unknown workload $what (realistic, small, big)" ;;
  esac
done
