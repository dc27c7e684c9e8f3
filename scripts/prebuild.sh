#!/usr/bin/env bash
# Builds the addon to ship prebuilt in the npm package: prebuilds/<platform>-<arch>/spoken_digits.node.
# It loads PortAudio at run time (native/capture/pa_dlopen.cpp) instead of linking it, so it loads on
# machines without libportaudio (DSP only; capture once libportaudio2 is installed). Needs what
# `npm run build:native` needs, including PortAudio's header (portaudio19-dev): a prebuilt addon
# without capture is refused. Node's headers come from the running Node's installation (scripts/cmake-js.mjs), npm_config_nodedir, or the internet.
#   npm run build:prebuilt                  this machine's platform and architecture
#   npm run build:prebuilt -- --arch arm64  Linux arm64 from x64 (apt-get install g++-aarch64-linux-gnu
#                                           qemu-user): checked by loading it in an arm64 Node under qemu
# `npm publish` runs both first (prepublishOnly).
set -euo pipefail
cd "$(dirname "$0")/.."
host_arch="$(node -p 'process.arch')"
arch="$host_arch"
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:?--arch needs x64 or arm64}"; shift 2 ;;
    *) echo "prebuild: unknown option $1 (use --arch ARCH)" >&2; exit 2 ;;
  esac
done
platform="$(node -p 'process.platform')"
out="prebuilds/$platform-$arch"
build="build-prebuild"
cmake_args=(--CDSPOKEN_DIGITS_WERROR=ON --CDSPOKEN_DIGITS_PORTAUDIO_DLOPEN=ON)
tools=""
run_node=(node)
if [ "$arch" != "$host_arch" ]; then
  if [ "$platform-$host_arch-$arch" != "linux-x64-arm64" ]; then
    echo "prebuild: cross builds go from linux-x64 to arm64 only (here: $platform-$host_arch to $arch)" >&2; exit 2
  fi
  for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
    command -v "$tool" >/dev/null || { echo "prebuild: $tool is missing: apt-get install g++-aarch64-linux-gnu qemu-user" >&2; exit 1; }
  done
  build="build-prebuild-$arch"
  tools="aarch64-linux-gnu-"
  # PortAudio's header is the same on every architecture, but the host's include folder must not
  # come before the arm64 C library's: the cross build sees a copy of that one file only.
  header="$(pkg-config --variable=includedir portaudio-2.0 2>/dev/null || echo /usr/include)/portaudio.h"
  [ -f "$header" ] || { echo "prebuild: $header is missing: apt-get install portaudio19-dev" >&2; exit 1; }
  # Beside the build folder, not in it: cmake-js deletes that folder and retries when a build fails.
  include="$build-include"
  mkdir -p "$include"
  cp "$header" "$include/"
  cmake_args+=(--CDCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" --CDSPOKEN_DIGITS_PORTAUDIO_INCLUDE_DIR="$PWD/$include")
  mapfile -t run_node < <(bash scripts/arm64-node.sh)
  [ "${#run_node[@]}" -eq 4 ] || { echo "prebuild: no arm64 Node to check the addon with (scripts/arm64-node.sh)" >&2; exit 1; }
fi
bash scripts/fetch-kissfft.sh
node scripts/cmake-js.mjs compile --out "$build" --parallel 2 "${cmake_args[@]}"
addon="$build/Release/spoken_digits.node"
# Checked in a clean process: it loads, has capture code, and needs no libportaudio.
SPOKEN_DIGITS_PORTAUDIO_LIB=/nonexistent/libportaudio.so.2 "${run_node[@]}" -e '
  const a = require(process.argv[1]);
  if (process.arch !== process.argv[2]) throw new Error("loaded in a " + process.arch + " Node, not " + process.argv[2]);
  if (typeof a.Extractor !== "function") throw new Error("no feature extractor");
  if (!/PortAudio could not be loaded/.test(a.captureUnavailable ?? "")) throw new Error("built without PortAudio capture: install portaudio19-dev (" + a.captureUnavailable + ")");
' "$PWD/$addon" "$arch"
if "${tools}readelf" -d "$addon" | grep -q 'NEEDED.*libportaudio'; then
  echo "prebuild: $addon links libportaudio; it must load it at run time" >&2
  exit 1
fi
# A PortAudio function called without a wrapper in pa_dlopen.cpp would link (left undefined), load
# (lazily), and kill the process at its first call.
if "${tools}nm" -D --undefined-only "$addon" | grep -qw 'Pa_[A-Za-z]*'; then
  echo "prebuild: $addon calls PortAudio functions pa_dlopen.cpp does not wrap:" $("${tools}nm" -D --undefined-only "$addon" | grep -ow 'Pa_[A-Za-z]*') >&2
  exit 1
fi
# The oldest C and C++ runtimes it loads with (Debian 12 builds need glibc 2.34 / GLIBCXX_3.4.29).
glibc=$("${tools}objdump" -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
glibcxx=$("${tools}objdump" -T "$addon" | grep -o 'GLIBCXX_[0-9.]*' | sort -V | tail -1)
echo "prebuild: needs $glibc, $glibcxx"
mkdir -p "$out"
cp "$addon" "$out/spoken_digits.node"
"${tools}strip" --strip-unneeded "$out/spoken_digits.node"  # the symbol table (60 KB) serves no user
# What it was built from, checked when the package is packed (scripts/native-source-hash.mjs).
node scripts/native-source-hash.mjs > "$out/source.sha256"
echo "prebuild: $out/spoken_digits.node"
