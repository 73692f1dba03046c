#!/usr/bin/env bash
# One table of what the fault and attack tests measure: fuzzing, kill -9 and power loss,
# disk faults, partitions, floods and hostile peers, and what a capture of a meeting or a
# copied data directory reveals.
#
#   Tests/figures.sh           runs those tests CI-sized (about 5 minutes), then prints the table
#   Tests/figures.sh --long    the long versions (MEETKIT_LONG=1, about 40 minutes), then the table
#   Tests/figures.sh --print   prints what the last `swift test` recorded, without running
#
# The figures go to $MEETKIT_FIGURES, by default .build/figures.tsv.
#
# Needs root, like the lab tests it runs. Exits non-zero if a test failed (the table is
# printed either way, and shows what was measured before the failure).
set -euo pipefail
cd "$(dirname "$0")/.."

file="${MEETKIT_FIGURES:-$PWD/.build/figures.tsv}"
suites='Fuzz|CrashTests|ResumeTests|PowerLoss|DiskFault|Partition|FloodTests|HostilePeerTests|Capture'

table() {
  [ -s "$file" ] || { echo "No figures recorded in $file."; return; }
  # Rows are area, figure, value, run (ci or long); the newest value of each wins.
  awk -F'\t' '
    BEGIN { split("fuzz crash power-loss disk partition flood hostile-peers privacy", order, " ")
            for (i in order) { gsub("-", " ", order[i]); rank[order[i]] = i } }
    { key = $1 FS $2 FS $4
      if (!(key in value)) { keys[++n] = key; area[key] = $1; first[key] = n }
      value[key] = $3 }
    END {
      for (i = 1; i <= n; i++) sorted[i] = keys[i]
      for (i = 2; i <= n; i++) for (j = i; j > 1; j--) {
        a = sorted[j - 1]; b = sorted[j]
        ra = (area[a] in rank) ? rank[area[a]] : 99; rb = (area[b] in rank) ? rank[area[b]] : 99
        if (ra > rb || (ra == rb && first[a] > first[b])) { sorted[j - 1] = b; sorted[j] = a } else break
      }
      print "| area | figure | value | run |"
      print "|---|---|---|---|"
      for (i = 1; i <= n; i++) { split(sorted[i], f, FS); printf "| %s | %s | %s | %s |\n", f[1], f[2], value[sorted[i]], f[3] }
    }' "$file"
}

case "${1:-}" in
  --print) table; exit 0 ;;
  --long) export MEETKIT_LONG=1 ;;
  "") ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

mkdir -p "$(dirname "$file")"
rm -f "$file"
export MEETKIT_FIGURES="$file"
status=0
swift test --filter "$suites" || status=$?
table
exit "$status"
