#!/usr/bin/env bash
# Sets everything up and stages a meeting on this machine: installs the Debian packages,
# builds meetkit, then a member founds a group, opens a meeting, shares and checks in,
# closes the meeting and reads the log back. Finally it shows that the data directory holds
# nothing readable without the passphrase.
#
# Usage: ./Examples/meeting.sh [--keep]     (--keep leaves the demo's data directory behind)
set -euo pipefail
cd "$(dirname "$0")/.."

bash Examples/install-dependencies.sh
echo "Building meetkit (the first build takes a minute or two)..."
swift build --product meetkit 2>&1 | grep -E "error|warning|Compiling meetkit|Build complete" || true
meetkit="$PWD/.build/debug/meetkit"
[ -x "$meetkit" ] || { echo "The build failed; run 'swift build' to see why." >&2; exit 1; }

demo=$(mktemp -d /tmp/meetkit-demo.XXXXXX)
[ "${1:-}" = "--keep" ] || trap 'rm -rf "$demo"' EXIT
export MEETKIT_HOME="$demo/ana"
export MEETKIT_PASSPHRASE="a demo passphrase, use your own"

# Shows each command as a user would type it, then runs it.
step() { printf '\n\033[1m$ meetkit'; printf ' %q' "${@:2}"; printf '\033[0m\n'; "$@"; }

step "$meetkit" init --name Ana --kdf interactive
step "$meetkit" group create "Tuesday Circle"
step "$meetkit" meeting start --topic "Asking for help"
step "$meetkit" checkin --mood 3 --days 41 --note "A hard week at work, but I came."
step "$meetkit" share "I called my sponsor instead of going to the pub. It worked."
step "$meetkit" checkin --mood 2 --support --note "Money worries; could use a call this week."
step "$meetkit" meeting end
step "$meetkit" log
step "$meetkit" status
step "$meetkit" verify

printf '\n\033[1mWhat a thief would find in %s without the passphrase:\033[0m\n' "$MEETKIT_HOME"
member=$("$meetkit" status --json | sed -n 's/.*"member" : "\(.*\)".*/\1/p')
hits=0
for secret in Ana "Tuesday Circle" sponsor "Money worries" "$member"; do
  if grep -rqa -- "$secret" "$MEETKIT_HOME"; then echo "  found: $secret"; hits=$((hits + 1)); fi
done
echo "  $hits of 5 names, texts and keys readable (expected 0)."
[ "$hits" -eq 0 ]
[ "${1:-}" != "--keep" ] || echo "Data directory kept at $MEETKIT_HOME"
