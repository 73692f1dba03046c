#!/usr/bin/env bash
# Fuzzes MeetKit's parsers with libFuzzer (Tests/Fuzz/README.md).
#
#   Tests/Fuzz/fuzz.sh [--seconds S | --runs N] [--save-corpus] [TARGET...]
#
# Builds meetkit-fuzz optimized, with -sanitize=fuzzer,address (in .build-fuzz/sanitizer, or
# $MEETKIT_FUZZ_SCRATCH) and fuzzes each target (all by default) for S seconds (default 60) or
# N inputs. The seed corpus in corpus/TARGET is only read, unless --save-corpus lets the new
# inputs go there. A crash is saved as crashes/TARGET/crash-*. Prints one line per target,
# "fuzz: TARGET inputs N crashes N coverage C" (C: code edges reached), and exits non-zero if
# any target crashed, or if the binary came out without coverage instrumentation.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$fuzz_dir/../.." && pwd)"
scratch="${MEETKIT_FUZZ_SCRATCH:-$root/.build-fuzz/sanitizer}"
limit=(-max_total_time=60)
save_corpus=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --save-corpus) save_corpus=1; shift ;;
    -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(frame handshake wire entry bundle advert membership)

# The longest input worth trying: a little over what each target's deepest path reads.
max_len() {
  case "$1" in
    frame) echo 9000 ;;        # two full packets
    handshake) echo 400 ;;     # three messages of at most 112 bytes
    wire|bundle) echo 4096 ;;  # a handful of entries
    entry) echo 2048 ;;        # a header and a body of any kind's content
    advert) echo 512 ;;        # a TXT record or an invite code
    membership) echo 1024 ;;   # a script of up to 48 operations, most of a few bytes
    *) echo "fuzz.sh: unknown target $1" >&2; exit 2 ;;
  esac
}
for target in "${targets[@]}"; do max_len "$target" >/dev/null; done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# SwiftPM's --sanitize=fuzzer links libFuzzer's main, but '--sanitize=fuzzer --sanitize=address'
# reaches the compiler as two -sanitize= flags, of which only the last counts: the code came out
# without coverage instrumentation, and libFuzzer mutated blind. One combined flag after them
# instruments for both; every run below checks that coverage was loaded.
build=(swift build --package-path "$root" --scratch-path "$scratch" --product meetkit-fuzz
  --configuration release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DMEETKIT_FUZZ)
echo "fuzz: building meetkit-fuzz with libFuzzer and AddressSanitizer"
if ! "${build[@]}" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  exit 2
fi
binary="$("${build[@]}" --show-bin-path)/meetkit-fuzz"

crashed=0
for target in "${targets[@]}"; do
  corpus="$fuzz_dir/corpus/$target"
  crashes="$fuzz_dir/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  # libFuzzer adds new inputs to the first directory it is given.
  if [ "$save_corpus" -eq 1 ]; then dirs=("$corpus"); else dirs=("$work/$target" "$corpus"); mkdir -p "$work/$target"; fi
  status=0
  MEETKIT_FUZZ_TARGET="$target" SWIFT_BACKTRACE=enable=no \
    "$binary" "${limit[@]}" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${dirs[@]}" >"$work/$target.log" 2>&1 || status=$?
  inputs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -1)"
  coverage="$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$work/$target.log" | tail -1)"
  if ! grep -q "inline 8-bit counters" "$work/$target.log"; then
    echo "fuzz: $target: the binary has no coverage instrumentation; the fuzzer would be blind" >&2
    exit 2
  fi
  saved="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/$target.log")"
  count=0
  if [ "$status" -ne 0 ]; then
    count=1
    crashed=1
    tail -n 60 "$work/$target.log" >&2
    [ -z "$saved" ] || echo "fuzz: $target: saved $saved" >&2
  fi
  echo "fuzz: $target inputs ${inputs:-0} crashes $count coverage ${coverage:-0}"
done
exit "$crashed"
