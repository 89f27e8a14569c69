#!/usr/bin/env bash
# redis-benchmark against kvserver and Debian's redis-server on the same machine, alternating
# servers within each round, each run on a fresh data directory:
#   redis-benchmark -t set,get -n REQUESTS -r 1000000 -d 100 -c 50 -P {1,16}
# then MGET of ten random keys (issue #29's MGET row), REQUESTS/5 requests, over what the SETs wrote:
#   redis-benchmark -n REQUESTS/5 -r 1000000 -c 50 -P {1,16} mget key:__rand_int__ (x10)
# kvserver runs with --fsync everysec; redis-server with --appendonly yes --appendfsync
# everysec --save "" (the same durability promise). Prints each run, then the medians and
# the ratios kvserver/redis. Usage: compare.sh [ROUNDS] [REQUESTS]   (make server-bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
requests=${2:-1000000}
kvserver=.build/release/kvserver
work=$(mktemp -d /tmp/server-bench-XXXXXX)
port=6399
results=$work/results.csv
trap 'pkill -f "kvserver --port $port" 2>/dev/null || true; redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

. Tools/server-bench/servers.sh

echo "server,pipeline,test,rps" > "$results"
for round in $(seq 1 "$rounds"); do
  for pipeline in 1 16; do
    # Alternate which server goes first, so neither always runs on a warmer machine.
    if [ $(( (round + pipeline) % 2 )) -eq 0 ]; then order="kvserver redis"; else order="redis kvserver"; fi
    for server in $order; do
      start_server "$server" "$work/$server-$round-$pipeline"
      redis-benchmark -p "$port" -t set,get -n "$requests" -r 1000000 -d 100 -c 50 -P "$pipeline" -q --csv \
        | awk -F'"' -v s="$server" -v p="$pipeline" '/^"(SET|GET)"/ { print s "," p "," $2 "," $4 }' \
        | tee -a "$results"
      mget=()
      for _ in 1 2 3 4 5 6 7 8 9 10; do mget+=("key:__rand_int__"); done
      redis-benchmark -p "$port" -n $((requests / 5)) -r 1000000 -c 50 -P "$pipeline" -q --csv mget "${mget[@]}" \
        | awk -F'"' -v s="$server" -v p="$pipeline" 'NR > 1 && $4 != "" { print s "," p ",MGET," $4 }' \
        | tee -a "$results"
      stop_server
    done
  done
done

echo
echo "medians of $rounds rounds ($requests requests each, MGET $((requests / 5)) of ten keys; 100-byte values, 50 clients)"
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = {}
for r in rows:
    med.setdefault((r["server"], r["pipeline"], r["test"]), []).append(float(r["rps"]))
print(f'{"test":<6} {"-P":>3} {"kvserver":>12} {"redis":>12} {"ratio":>7}')
for p in ("1", "16"):
    for t in ("SET", "GET", "MGET"):
        k = statistics.median(med.get(("kvserver", p, t), [0]))
        r = statistics.median(med.get(("redis", p, t), [0]))
        print(f'{t:<6} {p:>3} {k:>12,.0f} {r:>12,.0f} {k / r if r else 0:>7.2f}')
PY
