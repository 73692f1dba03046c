#!/usr/bin/env bash
# Installs the independent Secret Handshake implementation that the interoperability tests
# (Tests/MeetKitInteropTests) run against MeetKit's node: PyPI `secret-handshake` 0.1.0.dev3
# with PyNaCl, in a venv at .venv-interop in the repository. Idempotent: a venv that already
# imports both is left alone. Needs python3 with venv (Debian: python3-venv) and PyPI.
#
# The library pins pynacl==1.1.2, which has no wheel for Python 3.11 and does not build, so it
# is installed without its dependencies and a PyNaCl that works is installed beside it (its
# own unit tests pass that way).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv-interop
python="$venv/bin/python3"

works() { [ -x "$python" ] && "$python" -c 'import nacl.signing, secret_handshake.network' 2>/dev/null; }

if works; then
  echo "The interop venv is ready ($venv)."
  exit 0
fi

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
"$python" -m pip install --quiet --disable-pip-version-check --no-deps secret-handshake==0.1.0.dev3
# pip then warns that secret-handshake wants pynacl==1.1.2: expected.
"$python" -m pip install --quiet --disable-pip-version-check pynacl==1.6.2 async-generator==1.8

if ! works; then
  echo "The interop venv at $venv was made but cannot import secret_handshake and nacl." >&2
  exit 1
fi
echo "The interop venv is ready ($venv)."
