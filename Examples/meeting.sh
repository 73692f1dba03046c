#!/usr/bin/env bash
# Sets everything up and stages a meeting of four members, each on a host of their own:
# installs the Debian packages, builds meetkit, and builds a small network on this machine
# (Tests/Lab/lab.sh: four network namespaces on a bridge, each with its own avahi-daemon, as
# four phones on a hall's Wi-Fi). Ana founds a group and runs her node; Ben, Cy and Dee join
# with invite codes, their nodes finding hers by DNS-SD, and Ben and Cy run nodes of their
# own. No address is typed anywhere. They meet, share and check in (Cy once for Ana only),
# every entry reaching every running member's log at once. Dee, whose node was off, catches
# up afterwards by an encrypted bundle file. Each member's log digest is compared, and the
# data directories and the bundle are searched for anything readable without a passphrase.
# Everything is torn down at the end.
#
# Usage: sudo ./Examples/meeting.sh [--keep]   (--keep leaves the demo's data directories)
# Needs root for the network namespaces; nothing outside them is touched. With MEETKIT set to
# a built meetkit, it uses that and skips installing and building (the tests run it so).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${MEETKIT:-}" ]; then
  meetkit=$MEETKIT
else
  bash Examples/install-dependencies.sh
  echo "Building meetkit (the first build takes a few minutes)..."
  swift build --product meetkit 2>&1 | grep -E "error|warning: |Build complete" || true
  meetkit="$PWD/.build/debug/meetkit"
fi
[ -x "$meetkit" ] || { echo "The build failed; run 'swift build' to see why." >&2; exit 1; }

lab=demo$((RANDOM % 100))
declare -A host=([ana]=h1 [ben]=h2 [cy]=h3 [dee]=h4)
demo=$(mktemp -d /tmp/meetkit-demo.XXXXXX)
cleanup() {
  Tests/Lab/lab.sh down "$lab" || true   # stops the members' nodes too
  [ "${keep:-}" = yes ] || rm -rf "$demo"
}
[ "${1:-}" = "--keep" ] && keep=yes
trap cleanup EXIT
export MEETKIT_PASSPHRASE="a demo passphrase, use your own"

echo "Making four hosts on one network, each with its own avahi-daemon..."
Tests/Lab/lab.sh up "$lab" 4

# Runs meetkit on a member's host, in their data directory.
on() {
  local who=$1; shift
  MEETKIT_HOME="$demo/$who" Tests/Lab/lab.sh exec "$lab" "${host[$who]}" "$meetkit" "$@"
}

# Shows each command as a member would type it, then runs it.
as() {
  local who=$1; shift
  printf '\n\033[1m%s$ meetkit' "$who"; printf ' %q' "$@"; printf '\033[0m\n'
  on "$who" "$@"
}

# Starts a member's node in the background, on their host; it advertises itself by DNS-SD.
start_node() {
  local who=$1
  printf '\n\033[1m%s$ meetkit run &\033[0m\n' "$who"
  MEETKIT_HOME="$demo/$who" Tests/Lab/lab.sh spawn "$lab" "${host[$who]}" "$demo/$who.log" "$meetkit" run >/dev/null
  for _ in $(seq 100); do
    grep -q "advertising" "$demo/$who.log" 2>/dev/null && return
    sleep 0.1
  done
  echo "The node of $who did not start advertising; see $demo/$who.log" >&2
  exit 1
}

digest() { on "$1" status --json | sed -n 's/^  "digest" : "\(.*\)",/\1/p'; }

as ana init --name Ana --kdf interactive
as ana group create "Tuesday Circle"
start_node ana

for who in ben cy dee; do
  name=$(tr '[:lower:]' '[:upper:]' <<< "${who:0:1}")${who:1}
  as "$who" init --name "$name" --kdf interactive
  code=$(on ana group invite | tail -1)
  printf '\n(Ana gives %s an invite code in person: %s…)\n' "$name" "${code:0:24}"
  printf '\n\033[1m%s$ meetkit group join -\033[0m   (pastes the code; the node finds a member by DNS-SD)\n' "$who"
  on "$who" group join - <<< "$code"
  # Dee joins, but her node stays off: she misses the meeting and catches up by USB stick.
  [ "$who" = dee ] || start_node "$who"
done
sleep 2
sleep 1

as ana meeting start --topic "Asking for help"
sleep 0.5
as ben checkin --mood 3 --days 41 --note "A hard week at work, but I came."
as cy share "I called my sponsor instead of going to the pub. It worked."
as ana checkin --mood 2 --support --note "Money worries; could use a call this week."
as cy checkin --mood 2 --note "Cravings at night again." --to Ana   # for Ana, Cy's partner, only
as ana meeting end

printf '\n\033[1mEvery member holds the same log (digests):\033[0m\n'
for _ in $(seq 50); do
  [ "$(digest ana)" = "$(digest ben)" ] && [ "$(digest ben)" = "$(digest cy)" ] && break
  sleep 0.2
done
for who in ana ben cy; do echo "  $who: $(digest "$who")"; done
[ "$(digest ana)" = "$(digest ben)" ] && [ "$(digest ben)" = "$(digest cy)" ]

printf '\n\033[1mDee missed the meeting; her node never ran. She catches up by bundle:\033[0m\n'
vector=$(on dee status --vector)
as dee status --vector
as ana export "$demo/for-dee.mkb" --since "$vector"   # onto the USB stick; encrypted for the group
as dee import "$demo/for-dee.mkb"
echo "  dee: $(digest dee)"
[ "$(digest dee)" = "$(digest ana)" ]

as ben log        # Ben sees that Cy checked in for Ana, not what Cy said
as ana peers
as ben verify

Tests/Lab/lab.sh down "$lab"

printf '\n\033[1mWhat a thief would find in the data directories without the passphrases:\033[0m\n'
hits=0
for secret in Ana Ben "Tuesday Circle" sponsor "Money worries" Cravings; do
  if grep -rqa -- "$secret" "$demo"/ana "$demo"/ben "$demo"/cy "$demo"/dee "$demo"/for-dee.mkb; then
    echo "  found: $secret"
    hits=$((hits + 1))
  fi
done
echo "  $hits of 6 names and texts readable (expected 0)."
[ "$hits" -eq 0 ]
[ "${keep:-}" != yes ] || echo "Data directories kept in $demo"
