#!/usr/bin/env bash
# Builds native/dsp (+ kissfft) to wasm/dist/sd_dsp.mjs: one ES module with the wasm inlined
# (SINGLE_FILE), loadable by Node 20 and browsers (and bundlers such as Vite).
#   bash wasm/build.sh          rebuild the committed file
#   bash wasm/build.sh --check  rebuild into a temp dir and fail if the committed file differs
# Exports: every C function marked SD_API in native/dsp/*.h (EMSCRIPTEN_KEEPALIVE), the ones listed
# in wasm/exports.txt, and malloc/free.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-build}
command -v emcc >/dev/null || { echo "wasm/build.sh: emcc not found (apt-get install emscripten)" >&2; exit 1; }
bash scripts/fetch-kissfft.sh
# -msimd128: the pair FFT and the vectorizable loops use wasm SIMD (Node >= 16.4, Chrome 91, Firefox 89, Safari 16.4).
# Warnings are errors in the gcc addon build (CI); clang here only reports them.
# Debian's emscripten needs its node modules (acorn, terser) for -O2 and above.
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Sorted, relative source paths keep the output byte-for-byte reproducible.
mapfile -t sources < <(cd "$root" && ls native/dsp/*.cpp | LC_ALL=C sort)
exports=$(grep -v '^#' wasm/exports.txt | grep -v '^$' | LC_ALL=C sort -u | tr '\n' ',')_malloc,_free
cflags=(-O3 -msimd128 -ffp-contract=off -Dkiss_fft_scalar=double -Inative/dsp -Ithird_party/kissfft)
linkflags=(
  -O3 -s MODULARIZE=1 -s EXPORT_ES6=1 -s ENVIRONMENT=web -s SINGLE_FILE=1
  -s EXPORT_NAME=createSdDsp -s ALLOW_MEMORY_GROWTH=1 -s FILESYSTEM=0
  -s EXPORTED_FUNCTIONS="$exports" -s EXPORTED_RUNTIME_METHODS=[]
  -s TEXTDECODER=2 -s ASSERTIONS=0 -s MALLOC=emmalloc
)
emcc "${cflags[@]}" -c third_party/kissfft/kiss_fft.c -o "$tmp/kiss_fft.o"
emcc "${cflags[@]}" -c third_party/kissfft/kiss_fftr.c -o "$tmp/kiss_fftr.o"
objs=()
for src in "${sources[@]}"; do
  o="$tmp/$(basename "${src%.cpp}").o"
  emcc "${cflags[@]}" -std=c++17 -Wall -Wextra -c "$src" -o "$o"
  objs+=("$o")
done
emcc "${linkflags[@]}" "$tmp/kiss_fft.o" "$tmp/kiss_fftr.o" "${objs[@]}" -o "$tmp/sd_dsp.mjs"

target=wasm/dist/sd_dsp.mjs
if [ "$mode" = --check ]; then
  if ! cmp -s "$tmp/sd_dsp.mjs" "$target"; then
    echo "wasm/build.sh --check: $target is stale or was built differently; run 'npm run build:wasm' and commit it" >&2
    exit 1
  fi
  echo "wasm/build.sh --check: $target matches a fresh build"
else
  mkdir -p wasm/dist
  cp "$tmp/sd_dsp.mjs" "$target"
  echo "wasm/build.sh: wrote $target ($(wc -c < "$target") bytes)"
fi
