#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz` (.build-fuzz/release/kvfuzz), one after the
# other, each from its committed corpus (Tests/FuzzCorpus/<target>) plus what earlier runs
# found (.build-fuzz/corpus/<target>, where new inputs go).
#
#   Tools/fuzz/run.sh --runs N [--jobs J] [TARGET...]     N executions per target
#   Tools/fuzz/run.sh --seconds S [--jobs J] [TARGET...]  S seconds per target
#
# With --jobs J, J independent workers share each target's volume (N/J executions each, or S
# seconds each) and its output corpus: on two cores the server target `resp` starts near 3,600
# inputs a second a process and slows to about 700 as its inputs grow, so 10M executions took
# two workers 81 minutes (2026-12-01) where one worker needs about twice that. Each target ends with one line
#   Done <executions> runs in <seconds> second(s) [(J workers)]
# which `make soak` reads. Exits non-zero on the first crash, timeout, leak or trap; the input
# is in .build-fuzz/artifacts (add it to Tests/FuzzCorpus/<target>/ as a regression input).
set -uo pipefail
cd "$(dirname "$0")/../.."
runs="" seconds="" jobs=1 targets=()
while (( $# )); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ -n $runs || -n $seconds ]] || { echo "usage: $0 --runs N | --seconds S [--jobs J] [TARGET...]" >&2; exit 2; }
(( ${#targets[@]} )) || targets=(wal manifest table block resp)
bin=.build-fuzz/release/kvfuzz
[[ -x $bin ]] || { echo "$bin is missing: build it with make fuzz" >&2; exit 2; }

for t in "${targets[@]}"; do
  mkdir -p ".build-fuzz/corpus/$t" .build-fuzz/artifacts .build-fuzz/logs
  echo "== fuzzing $t for ${runs:+$runs runs}${seconds:+$seconds s}$( (( jobs > 1 )) && echo " ($jobs workers)")"
  # The resp target keeps one server across inputs on purpose (more states reached), which
  # LeakSanitizer takes for a leak after every input; its scans were two thirds of the time.
  leaks=-detect_leaks=1; [[ $t == resp ]] && leaks=-detect_leaks=0
  if [[ -n $runs ]]; then volume=-runs=$(( (runs + jobs - 1) / jobs )); else volume=-max_total_time=$seconds; fi
  start=$(date +%s) pids=()
  for (( w = 1; w <= jobs; w++ )); do
    SWIFT_BACKTRACE=enable=no KVFUZZ_TARGET=$t $bin $leaks $volume -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=".build-fuzz/artifacts/$t-" ".build-fuzz/corpus/$t" "Tests/FuzzCorpus/$t" \
      > ".build-fuzz/logs/$t-$w.log" 2>&1 &
    pids+=($!)
  done
  status=0
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  total=0
  for (( w = 1; w <= jobs; w++ )); do
    log=.build-fuzz/logs/$t-$w.log
    grep -E "ERROR|SUMMARY|crash|Test unit" "$log"
    n=$(awk '/^Done/ {print $2}' "$log"); total=$(( total + ${n:-0} ))
    (( jobs > 1 )) && echo "worker $w: $(grep '^Done' "$log" || echo 'no Done line')"
  done
  if (( status )); then echo "fuzzing $t failed: logs in .build-fuzz/logs/$t-*.log" >&2; exit 1; fi
  echo "Done $total runs in $(( $(date +%s) - start )) second(s)$( (( jobs > 1 )) && echo " ($jobs workers)")"
done
