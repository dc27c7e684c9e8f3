#!/usr/bin/env bash
# `npm run soak`: the long soak. (npm test already streams one hour of audio through a Listener.)
#   1. bench/soak.ts: SOAK_MINUTES (default 600 = ten hours) of FSDD clips, noise and silence through
#      one Listener (native stream core when the addon is built), then an hour on the wasm core.
#   2. native/tests/ring_soak_test.cpp: producer faster than consumer on the capture ring for
#      RING_SOAK_SECONDS (default 120), under ASan+UBSan and again under ThreadSanitizer.
# Exits non-zero when any check fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
minutes=${SOAK_MINUTES:-600}
ring=${RING_SOAK_SECONDS:-120}

echo "== Listener soak: $minutes min of audio (native core when the addon is built, else wasm)"
npx tsx bench/soak.ts --minutes "$minutes"
echo "== Listener soak: 60 min of audio, wasm core"
npx tsx bench/soak.ts --minutes 60 --core wasm

echo "== ring soak (ASan+UBSan), $ring s"
bash scripts/fetch-kissfft.sh >/dev/null
cmake -S . -B build/cpp-tests -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPOKEN_DIGITS_TESTS=ON -DSPOKEN_DIGITS_SANITIZE=ON >/dev/null
cmake --build build/cpp-tests --target ring_soak_test --parallel 2 >/dev/null
SOAK_SECONDS=$ring build/cpp-tests/ring_soak_test

echo "== ring soak (ThreadSanitizer), $ring s"
${CXX_TSAN:-clang++} -std=c++17 -O1 -g -fsanitize=thread -Inative/dsp native/tests/ring_soak_test.cpp -o build/ring_soak_tsan -lpthread
SOAK_SECONDS=$ring TSAN_OPTIONS=halt_on_error=1 build/ring_soak_tsan
