#!/usr/bin/env bash
# make soak: every reliability check at the volume issue #18 sets, unattended (hours), one
# summary table at the end, non-zero exit on any loss, mismatch, silent failure or crash.
# SOAK_SCALE=N divides every volume by N (SOAK_SCALE=100 is a few minutes: a smoke run of the
# plumbing, not a figure). Seeds are printed in the logs under $out for replay.
#
#   kill -9 cycles (kvcrash drive)             1,000 cycles
#   randomized model operations (20 seeds)     2,000,000
#   simulated power cuts                       10,000 (KV_RELIABILITY_TRIALS=10000)
#   injected I/O faults                        5,000 trials (2,500)
#   corruption cases, all file and damage kinds  about 20,800 (1,700)
#   kill -9 of kvserver under client processes  100 kills per fsync policy (always, everysec)
#   linearizability across kills              40 kills in 120 s of GET/SET/INCR/CAS
#   Sentinel failovers (3 sentinels, primary + 2 replicas, WAIT 1 writes)   10 SIGKILLs
#   damaged block in a store                   2,048 MiB
#   full disk (RLIMIT_FSIZE)                   the WAL, a table, the server
#   libFuzzer per decoder (wal manifest table block resp)   10,000,000 executions each, in one
#     worker per core (2026-12-01 here: manifest 11 minutes, block 9, table 19, wal about an
#     hour, resp 81 minutes on two workers: from about 3,600 inputs a second each down to 700)
set -uo pipefail
cd "$(dirname "$0")/../.."
scale=${SOAK_SCALE:-1}
out=$(mktemp -d /tmp/kvsoak-XXXXXX)
cycles=$(( 1000 / scale )); (( cycles < 2 )) && cycles=2
model_ops=$(( 100000 / scale )); (( model_ops < 1000 )) && model_ops=1000
seeds=20; (( scale > 1 )) && seeds=2
fuzz_runs=$(( 10000000 / scale ))
failed=0
rows=()
# Each row is also printed and appended to $out/summary.md as its check ends, so a run cut
# short still reports what it finished.
row() {
  rows+=("| $1 | $2 | $3 |")
  echo "| $1 | $2 | $3 |" | tee -a "$out/summary.md" >&2
}

echo "soak: logs in $out (scale 1/$scale)" >&2

# The model test over many seeds, and the reliability trials, from one test build.
swift build --build-tests >/dev/null || exit 1
total=0; bad=0
for i in $(seq 1 "$seeds"); do
  seed=$(( (RANDOM << 15 | RANDOM) + i ))
  if KV_SEED=$seed KV_MODEL_OPS=$model_ops swift test --skip-build --filter 'modelBasedRandomizedOperations' > "$out/model-$seed.log" 2>&1; then
    total=$(( total + model_ops ))
  else
    bad=$(( bad + 1 )); failed=1; echo "model test failed: seed $seed (log $out/model-$seed.log)" >&2
  fi
done
row "randomized model operations" "$total operations over $seeds seeds, $bad failing seeds" "$([ $bad = 0 ] && echo ok || echo FAILED)"

# Each reliability test at its own volume: a trial is one power cut, two I/O-fault trials, or
# about twelve corruption cases (one per file kind and damage kind).
reliability() {  # name filter trials pattern
  if KV_RELIABILITY_TRIALS=$3 swift test --skip-build --filter "$2" > "$out/$2.log" 2>&1; then v=ok; else v=FAILED; failed=1; fi
  row "$1" "$(grep -o "$4[^;]*" "$out/$2.log" | tail -1)" $v
}
reliability "simulated power cuts" powerCutsDuringFlushesAndCompactions $(( 10000 / scale )) 'power cuts simulated: .*'
reliability "injected I/O faults" ioFailuresTurnTheStoreReadOnly $(( 2500 / scale )) 'I/O fault trials with a fault injected: .*'
reliability "corruption cases" damagedFilesAreDetectedOrHarmless $(( 1700 / scale )) 'corruption cases tried: '

