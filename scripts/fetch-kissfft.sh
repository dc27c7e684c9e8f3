#!/usr/bin/env bash
# Puts kissfft's C sources in third_party/kissfft (git-ignored; never committed).
# Order: an existing copy; Debian's source package (works offline against Debian mirrors);
# the upstream release tarball (machines with internet).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/kissfft"
if [ -f "$dest/kiss_fft.c" ] && [ -f "$dest/kiss_fftr.c" ]; then exit 0; fi
mkdir -p "$root/third_party"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v apt-get >/dev/null; then
  # On Debian, as root, with no source entries at all: one for this release's main archive (said on
  # stderr, left in place for the next build). Elsewhere (Ubuntu, other derivatives) apt's own
  # entries are used as they are, and without sources the upstream release is fetched instead.
  # Never for SPOKEN_DIGITS_NO_APT_CHANGES=1: the install hook of a dependency leaves the system's
  # package sources alone (a developer's `npm run build:native` or CI may add the entry).
  os=$(. /etc/os-release 2>/dev/null && echo "${ID:-}:${VERSION_CODENAME:-}")
  if [ "${SPOKEN_DIGITS_NO_APT_CHANGES:-}" != 1 ] && [ "${os%%:*}" = debian ] && [ -n "${os#*:}" ] && [ "$(id -u)" = 0 ] &&
    ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -rqs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    src=/etc/apt/sources.list.d/spoken-digits-src.sources
    echo "fetch-kissfft: adding $src (deb-src of Debian ${os#*:} main) for kissfft's source package" >&2
    cat > "$src" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${os#*:}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq || true
  fi
  (cd "$tmp" && apt-get source -qq --download-only kissfft >/dev/null 2>&1 && dpkg-source -x --no-check kissfft_*.dsc src >/dev/null 2>&1) || true
fi
if [ ! -f "$tmp/src/kiss_fft.c" ]; then
  echo "fetch-kissfft: Debian source package unavailable; trying the upstream release" >&2
  url="https://codeload.github.com/mborgerding/kissfft/tar.gz/refs/tags/131.1.0"
  (cd "$tmp" && curl -fsSL "$url" -o k.tgz && mkdir src && tar -xzf k.tgz -C src --strip-components=1) || {
    echo "fetch-kissfft: could not get kissfft sources. Install them into third_party/kissfft (kiss_fft.c, kiss_fftr.c, headers) by hand." >&2; exit 1; }
fi
mkdir -p "$dest"
cp "$tmp"/src/kiss_fft.c "$tmp"/src/kiss_fftr.c "$tmp"/src/kiss_fft.h "$tmp"/src/kiss_fftr.h "$tmp"/src/_kiss_fft_guts.h "$dest"/
[ -f "$tmp/src/kiss_fft_log.h" ] && cp "$tmp/src/kiss_fft_log.h" "$dest/"
cp "$tmp"/src/COPYING "$dest"/ 2>/dev/null || true
echo "fetch-kissfft: sources in $dest"
