#!/usr/bin/env bash
# Installs what MeetKit builds, runs and tests against: Debian packages, and the independent
# Secret Handshake implementation (Python, in a venv) that the interop tests talk to.
# Needs root (or sudo) and the package registries (Debian, PyPI).
# The Swift 6 toolchain itself is not a Debian package: install it from swift.org first.
set -euo pipefail

packages=(
  pkg-config
  libsodium-dev                  # all cryptography
  libsqlite3-dev                 # the log database (through GRDB)
  libavahi-compat-libdnssd-dev   # DNS-SD discovery (dns_sd.h)
  qrencode                       # meetkit group invite --qr
  python3-venv                   # the interop tests' Python peer (Tests/Interop)
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
bash "$(dirname "$0")/../Tests/Interop/setup.sh"
echo "MeetKit's dependencies are installed."
