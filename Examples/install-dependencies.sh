#!/usr/bin/env bash
# Installs the Debian packages MeetKit builds and runs against. Needs root (or sudo).
# The Swift 6 toolchain itself is not a Debian package: install it from swift.org first.
set -euo pipefail

packages=(
  pkg-config
  libsodium-dev                  # all cryptography
  libsqlite3-dev                 # the log database (through GRDB)
  libavahi-compat-libdnssd-dev   # DNS-SD discovery (dns_sd.h)
  qrencode                       # meetkit group invite --qr
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "MeetKit's dependencies are installed."
