#!/usr/bin/env bash
# Builds the addon to ship prebuilt in the npm package: prebuilds/<platform>-<arch>/spoken_digits.node.
# It loads PortAudio at run time (native/capture/pa_dlopen.cpp) instead of linking it, so it loads on
# machines without libportaudio (DSP only; capture once libportaudio2 is installed). Needs what
# `npm run build:native` needs, including PortAudio's header (portaudio19-dev): a prebuilt addon
# without capture is refused. Node's headers come from the internet or npm_config_nodedir (e.g. /usr). `npm run build:prebuilt`; `npm publish` runs it first (prepublishOnly).
set -euo pipefail
cd "$(dirname "$0")/.."
platform_arch="$(node -p 'process.platform + "-" + process.arch')"
out="prebuilds/$platform_arch"
bash scripts/fetch-kissfft.sh
node node_modules/cmake-js/bin/cmake-js compile --out build-prebuild --parallel 2 \
  --CDSPOKEN_DIGITS_WERROR=ON --CDSPOKEN_DIGITS_PORTAUDIO_DLOPEN=ON
addon=build-prebuild/Release/spoken_digits.node
# Checked in a clean process: it loads, has capture code, and needs no libportaudio.
SPOKEN_DIGITS_PORTAUDIO_LIB=/nonexistent/libportaudio.so.2 node -e '
  const a = require(process.argv[1]);
  if (typeof a.Extractor !== "function") throw new Error("no feature extractor");
  if (!/PortAudio could not be loaded/.test(a.captureUnavailable ?? "")) throw new Error("built without PortAudio capture: install portaudio19-dev (" + a.captureUnavailable + ")");
' "$PWD/$addon"
if readelf -d "$addon" | grep -q 'NEEDED.*libportaudio'; then
  echo "prebuild: $addon links libportaudio; it must load it at run time" >&2
  exit 1
fi
# A PortAudio function called without a wrapper in pa_dlopen.cpp would link (left undefined), load
# (lazily), and kill the process at its first call.
if nm -D --undefined-only "$addon" | grep -qw 'Pa_[A-Za-z]*'; then
  echo "prebuild: $addon calls PortAudio functions pa_dlopen.cpp does not wrap:" $(nm -D --undefined-only "$addon" | grep -ow 'Pa_[A-Za-z]*') >&2
  exit 1
fi
# The oldest C and C++ runtimes it loads with (Debian 12 builds need glibc 2.34 / GLIBCXX_3.4.29).
glibc=$(objdump -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
glibcxx=$(objdump -T "$addon" | grep -o 'GLIBCXX_[0-9.]*' | sort -V | tail -1)
echo "prebuild: needs $glibc, $glibcxx" 
mkdir -p "$out"
cp "$addon" "$out/spoken_digits.node"
strip --strip-unneeded "$out/spoken_digits.node"  # the symbol table (60 KB) serves no user
echo "prebuild: $out/spoken_digits.node"
