#!/usr/bin/env bash
# The never-freeze row of `make server-bench`: a heavy SET load from redis-benchmark
#   redis-benchmark -t set -n REQUESTS -r 10000000 -d SIZE -c 50 -P 16
# while a probe connection GETs a key every 5 ms (Tools/server-bench/probe.py), against
# kvserver --fsync everysec and Debian's redis-server (AOF everysec), alternating.
# Prints SET/s and the probe's p50/p99/max GET latency for each run, then the medians.
# Usage: heavy-write.sh [ROUNDS] [REQUESTS] [SIZES]   e.g. heavy-write.sh 1 2000000 "100 1000"
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-1}
requests=${2:-2000000}
sizes=${3:-100 1000}
kvserver=${KVSERVER_BIN:-.build/release/kvserver}
work=$(mktemp -d /tmp/heavy-write-XXXXXX)
port=6398
results=$work/results.csv
trap 'kill $probe_pid 2>/dev/null || true; pkill -f "kvserver --port $port" 2>/dev/null || true; redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
probe_pid=0

. Tools/server-bench/servers.sh

echo "server,size,set_rps,p50_ms,p99_ms,max_ms" > "$results"
for round in $(seq 1 "$rounds"); do
  for size in $sizes; do
    if [ $(( (round + size) % 2 )) -eq 0 ]; then order="kvserver redis"; else order="redis kvserver"; fi
    for server in $order; do
      start_server "$server" "$work/$server-$round-$size"
      redis-cli -p "$port" SET probe:value hello >/dev/null
      python3 Tools/server-bench/probe.py "$port" 5 > "$work/probe.out" &
      probe_pid=$!
      rps=$(redis-benchmark -p "$port" -t set -n "$requests" -r 10000000 -d "$size" -c 50 -P 16 -q --csv \
        | awk -F'"' '/^"SET"/ { print $4 }')
      kill -TERM "$probe_pid"; wait "$probe_pid" || true
      line=$(cat "$work/probe.out")
      p50=$(echo "$line" | sed -n 's/.*p50=\([0-9.]*\).*/\1/p')
      p99=$(echo "$line" | sed -n 's/.*p99=\([0-9.]*\).*/\1/p')
      max=$(echo "$line" | sed -n 's/.*max=\([0-9.]*\).*/\1/p')
      echo "$server,$size,$rps,$p50,$p99,$max" | tee -a "$results"
      stop_server
    done
  done
done

echo
echo "heavy writes: medians of $rounds rounds ($requests SETs, -c 50 -P 16; probe GET every 5 ms)"
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
groups = {}
for r in rows:
    groups.setdefault((r["server"], r["size"]), []).append(r)
print(f'{"server":<9} {"size":>5} {"SET/s":>10} {"p50 ms":>8} {"p99 ms":>8} {"max ms":>8}')
sizes = sorted({r["size"] for r in rows}, key=int)
for size in sizes:
    for server in ("kvserver", "redis"):
        g = groups.get((server, size), [])
        if not g: continue
        m = lambda k: statistics.median(float(x[k]) for x in g)
        print(f'{server:<9} {size:>5} {m("set_rps"):>10,.0f} {m("p50_ms"):>8.2f} {m("p99_ms"):>8.2f} {m("max_ms"):>8.2f}')
    k = groups.get(("kvserver", size)); r = groups.get(("redis", size))
    if k and r:
        ratio = statistics.median(float(x["set_rps"]) for x in k) / statistics.median(float(x["set_rps"]) for x in r)
        print(f'{"ratio":<9} {size:>5} {ratio:>10.2f}   (kvserver SET/s over redis)')
PY
