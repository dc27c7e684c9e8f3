#!/usr/bin/env bash
# Synthetic speakers for training (not committed: regenerate with this command).
#   bash scripts/synthesize-speakers.sh [OUT_DIR]      default: ~/.cache/spoken-digits/synthetic
# Writes OUT_DIR/digits/{digit}_{speaker}_{take}.wav (FSDD naming; speaker = espeak-<voice>-<variant>)
# and OUT_DIR/none/{word}_{speaker}.wav (non-digit words for the "none" class), espeak-ng's
# 22,050 Hz output as is — training resamples with the DSP core. Deterministic: same files every run.
set -euo pipefail
command -v espeak-ng >/dev/null || { echo "espeak-ng is not installed (apt-get install -y espeak-ng)" >&2; exit 1; }
OUT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/spoken-digits/synthetic}
mkdir -p "$OUT/digits" "$OUT/none"
DIGITS=(zero one two three four five six seven eight nine)
# Clearly non-digit words: greetings, commands, names, everyday nouns (no homophones of digits such
# as "won", "to", "for", "ate").
WORDS=(hello yes no stop go cat dog house water music table window okay cancel help please thanks
       maybe never always apple banana orange yellow purple green blue red coffee paper phone
       computer garden river mountain anna michael sarah david peter lucy robot hey what where)
LANGS=(en-us en en-gb-scotland en-029 en-gb-x-rp en-us-nyc)
VARIANTS=(f1 f2 f3 f4 f5 m1 m2 m3 m7 klatt)
n=0
for lang in "${LANGS[@]}"; do
  for variant in "${VARIANTS[@]}"; do
    speaker="espeak-${lang}-${variant}"
    # Two takes per digit with different rate and pitch; child-like voices get the higher pitches.
    for take in 0 1; do
      seed=$(( (n * 7 + take * 13) % 50 ))
      speed=$(( 120 + (seed * 3) % 60 ))
      pitch=$(( 30 + (seed * 7 + take * 29) % 65 ))
      for d in "${!DIGITS[@]}"; do
        f="$OUT/digits/${d}_${speaker}_${take}.wav"
        [ -s "$f" ] || espeak-ng -v "${lang}+${variant}" -s "$speed" -p "$pitch" -w "$f" "${DIGITS[$d]}"
      done
    done
    # Each voice speaks a rotating subset of the words, so every word gets several voices.
    for i in "${!WORDS[@]}"; do
      if (( (i + n) % 4 == 0 )); then
        f="$OUT/none/${WORDS[$i]}_${speaker}.wav"
        [ -s "$f" ] || espeak-ng -v "${lang}+${variant}" -s $(( 130 + (i * 11) % 50 )) -p $(( 25 + (i * 13 + n) % 70 )) -w "$f" "${WORDS[$i]}"
      fi
    done
    n=$((n + 1))
  done
done
echo "synthetic speakers in $OUT: $(ls "$OUT/digits" | wc -l) digit clips, $(ls "$OUT/none" | wc -l) non-digit clips"
