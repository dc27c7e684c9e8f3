#!/usr/bin/env bash
# Builds the C++ core tests (native/tests/*_test.cpp) with AddressSanitizer + UBSan and warnings as
# errors, then runs every one of them. Exits non-zero if any build or test fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build/cpp-tests"
bash "$root/scripts/fetch-kissfft.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPOKEN_DIGITS_TESTS=ON \
  -DSPOKEN_DIGITS_SANITIZE=ON -DSPOKEN_DIGITS_WERROR=ON >/dev/null
cmake --build "$build" --parallel 2
export SPOKEN_DIGITS_FSDD=${SPOKEN_DIGITS_FSDD:-$(cd "$root/.." && pwd)/shared/fsdd/recordings}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "$build"/*_test; do
  name=$(basename "$t")
  echo "== $name"
  if ! "$t"; then failed+=("$name"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "C++ tests failed: ${failed[*]}" >&2
  exit 1
fi
echo "C++ tests passed"
