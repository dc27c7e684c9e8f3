#!/usr/bin/env bash
# Line/region coverage of the DSP core reached by the fuzz corpora: rebuilds the libFuzzer targets
# with clang source-based coverage (no sanitizers), replays the committed seeds plus whatever
# native/fuzz/run.sh has grown in build/fuzz/corpus/, and prints llvm-cov's per-file report.
#   bash native/fuzz/coverage.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/fuzz-cov"
mkdir -p "$out/obj" "$out/profiles"
rm -f "$out"/profiles/*.profraw
bash "$root/scripts/fetch-kissfft.sh" >/dev/null
cov=(-fprofile-instr-generate -fcoverage-mapping -O1 -g -ffp-contract=off -Dkiss_fft_scalar=double)
simd=()
[ "$(uname -m)" = x86_64 ] && simd=(-DSD_QUAD_FFT_AVX2=1)
objs=()
for src in "$root"/third_party/kissfft/kiss_fft.c "$root"/third_party/kissfft/kiss_fftr.c; do
  clang -fsanitize=fuzzer-no-link "${cov[@]}" -c "$src" -o "$out/obj/$(basename "$src").o"
  objs+=("$out/obj/$(basename "$src").o")
done
for src in "$root"/native/dsp/*.cpp; do
  extra=()
  [ "$(uname -m)" = x86_64 ] && [ "$(basename "$src")" = quad_fft.cpp ] && extra=(-mavx2)
  clang++ -std=c++17 -fsanitize=fuzzer-no-link "${cov[@]}" "${simd[@]}" "${extra[@]}" -I"$root/third_party/kissfft" \
    -c "$src" -o "$out/obj/$(basename "$src").o"
  objs+=("$out/obj/$(basename "$src").o")
done
bins=()
for t in features_fuzz resampler_fuzz vad_fuzz ring_buffer_fuzz; do
  clang++ -std=c++17 -fsanitize=fuzzer "${cov[@]}" -I"$root/native/dsp" -I"$root/third_party/kissfft" \
    "$root/native/fuzz/$t.cpp" "${objs[@]}" -o "$out/$t"
  dirs=("$root/native/fuzz/corpus/$t")
  [ -d "$root/build/fuzz/corpus/$t" ] && dirs+=("$root/build/fuzz/corpus/$t")
  # A failing input stops the replay: say so (run.sh is where findings are reported).
  LLVM_PROFILE_FILE="$out/profiles/$t-%p.profraw" "$out/$t" -runs=0 "${dirs[@]}" >"$out/$t.log" 2>&1 ||
    echo "coverage: replay of $t stopped on a failing input (see $out/$t.log)" >&2
  if [ "$t" = features_fuzz ]; then
    SPOKEN_DIGITS_NO_AVX2=1 LLVM_PROFILE_FILE="$out/profiles/$t-noavx2-%p.profraw" "$out/$t" -runs=0 "${dirs[@]}" \
      >"$out/$t-noavx2.log" 2>&1 || echo "coverage: replay of $t (two-lane FFT) stopped on a failing input" >&2
  fi
  bins+=(-object "$out/$t")
done
llvm-profdata merge -sparse "$out"/profiles/*.profraw -o "$out/merged.profdata"
llvm-cov report "${bins[@]:1}" -instr-profile="$out/merged.profdata" "$root"/native/dsp/*.cpp "$root"/native/dsp/*.h* | \
  sed "s|$root/||"
