#!/usr/bin/env bash
# The test command (README, .ci/run): installs what it needs, builds from
# scratch with warnings as errors, runs every test; then builds and runs
# everything again under AddressSanitizer and UndefinedBehaviorSanitizer;
# then runs each libFuzzer harness for 60 s (ci/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
jobs=$(nproc)

rm -rf build
cmake -S . -B build -DRAFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

rm -rf build-asan
cmake -S . -B build-asan -DRAFS_WERROR=ON -DRAFS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

bash ci/fuzz.sh 60