# Issue #18's new checks at volume: kill -9 of kvserver under client processes (redis-py),
# both fsync policies; linearizability across kills; a 2 GB store with a damaged block; a full
# disk (RLIMIT_FSIZE) on the library and the server.
server_kills=$(( 100 / scale )); (( server_kills < 2 )) && server_kills=2
if KV_SERVER_KILLS=$server_kills bash Tools/clients/run.sh Tests/clients/test_server_kill.py -s > "$out/server-kill.log" 2>&1; then v=ok; else v=FAILED; failed=1; fi
row "kill -9 of kvserver under client processes" "$(grep -o 'server kill test: [0-9]* kills, .*' "$out/server-kill.log" | paste -sd ';' -)" $v
lin_kills=$(( 40 / scale )); (( lin_kills < 2 )) && lin_kills=2
lin_seconds=$(( 120 / scale )); (( lin_seconds < 6 )) && lin_seconds=6
if KV_LIN_KILLS=$lin_kills KV_LIN_SECONDS=$lin_seconds bash Tools/clients/run.sh Tests/clients/test_linearizability.py -s > "$out/linearizability.log" 2>&1; then v=ok; else v=FAILED; failed=1; fi
row "linearizability across kills" "$(grep -o 'history: .*' "$out/linearizability.log" | tail -1)" $v
failovers=$(( 10 / scale )); (( failovers < 2 )) && failovers=2
if KV_FAILOVERS=$failovers bash Tools/clients/run.sh Tests/clients/test_failover.py -s > "$out/failover.log" 2>&1; then v=ok; else v=FAILED; failed=1; fi
row "Sentinel failovers under WAIT 1 writes (SIGKILL of the primary)" "$(grep -o 'failover test: .*' "$out/failover.log" | tail -1)" $v
damaged_mb=$(( 2048 / scale )); (( damaged_mb < 32 )) && damaged_mb=32
if KV_DAMAGED_STORE_MB=$damaged_mb swift test --skip-build --filter 'DamagedStoreTests' > "$out/damaged.log" 2>&1; then v=ok; else v=FAILED; failed=1; fi
row "damaged block in a $damaged_mb MiB store" "$(grep -o 'DamagedStoreTests: .*' "$out/damaged.log" | tail -1)" $v
if swift test --skip-build --filter 'FullDiskTests|ServerFullDiskTests' > "$out/full-disk.log" 2>&1; then v=ok; else v=FAILED; failed=1; fi
row "full disk (RLIMIT_FSIZE): WAL, table, server" "$(grep -cE '✔ Test .*(FileSizeLimit|FullDisk)' "$out/full-disk.log") tests passed" $v

# kill -9 cycles against the journaled multi-threaded stress process.
swift build -c release --product kvcrash >/dev/null || exit 1
if .build/release/kvcrash drive --dir "$out/crash" --cycles "$cycles" --duration 3 > "$out/crash.log" 2>&1; then
  row "kill -9 cycles" "$(grep -o 'crash test passed: .*' "$out/crash.log" | tail -1)" ok
else
  failed=1; row "kill -9 cycles" "$(tail -1 "$out/crash.log")" FAILED
fi
rm -rf "$out/crash"

# libFuzzer, each decoder for fuzz_runs executions; a crash, a timeout or a looped walk fails it.
if make --no-print-directory fuzz FUZZ_RUNS="$fuzz_runs" FUZZ_JOBS="$(nproc)" > "$out/fuzz.log" 2>&1; then verdict=ok; else verdict=FAILED; failed=1; fi
for t in wal manifest table block resp; do
  done_line=$(awk -v t="$t" '/^== fuzzing/ {cur=$3} cur==t && /^Done/ {print $2 " executions in " $5 " s"}' "$out/fuzz.log" | tail -1)
  row "libFuzzer: $t" "${done_line:-no Done line (see fuzz.log)}" $verdict
done

echo
echo "| check | result | verdict |"
echo "| --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo "logs: $out"
exit $failed
