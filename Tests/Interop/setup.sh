#!/usr/bin/env bash
# Installs the independent implementations that the interoperability and lab tests run
# against MeetKit, in a venv at .venv-interop in the repository:
#   - PyPI `secret-handshake` 0.1.0.dev3 with PyNaCl (Tests/MeetKitInteropTests, shs_peer.py);
#   - PyPI `zeroconf`, a pure-Python mDNS / DNS-SD stack (Tests/MeetKitLabTests,
#     zeroconf_browse.py).
# Idempotent: a venv that already imports all of them is left alone, and a venv that lacks one
# gets only what is missing. Needs python3 with venv (Debian: python3-venv) and PyPI.
#
# The library pins pynacl==1.1.2, which has no wheel for Python 3.11 and does not build, so it
# is installed without its dependencies and a PyNaCl that works is installed beside it (its
# own unit tests pass that way).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv-interop
python="$venv/bin/python3"

works() { [ -x "$python" ] && "$python" -c 'import nacl.signing, secret_handshake.network, zeroconf' 2>/dev/null; }

if works; then
  echo "The interop venv is ready ($venv)."
  exit 0
fi

# A venv whose python runs is kept (pip skips what it already holds); anything else is remade.
if ! { [ -x "$python" ] && "$python" -c '' 2>/dev/null; }; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 makes venvs only with python3-venv installed.
    rm -rf "$venv"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    /usr/bin/python3 -m venv "$venv"
  fi
fi
"$python" -m pip install --quiet --disable-pip-version-check --no-deps secret-handshake==0.1.0.dev3
# pip then warns that secret-handshake wants pynacl==1.1.2: expected.
"$python" -m pip install --quiet --disable-pip-version-check pynacl==1.6.2 async-generator==1.8
"$python" -m pip install --quiet --disable-pip-version-check zeroconf==0.154.0 ifaddr==0.2.0

if ! works; then
  echo "The interop venv at $venv was made but cannot import secret_handshake, nacl and zeroconf." >&2
  exit 1
fi
echo "The interop venv is ready ($venv)."
