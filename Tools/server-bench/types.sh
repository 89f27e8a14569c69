#!/usr/bin/env bash
# The data types beside Redis: redis-benchmark against kvserver and Debian's redis-server on
# the same machine, alternating servers within each round, each run on a fresh directory:
#   redis-benchmark -t lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100
#   then reads of what those wrote, one command line each:
#     HGET myhash element:__rand_int__       (myhash: HSET's fields)
#     ZSCORE zbench element:__rand_int__     (zbench: 100,000 members loaded first)
#     ZRANGEBYSCORE zbench __rand_int__ +inf LIMIT 0 10
# all with -n REQUESTS -r 100000 -c 50 and -P {1,16}. kvserver runs with --fsync everysec,
# redis-server with AOF everysec (servers.sh). Prints each run, then medians and the ratios
# kvserver/redis, writes and reads apart (the bars: writes ≥ 0.6, reads ≥ 0.5).
# Usage: types.sh [ROUNDS] [REQUESTS]   (the last part of make server-bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
requests=${2:-200000}
kvserver=.build/release/kvserver
work=$(mktemp -d /tmp/types-bench-XXXXXX)
port=6399
results=$work/results.csv
trap 'pkill -f "kvserver --port $port" 2>/dev/null || true; redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

. Tools/server-bench/servers.sh

bench() {  # server pipeline label args...
  local s=$1 p=$2 label=$3
  shift 3
  redis-benchmark -p "$port" -n "$requests" -r 100000 -c 50 -P "$p" -q --csv "$@" \
    | awk -F'"' -v s="$s" -v p="$p" -v l="$label" 'NR > 1 || /^"[A-Z]/ { if ($2 != "test") print s "," p "," (l == "" ? $2 : l) "," $4 }' \
    | tee -a "$results"
}

echo "server,pipeline,test,rps" > "$results"
for round in $(seq 1 "$rounds"); do
  for pipeline in 1 16; do
    if [ $(( (round + pipeline) % 2 )) -eq 0 ]; then order="kvserver redis"; else order="redis kvserver"; fi
    for server in $order; do
      start_server "$server" "$work/$server-$round-$pipeline"
      bench "$server" "$pipeline" "" -t lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100
      # The sorted set the reads use: 100,000 members, score = the member's number.
      redis-benchmark -p "$port" -n 100000 -r 100000 -c 50 -P 16 -q ZADD zbench __rand_int__ element:__rand_int__ >/dev/null
      bench "$server" "$pipeline" HGET HGET myhash element:__rand_int__
      bench "$server" "$pipeline" ZSCORE ZSCORE zbench element:__rand_int__
      bench "$server" "$pipeline" ZRANGEBYSCORE ZRANGEBYSCORE zbench __rand_int__ +inf LIMIT 0 10
      stop_server
    done
  done
done

echo
echo "medians of $rounds rounds ($requests requests each, 50 clients, -r 100000)"
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = {}
for r in rows:
    med.setdefault((r["server"], r["pipeline"], r["test"]), []).append(float(r["rps"]))
reads = {"LRANGE_100 (first 100 elements)", "HGET", "ZSCORE", "ZRANGEBYSCORE"}
tests = []
for r in rows:
    if r["test"] not in tests:
        tests.append(r["test"])
print(f'{"test":<34} {"-P":>3} {"kvserver":>12} {"redis":>12} {"ratio":>7} {"bar":>5}')
for p in ("1", "16"):
    for t in tests:
        k = statistics.median(med.get(("kvserver", p, t), [0]))
        r = statistics.median(med.get(("redis", p, t), [0]))
        bar = 0.5 if t in reads else 0.6
        ratio = k / r if r else 0
        print(f'{t:<34} {p:>3} {k:>12,.0f} {r:>12,.0f} {ratio:>7.2f} {"ok" if ratio >= bar else "below":>5}')
PY
