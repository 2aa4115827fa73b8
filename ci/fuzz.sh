#!/usr/bin/env bash
# ci/fuzz.sh SECONDS: builds the libFuzzer harnesses (tests/fuzz/) with clang,
# ASan and UBSan in build-fuzz/, and runs each for SECONDS, two at a time.
# Prints one line per harness with its executions; exits 1 if any found a
# crash, leak, timeout or out-of-memory (the input is kept under
# build-fuzz/artifacts/<harness>/, and how to keep it as a regression test
# is printed).
#
# Each harness starts from its working corpus (build-fuzz/corpus/<harness>,
# kept between runs, grown by the fuzzer), the seeds fuzz_seeds makes from
# our fixtures and ../shared/testdata/nydus, the committed corpus and the
# regression inputs (tests/fuzz/corpus/, tests/fuzz/regressions/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: ci/fuzz.sh SECONDS}
build=build-fuzz
harnesses=(bootstrap layer oci config)
declare -A max_len=([bootstrap]=65536 [layer]=65536 [oci]=65536 [config]=4096)

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DRAFS_FUZZ=ON -DRAFS_BUILD_TESTS=OFF -DRAFS_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j"$(nproc)" --target fuzz_seeds "${harnesses[@]/#/fuzz_}"

upstream=../shared/testdata/nydus
[ -d "$upstream" ] || upstream=""
rm -rf "$build/seeds" "$build/logs"
mkdir -p "$build/logs"
"$build/tests/fuzz/fuzz_seeds" "$build/seeds" $upstream >/dev/null
touch "$build/logs/start" # artifacts newer than this are this run's

run() { # harness: runs it, leaves its log and exit code in $build/logs
  local name=$1 extra=()
  mkdir -p "$build/corpus/$name" "$build/artifacts/$name"
  for dir in "$build/seeds/$name" "tests/fuzz/corpus/$name" "tests/fuzz/regressions/$name"; do
    [ -d "$dir" ] && extra+=("$dir")
  done
  [ -f "tests/fuzz/$name.dict" ] && extra+=("-dict=tests/fuzz/$name.dict")
  local rc=0
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_$name" "$build/corpus/$name" "${extra[@]}" \
    -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -max_len="${max_len[$name]}" -artifact_prefix="$build/artifacts/$name/" \
    >"$build/logs/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$build/logs/$name.rc"
}

# Two at a time: the machines CI runs on have two cores.
for ((i = 0; i < ${#harnesses[@]}; i += 2)); do
  for name in "${harnesses[@]:i:2}"; do
    run "$name" &
  done
  wait
done

# What crashed runs left in /dev/shm (the harnesses' scratch directories,
# named by pid): removed once their process is gone.
for dir in /dev/shm/rafs-fuzz-*; do
  [ -d "$dir" ] || continue
  pid=${dir#/dev/shm/rafs-fuzz-}
  pid=${pid%%-*}
  kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
done

failed=0
for name in "${harnesses[@]}"; do
  log="$build/logs/$name.log"
  rc=$(cat "$build/logs/$name.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$build/corpus/$name" -type f | wc -l)
  found=$(find "$build/artifacts/$name" -type f -newer "$build/logs/start" | head -1)
  if [ "$rc" -eq 0 ] && ! grep -qE '^==[0-9]+== ?ERROR|^SUMMARY: ' "$log"; then
    echo "fuzz $name: ${execs:-?} executions in ${seconds}s, corpus $corpus inputs, no crash"
    continue
  fi
  failed=1
  echo "fuzz $name: FAILED after ${execs:-?} executions (exit $rc); the end of $log:"
  tail -n 40 "$log" | sed 's/^/  /'
  if [ -n "$found" ]; then
    echo "  input: $found"
    echo "  keep it: cp $found tests/fuzz/regressions/$name/<what-it-breaks>; once rafs is"
    echo "  fixed, (cd build && ctest -R 'fuzz regressions: $name') replays it"
  fi
done
exit $failed
