#!/usr/bin/env bash
# Sets everything up and stages a meeting of three members on this machine: installs the
# Debian packages, builds meetkit, then Ana founds a group and runs her node; Ben and Cy join
# with invite codes through it and run nodes of their own; they meet, share and check in,
# every entry reaching every member's own log at once; finally each member's log digest is
# compared, and the data directories are searched for anything readable without a passphrase.
#
# Usage: ./Examples/meeting.sh [--keep]     (--keep leaves the demo's data directories behind)
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Examples/install-dependencies.sh
echo "Building meetkit (the first build takes a few minutes)..."
swift build --product meetkit 2>&1 | grep -E "error|warning: |Build complete" || true
meetkit="$PWD/.build/debug/meetkit"
[ -x "$meetkit" ] || { echo "The build failed; run 'swift build' to see why." >&2; exit 1; }

demo=$(mktemp -d /tmp/meetkit-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ "${keep:-}" = yes ] || rm -rf "$demo"
}
[ "${1:-}" = "--keep" ] && keep=yes
trap cleanup EXIT
export MEETKIT_PASSPHRASE="a demo passphrase, use your own"

# Shows each command as a member would type it, then runs it in that member's data directory.
as() {
  local who=$1; shift
  printf '\n\033[1m%s$ meetkit' "$who"; printf ' %q' "$@"; printf '\033[0m\n'
  MEETKIT_HOME="$demo/$who" "$meetkit" "$@"
}

# Starts a member's node in the background and sets $port to the port it listens on.
start_node() {
  local who=$1; shift
  MEETKIT_HOME="$demo/$who" "$meetkit" run --listen 127.0.0.1:0 "$@" >/dev/null 2>"$demo/$who.log" &
  pids+=($!)
  for _ in $(seq 100); do
    port=$(sed -n 's/.*address=127\.0\.0\.1:\([0-9]*\).*listening.*/\1/p' "$demo/$who.log" | head -1)
    [ -n "$port" ] && return
    sleep 0.1
  done
  echo "The node of $who did not start; see $demo/$who.log" >&2
  exit 1
}

digest() { MEETKIT_HOME="$demo/$1" "$meetkit" status --json | sed -n 's/^  "digest" : "\(.*\)",/\1/p'; }

as ana init --name Ana --kdf interactive
as ana group create "Tuesday Circle"
start_node ana
ana_port=$port
echo "(Ana's node listens on 127.0.0.1:$ana_port)"

for who in ben cy; do
  name=$(tr '[:lower:]' '[:upper:]' <<< "${who:0:1}")${who:1}
  as "$who" init --name "$name" --kdf interactive
  code=$(MEETKIT_HOME="$demo/ana" "$meetkit" group invite | tail -1)
  printf '\n(Ana gives %s an invite code in person: %s…)\n' "$name" "${code:0:24}"
  as "$who" group join "$code" --peer "127.0.0.1:$ana_port"
  start_node "$who" --peer "127.0.0.1:$ana_port"
done
sleep 1

as ana meeting start --topic "Asking for help"
sleep 0.5
as ben checkin --mood 3 --days 41 --note "A hard week at work, but I came."
as cy share "I called my sponsor instead of going to the pub. It worked."
as ana checkin --mood 2 --support --note "Money worries; could use a call this week."
as ana meeting end

printf '\n\033[1mEvery member holds the same log (digests):\033[0m\n'
for _ in $(seq 50); do
  [ "$(digest ana)" = "$(digest ben)" ] && [ "$(digest ben)" = "$(digest cy)" ] && break
  sleep 0.2
done
for who in ana ben cy; do echo "  $who: $(digest "$who")"; done
[ "$(digest ana)" = "$(digest ben)" ] && [ "$(digest ben)" = "$(digest cy)" ]

as cy log
as ana peers
as ben verify

for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()

printf '\n\033[1mWhat a thief would find in the data directories without the passphrases:\033[0m\n'
hits=0
for secret in Ana Ben "Tuesday Circle" sponsor "Money worries"; do
  if grep -rqa -- "$secret" "$demo"/ana "$demo"/ben "$demo"/cy; then echo "  found: $secret"; hits=$((hits + 1)); fi
done
echo "  $hits of 5 names and texts readable (expected 0)."
[ "$hits" -eq 0 ]
[ "${keep:-}" != yes ] || echo "Data directories kept in $demo"
