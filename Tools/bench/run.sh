#!/usr/bin/env bash
# make bench: kvbench (KVStore) and peerbench-rel (LevelDB 1.23, RocksDB 7.8.3) on the same
# workloads of ../shared/BENCHMARKS.md, engines alternating within each round, ROUNDS rounds;
# prints medians and KVStore/peer ratios, peak RSS during fillrandom (/usr/bin/time -v),
# write amplification after fillrandom + overwrite, p99.9 write latency, and KVStore's
# 8-thread synced fill against its own single-thread fillsync (a standalone pair per round).
# Then a like-for-like read table: all three engines with --compression=none, the engines at
# equal work. (Peer binaries built before 2026-12-07 had a LevelDB without Snappy that stored
# blocks raw whatever --compression said; since the rebuild its default table compresses.)
# Usage: run.sh ROUNDS NUM    (make bench; make bench QUICK=1 is 1 round of 200,000)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
num=${2:-1000000}
kvbench=.build/release/kvbench
peer=../shared/peerbench/bin/peerbench-rel
out=$(mktemp -d /tmp/kvbench-compare-XXXXXX)
benchmarks=fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,seekrandom,deleterandom,fillsync
plain_benchmarks=fillrandom,readrandom,readseq,seekrandom
timeline_benchmarks=fillrandom,overwrite
charts=${CHARTS:-docs/charts/bench}
mkdir -p "$out/tl"
[ -x "$peer" ] || { echo "missing $peer (the peer harness beside the project)" >&2; exit 1; }

run_engine() {  # engine round
  local engine=$1 round=$2 db=/tmp/kvbench-compare-$1
  local main=$out/$engine-$round.txt rss=$out/$engine-$round.rss
  # Round 1 also records per-second timelines of the write workloads for the charts: kvbench
  # itself (--timeline), the peers sampled from outside (peer_timeline.py). Later rounds run
  # bare, so the medians carry at most one round with the recorders' small cost.
  local kvtl=() peertl=()
  if [ "$round" = 1 ]; then
    kvtl=(--timeline="$out/tl/kvstore-{name}.csv")
    peertl=(python3 Tools/bench/peer_timeline.py --out "$out/tl/$engine-{name}.csv" --benchmark "$timeline_benchmarks" --)
  fi
  if [ "$engine" = kvstore ]; then
    "$kvbench" --num="$num" --benchmarks="$benchmarks" --db="$db" "${kvtl[@]}" > "$main"
    /usr/bin/time -v "$kvbench" --num="$num" --benchmarks=fillrandom --db="$db" > /dev/null 2> "$rss"
  else
    "${peertl[@]}" "$peer" --engine="$engine" --num="$num" --benchmarks="$benchmarks" --db="$db" > "$main"
    /usr/bin/time -v "$peer" --engine="$engine" --num="$num" --benchmarks=fillrandom --db="$db" > /dev/null 2> "$rss"
  fi
  rm -rf "$db"
  local plain=$out/none-$engine-$round.txt
  if [ "$engine" = kvstore ]; then
    "$kvbench" --num="$num" --compression=none --benchmarks="$plain_benchmarks" --db="$db" > "$plain"
  else
    "$peer" --engine="$engine" --num="$num" --compression=none --benchmarks="$plain_benchmarks" --db="$db" > "$plain"
  fi
  rm -rf "$db"
  echo "  $engine done ($(grep -c ' : ' "$main") workloads)" >&2
}

engines=(kvstore leveldb rocksdb)
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds (num=$num)" >&2
  for k in 0 1 2; do
    run_engine "${engines[$(( (k + round - 1) % 3 ))]}" "$round"
  done
  # Group commit: 8 threads doing synced writes against 1 thread, measured as a pair under the
  # same conditions (a fresh store each, after `sync` so the previous runs' writeback is not
  # in either), the 1-thread run first.
  for t in 1 8; do
    sync
    "$kvbench" --num="$num" --benchmarks=fillsync --threads=$t --db=/tmp/kvbench-compare-sync > "$out/sync$t-$round.txt"
    rm -rf /tmp/kvbench-compare-sync
  done
done

python3 - "$out" "$rounds" "$num" <<'PY'
import glob, os, re, statistics, sys
out, rounds, num = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line = re.compile(r'^(\w+) : +([\d.]+) micros/op; +(\d+) ops/sec;.*p999=([\d.]+)')
amp = re.compile(r'^# (fillrandom|overwrite): user_bytes=([\d.]+) MiB .*flush\+compaction=([\d.]+) MiB')
def parse(engine):
    res = {}
    for path in sorted(glob.glob(f'{out}/{engine}-*.txt')):
        ops, p999, user, lsm = {}, {}, 0.0, 0.0
        for l in open(path):
            m = line.match(l)
            if m:
                ops[m[1]] = float(m[3]); p999[m[1]] = float(m[4])
            a = amp.match(l)
            if a:
                user += float(a[2]); lsm += float(a[3])
        rss = 0
        rp = path[:-4] + '.rss'
        for l in open(rp):
            if 'Maximum resident set size' in l:
                rss = int(l.split(':')[1]) / 1024
        res[path] = (ops, p999, lsm / user if user else 0, rss)
    return list(res.values())
