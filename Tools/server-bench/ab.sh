#!/usr/bin/env bash
# A/B of kvserver builds on the read path (docs/BENCHMARKS.md, issue #29): per round and
# build, in turn, a fresh data directory and kvserver --fsync everysec; 1M SETs at -P16 to
# fill (reported as SET16), then GET -P16, GET -P1 and MGET of ten keys at -P16 over those keys. Prints
# round,build,test,requests/s. Usage: ab.sh ROUNDS NAME=KVSERVER_BINARY ...
set -euo pipefail
rounds=$1; shift
port=6398
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*}; bin=${spec#*=}
    dir=$(mktemp -d /tmp/kvserver-ab-XXXXXX)
    "$bin" --port $port --dir "$dir" --fsync everysec --loglevel warning & pid=$!
    for _ in $(seq 1 100); do redis-cli -p $port ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
    s16=$(redis-benchmark -p $port -t set -n 1000000 -r 1000000 -d 100 -c 50 -P 16 -q --csv | awk -F'"' '/SET/{print $4}')
    g16=$(redis-benchmark -p $port -t get -n 1000000 -r 1000000 -d 100 -c 50 -P 16 -q --csv | awk -F'"' '/GET/{print $4}')
    g1=$(redis-benchmark -p $port -t get -n 200000 -r 1000000 -d 100 -c 50 -P 1 -q --csv | awk -F'"' '/GET/{print $4}')
    m16=$(redis-benchmark -p $port -n 200000 -r 1000000 -c 50 -P 16 -q --csv mget key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ key:__rand_int__ | awk -F'"' 'NR==2||/mget/{print $4}' | tail -1)
    echo "$round,$name,SET16,$s16"; echo "$round,$name,GET16,$g16"; echo "$round,$name,GET1,$g1"; echo "$round,$name,MGET16,$m16"
    redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
    wait $pid 2>/dev/null || true
    rm -rf "$dir"
  done
done
