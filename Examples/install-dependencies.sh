#!/usr/bin/env bash
# Installs what MeetKit builds, runs and tests against: Debian packages, and the independent
# Python implementations (Secret Handshake, zeroconf; in a venv) that the interop and lab
# tests talk to.
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
  iproute2                       # the lab's hosts: network namespaces, veths, a bridge (Tests/Lab)
  util-linux                     # the lab: unshare, nsenter (a /run of its own per host)
  dbus                           # the lab: a D-Bus system bus per host, for Avahi
  avahi-daemon                   # the lab: an mDNS responder per host (Debian 12 starts it
                                 # only under systemd; the lab never runs it outside its hosts)
  avahi-utils                    # the lab tests: avahi-publish, avahi-browse
  tcpdump                        # the lab tests: capture a meeting on the wire, search it
  nftables                       # the lab tests: cut, heal and make lossy the links between hosts
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
bash "$(dirname "$0")/../Tests/Interop/setup.sh"
echo "MeetKit's dependencies are installed."
