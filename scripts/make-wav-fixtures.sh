#!/usr/bin/env bash
# Regenerates test/fixtures/wav/ from one FSDD clip with sox: the same 0.3 s of speech in every
# encoding the decoder supports, so tests can compare each against the 16-bit original.
# Usage: bash scripts/make-wav-fixtures.sh [path/to/fsdd/recordings]
set -euo pipefail
rec="${1:-${SPOKEN_DIGITS_FSDD:-$(cd "$(dirname "$0")/../.." && pwd)/shared/fsdd/recordings}}"

src="$rec/3_jackson_7.wav"
out="$(dirname "$0")/../test/fixtures/wav"
mkdir -p "$out"
base="$out/s16.wav"
sox "$src" -b 16 -e signed "$base" trim 0.1 0.3
sox -D "$base" -b 8 -e unsigned "$out/u8.wav"
sox "$base" -b 24 -e signed "$out/s24-extensible.wav"   # sox writes 24-bit as WAVE_FORMAT_EXTENSIBLE
sox "$base" -b 32 -e signed "$out/s32.wav"
sox "$base" -b 32 -e floating-point "$out/f32.wav"       # has a fact chunk
sox "$base" -b 64 -e floating-point "$out/f64.wav"
sox -D "$base" -e a-law "$out/alaw.wav"
sox -D "$base" -e u-law "$out/mulaw.wav"
sox "$out/alaw.wav" -b 16 -e signed "$out/alaw-as-s16.wav"
sox "$out/mulaw.wav" -b 16 -e signed "$out/mulaw-as-s16.wav"
sox "$base" -c 2 "$out/stereo.wav"                       # both channels equal the original
sox -M "$base" "$out/u8.wav" -b 16 "$out/stereo-mixed.wav"   # left = original, right = 8-bit copy
sox "$base" -c 6 "$out/six-channel.wav"
sox "$base" -r 44100 "$out/r44100.wav"
sox "$base" -r 96000 -b 24 "$out/r96000-s24.wav"
ls -l "$out"
