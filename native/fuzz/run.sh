#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and runs each for a
# bounded time, then the TypeScript WAV decoder fuzz loop. Exits non-zero on any finding (crash,
# sanitizer report, failed oracle, leak, timeout, OOM); the reproducer is left in build/fuzz/artifacts/.
#
#   bash native/fuzz/run.sh                 # every target, FUZZ_SECONDS (default 40) each
#   FUZZ_SECONDS=3600 bash native/fuzz/run.sh features_fuzz   # one target, longer
#   bash native/fuzz/run.sh --regress       # only replay the committed corpus (a few seconds)
#   FUZZ_SEED=1 bash native/fuzz/run.sh     # fixed seed: the same inputs every run (CI uses this, so a
#                                           # red CI run is reproducible and not a roll of the dice)
#
# The committed seeds (native/fuzz/corpus/<target>/) are read-only inputs; what libFuzzer discovers
# goes to build/fuzz/corpus/<target>/ so the repository does not grow.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/fuzz"
seconds=${FUZZ_SECONDS:-40}
regress=0
targets=()
for a in "$@"; do
  case "$a" in
    --regress) regress=1 ;;
    *) targets+=("$a") ;;
  esac
done
all_cpp=(features_fuzz features_fuzz_noavx2 resampler_fuzz wsola_fuzz vad_fuzz ring_buffer_fuzz)
if [ ${#targets[@]} -eq 0 ]; then targets=("${all_cpp[@]}" wav_decoder); fi

bash "$root/scripts/fetch-kissfft.sh" >/dev/null
CC=${CC:-clang}
CXX=${CXX:-clang++}
san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)
mkdir -p "$out/obj" "$out/artifacts"

# The DSP core is compiled once, instrumented for coverage (fuzzer-no-link) and sanitizers, in
# double-precision kissfft exactly like CMakeLists.txt builds it.
build_core() {
  local objs=() src obj
  for src in "$root"/third_party/kissfft/kiss_fft.c "$root"/third_party/kissfft/kiss_fftr.c; do
    obj="$out/obj/$(basename "$src").o"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
      "$CC" -fsanitize=fuzzer-no-link "${san[@]}" -Dkiss_fft_scalar=double -c "$src" -o "$obj"
    fi
    objs+=("$obj")
  done
  # As CMakeLists.txt: on x86-64 the AVX2 FFT variant is built (quad_fft.cpp alone with -mavx2)
  # and chosen at run time; features_fuzz_noavx2 runs the same binary on the two-lane path.
  local simd=() arch
  arch=$(uname -m)
  if [ "$arch" = x86_64 ]; then simd=(-DSD_QUAD_FFT_AVX2=1); fi
  for src in "$root"/native/dsp/*.cpp; do
    obj="$out/obj/$(basename "$src").o"
    local extra=()
    if [ "$arch" = x86_64 ] && [ "$(basename "$src")" = quad_fft.cpp ]; then extra=(-mavx2); fi
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find "$root/native/dsp" \( -name '*.h*' -o -name '*.inc' \) -newer "$obj")" ]; then
      # No -Werror here: the core's warning gate is gcc's (CMakeLists.txt); clang warns differently.
      "$CXX" -std=c++17 -ffp-contract=off -fsanitize=fuzzer-no-link "${san[@]}" -Dkiss_fft_scalar=double \
        "${simd[@]}" "${extra[@]}" -I"$root/third_party/kissfft" -c "$src" -o "$obj"
    fi
    objs+=("$obj")
  done
  CORE_OBJS=("${objs[@]}")
}

build_target() {
  local t=$1
  "$CXX" -std=c++17 -Wall -Wextra -Werror -fsanitize=fuzzer "${san[@]}" -Dkiss_fft_scalar=double \
    -I"$root/native/dsp" -I"$root/third_party/kissfft" "$root/native/fuzz/$t.cpp" "${CORE_OBJS[@]}" -o "$out/$t"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
need_core=1
for t in "${targets[@]}"; do
  if [ "$t" = wav_decoder ]; then
    echo "== wav_decoder (TypeScript decodeWav / WAV stream reader, mutation loop)"
    mode=(--seconds "$seconds")
    [ -n "${FUZZ_SEED:-}" ] && mode+=(--seed "$FUZZ_SEED")
    [ $regress -eq 1 ] && mode=(--regress)
    if ! (cd "$root" && node --import tsx native/fuzz/wav-decoder.fuzz.ts "${mode[@]}" \
          --corpus native/fuzz/corpus/wav_decoder --artifacts "$out/artifacts"); then
      failed+=("$t")
    fi
    continue
  fi
  if [ $need_core -eq 1 ]; then build_core; need_core=0; fi
  echo "== $t"
  bin=$t
  envs=()
  if [ "$t" = features_fuzz_noavx2 ]; then
    bin=features_fuzz
    envs=(SPOKEN_DIGITS_NO_AVX2=1)
  fi
  build_target "$bin"
  seeds="$root/native/fuzz/corpus/$bin"
  work="$out/corpus/$bin"
  mkdir -p "$work" "$seeds"
  log="$out/$t.log"
  if [ $regress -eq 1 ]; then
    args=(-runs=0 "$seeds")
  else
    args=(${FUZZ_SEED:+-seed=$FUZZ_SEED} -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 "$work" "$seeds")
  fi
  if env "${envs[@]}" "$out/$bin" -artifact_prefix="$out/artifacts/$t-" "${args[@]}" >"$log" 2>&1; then
    stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" | awk '{print $2}' | paste -sd/ - || true)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    summary+=("$t: ${stats:-replayed} execs/(execs/s), $cov")
    echo "   ok  ${summary[-1]}"
  else
    failed+=("$t")
    echo "   FINDING in $t; log: $log" >&2
    grep -E 'ERROR|check failed|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
  fi
done
echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: no findings"