data = {e: parse(e) for e in ('kvstore', 'leveldb', 'rocksdb')}
def med(e, f):
    vals = [f(r) for r in data[e] if f(r) is not None]
    return statistics.median(vals) if vals else 0
workloads = ['fillseq', 'fillrandom', 'overwrite', 'readrandom', 'readmissing', 'readseq', 'seekrandom', 'deleterandom', 'fillsync']
print(f'\nmedians of {rounds} round(s), --num={num} (fillsync: num/100), ops/sec')
print(f'| workload | KVStore | LevelDB | RocksDB | KVStore/LevelDB | KVStore/RocksDB |')
print('| --- | ---: | ---: | ---: | ---: | ---: |')
for w in workloads:
    k, l, r = (med(e, lambda x: x[0].get(w)) for e in ('kvstore', 'leveldb', 'rocksdb'))
    print(f'| {w} | {k:,.0f} | {l:,.0f} | {r:,.0f} | {k/l if l else 0:.2f} | {k/r if r else 0:.2f} |')
k, l, r = (med(e, lambda x: x[3]) for e in ('kvstore', 'leveldb', 'rocksdb'))
print(f'| peak RSS during fillrandom (MiB, lower is better) | {k:.1f} | {l:.1f} | {r:.1f} | {k/l if l else 0:.2f} | {k/r if r else 0:.2f} |')
k, l, r = (med(e, lambda x: x[2]) for e in ('kvstore', 'leveldb', 'rocksdb'))
print(f'| write amplification after fillrandom + overwrite | {k:.2f} | {l:.2f} | {r:.2f} | {k/l if l else 0:.2f} | {k/r if r else 0:.2f} |')
k, l, r = (med(e, lambda x: x[1].get('fillrandom')) for e in ('kvstore', 'leveldb', 'rocksdb'))
print(f'| p99.9 write latency in fillrandom (us, lower is better) | {k:.1f} | {l:.1f} | {r:.1f} | {k/l if l else 0:.2f} | {k/r if r else 0:.2f} |')
def standalone(threads):
    found = []
    for p in sorted(glob.glob(f'{out}/sync{threads}-*.txt')):
        for l in open(p):
            m = line.match(l)
            if m and m[1] == 'fillsync': found.append(float(m[3]))
    return statistics.median(found) if found else 0
one, s8 = standalone(1), standalone(8)
seq = med('kvstore', lambda x: x[0].get('fillsync'))
print(f'\nKVStore group commit (standalone pairs, medians): 1 thread {one:,.0f} ops/sec, 8 threads {s8:,.0f} ops/sec '
      f'= {s8/one if one else 0:.2f}x (bar: 4x); the sequence\'s 1-thread fillsync above: {seq:,.0f} = {s8/seq if seq else 0:.2f}x')
def plain(engine, w):
    found = []
    for p in sorted(glob.glob(f'{out}/none-{engine}-*.txt')):
        for l in open(p):
            m = line.match(l)
            if m and m[1] == w: found.append(float(m[3]))
    return statistics.median(found) if found else 0
print(f'\nlike for like, all three with --compression=none, medians, ops/sec')
print(f'| workload | KVStore | LevelDB | RocksDB | KVStore/LevelDB | KVStore/RocksDB |')
print('| --- | ---: | ---: | ---: | ---: | ---: |')
for w in ['fillrandom', 'readrandom', 'readseq', 'seekrandom']:
    k, l, r = (plain(e, w) for e in ('kvstore', 'leveldb', 'rocksdb'))
    print(f'| {w} | {k:,.0f} | {l:,.0f} | {r:,.0f} | {k/l if l else 0:.2f} | {k/r if r else 0:.2f} |')
print(f'raw outputs: {out}')
PY

# Charts (SVG, matplotlib in .build/venv-plot): throughput over time of round 1's write
# workloads for the three engines, KVStore's per-second latency, and latency percentiles.
# Only the workloads the peers are timed on are charted over time.
for f in "$out"/tl/kvstore-*.csv; do
  case ",$timeline_benchmarks," in *",$(basename "$f" .csv | sed 's/^kvstore-//'),"*) ;; *) rm -f "$f" ;; esac
done
rm -rf "$charts"
bash Tools/bench/plot-venv.sh --timelines "$out/tl" --results "$out" --out "$charts" >&2
echo "charts: $charts" >&2
