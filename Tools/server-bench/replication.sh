#!/usr/bin/env bash
# Issue #28's replication-under-load rows on release kvservers (make replication-bench):
#
# 1. Throughput with a replica: redis-benchmark -t set -n REQUESTS -r 1000000 -d 100 -c 50
#    -P 16 against a primary alone and against a primary with one replica attached, alternating,
#    ROUNDS rounds: medians and the ratio (bar: >= 0.8). While the replica is attached its lag
#    (the primary's offset minus the replica's, in bytes) is sampled every 100 ms: the largest,
#    and the lag left when the benchmark ends.
# 2. A full synchronisation of a SYNC_MB store (kvbench fillseq: distinct keys, 1,000-byte
#    values that do not compress): the time from the replica's start until its link is up at
#    the primary's offset, and the primary's GET latency meanwhile (kvbench readrandom of stored
#    keys, 50 connections, no pipelining, 10,000 per run, in a loop: p50/p99/max of each run) against the same
#    GETs with no sync running.
#
# All processes share this machine's cores: the replica's work competes with the primary's and
# the benchmark's, as it would not on separate machines.
# Usage: Tools/server-bench/replication.sh [ROUNDS] [REQUESTS] [SYNC_MB]   (ROUNDS 0: the sync only)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
requests=${2:-1000000}
sync_mb=${3:-2048}
bin=.build/release/kvserver
[ -x "$bin" ] || { echo "replication.sh: build the release binary first (make release)" >&2; exit 2; }
work=$(mktemp -d /tmp/replication-bench-XXXXXX)
pport=6401
rport=6402
trap 'redis-cli -p $pport shutdown nosave >/dev/null 2>&1 || true; redis-cli -p $rport shutdown nosave >/dev/null 2>&1 || true; sleep 1; rm -rf "$work"' EXIT

# shellcheck source=servers.sh
. Tools/server-bench/servers.sh
start() {  # port dir [args…]
  local port=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  "$bin" --port "$port" --dir "$dir" --fsync everysec --loglevel warning "$@" >>"$dir.log" 2>&1 &
  wait_ready "$port"
}
stop() { redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true; sleep 0.5; }
field() {  # port name
  redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v n="$2" '$1 == n { print $2 }'
}
wait_synced() {  # replica port: link up at the primary's offset
  for _ in $(seq 1 36000); do
    if [ "$(field "$rport" master_link_status)" = up ] && [ "$(field "$rport" slave_repl_offset)" = "$(field "$pport" master_repl_offset)" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "replica did not synchronise" >&2
  exit 1
}
sets() {  # port → requests per second
  redis-benchmark -p "$1" -t set -n "$requests" -r 1000000 -d 100 -c 50 -P 16 -q --csv | awk -F'"' '/^"SET"/ { print $4 }'
}

echo "== 1. SET -P16 throughput, primary alone vs with one replica ($rounds rounds, $requests requests)"
alone=(); with=(); lags=()
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order="alone with"; else order="with alone"; fi
  for mode in $order; do
    rm -rf "$work/p" "$work/r"
    start "$pport" "$work/p"
    if [ "$mode" = alone ]; then
      rps=$(sets "$pport")
      alone+=("$rps")
      echo "round $round alone: $rps SET/s"
    else
      start "$rport" "$work/r" --replicaof "127.0.0.1 $pport"
      wait_synced
      : >"$work/lag"
      # The replica's offset first: read second, the primary's can only be as far or further.
      ( while :; do
          r=$(field "$rport" slave_repl_offset)
          echo $(( $(field "$pport" master_repl_offset) - r )) >>"$work/lag"
          sleep 0.1
        done ) &
      sampler=$!
      rps=$(sets "$pport")
      kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
      end_lag=$(( $(field "$pport" master_repl_offset) - $(field "$rport" slave_repl_offset) ))
      max_lag=$(sort -n "$work/lag" | tail -1)
      with+=("$rps"); lags+=("$max_lag")
      echo "round $round with a replica: $rps SET/s; replica lag max $max_lag bytes over $(wc -l <"$work/lag") samples, $end_lag at the end"
      wait_synced
      stop "$rport"
    fi
    stop "$pport"
  done
done
[ "$rounds" -eq 0 ] || python3 - "${alone[*]}" "${with[*]}" "${lags[*]}" <<'PY'
import statistics, sys
alone = [float(x) for x in sys.argv[1].split()]
with_ = [float(x) for x in sys.argv[2].split()]
lags = [int(x) for x in sys.argv[3].split()]
a, w = statistics.median(alone), statistics.median(with_)
print(f"median SET -P16: alone {a:,.0f}/s, with a replica {w:,.0f}/s: ratio {w / a:.2f} (bar 0.80); largest lag {max(lags):,} bytes")
PY

echo "== 2. full synchronisation of a ${sync_mb} MB store, GET latency on the primary meanwhile"
rm -rf "$work/p" "$work/r"
start "$pport" "$work/p"
n=$(( sync_mb * 1024 * 1024 / 1000 ))
# kvbench's fillseq: n distinct keys, 1,000-byte values that do not compress (the store is as
# large on disk as in the sum of its values).
.build/release/kvbench --server=127.0.0.1:$pport --benchmarks=fillseq --num=$n --value_size=1000 --compression_ratio=1 \
  --connections=50 --pipeline=16 | grep '^fillseq'
echo "primary: $(redis-cli -p "$pport" dbsize) keys, $(du -sm "$work/p" | cut -f1) MB on disk"
# Runs of 10,000 GETs (about a fifth of a second each): a full sync takes seconds, and a run cut
# off by the sync's end reports nothing.
gets() {  # → "p50 p99 max" (ms) of one run of 10,000 GETs of stored keys, 50 connections, no pipelining
  .build/release/kvbench --server=127.0.0.1:$pport --benchmarks=readrandom --num=$n --reads=10000 --connections=50 --pipeline=1 \
    | awk '/^readrandom/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.3f %.3f %.3f\n", v["p50"] / 1000, v["p99"] / 1000, v["max"] / 1000 }'
}
echo "GET with no sync running, five runs (p50 p99 max ms): $(for _ in 1 2 3 4 5; do echo -n "$(gets); "; done)"
began=$(date +%s.%N)
mkdir -p "$work/r"
"$bin" --port "$rport" --dir "$work/r" --fsync everysec --loglevel warning --replicaof "127.0.0.1 $pport" >>"$work/r.log" 2>&1 &
# Up once it answers at all (PING answers LOADING while the snapshot loads).
for _ in $(seq 1 300); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
: >"$work/gets"
( while :; do gets >>"$work/gets"; done ) &
getter=$!
wait_synced
ended=$(date +%s.%N)
kill "$getter" 2>/dev/null; wait "$getter" 2>/dev/null || true
echo "full sync: $(python3 -c "print(f'{$ended - $began:.1f}')") s from the replica's start; replica: $(redis-cli -p "$rport" dbsize) keys, $(du -sm "$work/r" | cut -f1) MB on disk"
echo "GET during the sync, one line per 10,000-GET run (p50 p99 max ms):"
cat "$work/gets"
python3 - "$work/gets" <<'PY'
import sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1]) if len(l.split()) == 3]
if rows:
    print(f"GET p99 during the sync: median of runs {sorted(r[1] for r in rows)[len(rows) // 2]:.3f} ms, worst run {max(r[1] for r in rows):.3f} ms; worst max {max(r[2] for r in rows):.3f} ms ({len(rows)} runs)")
PY
