#!/usr/bin/env bash
# ctest runs each doctest case by name through CMake lists: a ';' in a
# TEST_CASE name splits it into fragments that match no case and "pass"
# without running anything. Fail on any such name.
set -euo pipefail
root="${1:-$(dirname "$0")/..}"
if grep -rn 'TEST_CASE("[^"]*;' "$root/tests"; then
  echo "check_test_names: a TEST_CASE name above contains ';' (use ',' instead)" >&2
  exit 1
fi
echo "test names ok"
