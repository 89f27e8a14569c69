#!/usr/bin/env bash
# make bench-scale: the scale tier. kvbench (KVStore) and peerbench-rel (LevelDB, RocksDB) on
# NUM keys (default 10,000,000, about 1.2 GB of user data): fillrandom, overwrite, readrandom,
# readwhilewriting, seekrandom and readseq with READS reads (default 1,000,000), engines
# alternating within each of ROUNDS rounds. Prints per engine: ops/s per workload; p99, p99.9
# and max write latency of fillrandom and overwrite; total write-stall time (KVStore's own
# counter; the peers print theirs in their stats, not parsed here); write amplification;
# space on disk; peak RSS; and peak anonymous memory (RSS without the mapped tables, which
# are the page cache's). Usage: scale.sh [ROUNDS] [NUM] [READS]
# COMPRESSION=none (or lz4, zlib, snappy…) passes --compression to all three engines: the
# like-for-like table (each engine's default when unset).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-1}
num=${2:-10000000}
reads=${3:-1000000}
kvbench=.build/release/kvbench
peer=../shared/peerbench/bin/peerbench-rel
out=$(mktemp -d /tmp/kvbench-scale-XXXXXX)
benchmarks=fillrandom,overwrite,readrandom,readwhilewriting,seekrandom,readseq
compression=()
[ -n "${COMPRESSION:-}" ] && compression=(--compression="$COMPRESSION")
charts=${CHARTS:-docs/charts/scale}
mkdir -p "$out/tl"
[ -x "$peer" ] || { echo "missing $peer (the peer harness beside the project)" >&2; exit 1; }

engines=(kvstore leveldb rocksdb)
for round in $(seq 1 "$rounds"); do
  for k in 0 1 2; do
    engine=${engines[$(( (k + round - 1) % 3 ))]}
    db=/tmp/kvbench-scale-$engine
    rm -rf "$db"
    echo "round $round: $engine, --num=$num --reads=$reads ($(date +%T))" >&2
    # Round 1 records per-second timelines of fillrandom and overwrite for the charts.
    kvtl=() peertl=()
    if [ "$round" = 1 ]; then
      kvtl=(--timeline="$out/tl/kvstore-{name}.csv")
      peertl=(python3 Tools/bench/peer_timeline.py --out "$out/tl/$engine-{name}.csv" --benchmark fillrandom,overwrite --)
    fi
    if [ "$engine" = kvstore ]; then
      "$kvbench" --num="$num" --reads="$reads" --benchmarks="$benchmarks" --db="$db" "${compression[@]}" "${kvtl[@]}" > "$out/$engine-$round.txt"
    else
      "${peertl[@]}" "$peer" --engine="$engine" --num="$num" --reads="$reads" --benchmarks="$benchmarks" --db="$db" "${compression[@]}" > "$out/$engine-$round.txt"
    fi
    rm -rf "$db"
  done
done

python3 - "$out" "$num" "$reads" <<'PY'
import glob, re, statistics, sys
out, num, reads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line = re.compile(r'^(\w+) : +[\d.]+ micros/op; +(\d+) ops/sec;.*p99=([\d.]+) p999=([\d.]+)(?: max=([\d.]+))?')
size = re.compile(r'^# (\w+): db_size=([\d.]+) MiB')
amp = re.compile(r'^# (fillrandom|overwrite): user_bytes=([\d.]+) MiB .*flush\+compaction=([\d.]+) MiB')
stall = re.compile(r'^# (fillrandom|overwrite): .*stalls: .*?([\d.]+) s \(bg')
rss = re.compile(r'^# peak_rss=([\d.]+) MiB(?: peak_rss_anon=([\d.]+) MiB)?')
def parse(path):
    r = {'ops': {}, 'lat': {}, 'size': 0.0, 'user': 0.0, 'lsm': 0.0, 'stall': 0.0, 'rss': 0.0, 'anon': 0.0}
    for l in open(path):
        if m := line.match(l):
            r['ops'][m[1]] = int(m[2]); r['lat'][m[1]] = (float(m[3]), float(m[4]), float(m[5] or 0))
        elif m := size.match(l):
            r['size'] = float(m[2])
        elif m := amp.match(l):
            r['user'] += float(m[2]); r['lsm'] += float(m[3])
        if m := stall.match(l):
            r['stall'] += float(m[2])
        if m := rss.match(l):
            r['rss'] = float(m[1]); r['anon'] = float(m[2] or 0)
    return r
engines = ('kvstore', 'leveldb', 'rocksdb')
runs = {e: [parse(p) for p in sorted(glob.glob(f'{out}/{e}-*.txt'))] for e in engines}
def med(e, f):
    vals = [v for v in (f(r) for r in runs[e]) if v is not None]
    return statistics.median(vals) if vals else 0
import os
setting = f', --compression={os.environ["COMPRESSION"]} for all three' if os.environ.get('COMPRESSION') else ", each engine's default compression"
print(f'\nscale tier: --num={num:,} --reads={reads:,}{setting}, medians of {len(runs["kvstore"])} round(s)')
print('| workload | KVStore | LevelDB | RocksDB | KVStore/LevelDB | KVStore/RocksDB |')
print('| --- | ---: | ---: | ---: | ---: | ---: |')
def row(label, f, fmt='{:,.0f}'):
    k, l, r = (med(e, f) for e in engines)
    print(f'| {label} | {fmt.format(k)} | {fmt.format(l)} | {fmt.format(r)} | {k/l if l else 0:.2f} | {k/r if r else 0:.2f} |')
for w in ('fillrandom', 'overwrite', 'readrandom', 'readwhilewriting', 'seekrandom', 'readseq'):
    row(f'{w} (ops/s)', lambda r, w=w: r['ops'].get(w))
for w in ('fillrandom', 'overwrite'):
    for i, p in enumerate(('p99', 'p99.9', 'max')):
        row(f'{w} {p} write latency (µs, lower is better)', lambda r, w=w, i=i: r['lat'].get(w, (0, 0, 0))[i], '{:,.1f}')
k = med('kvstore', lambda r: r['stall'])
print(f'| write stalls, fillrandom + overwrite (s) | {k:.2f} | — | — | | |')
row('write amplification (fillrandom + overwrite)', lambda r: r['lsm'] / r['user'] if r['user'] else None, '{:.2f}')
row('space on disk after the last write (MiB)', lambda r: r['size'], '{:,.1f}')
row('peak RSS (MiB)', lambda r: r['rss'], '{:,.1f}')
row('peak anonymous memory (MiB)', lambda r: r['anon'], '{:,.1f}')
print(f'raw outputs: {out}')
PY

# Charts (SVG, matplotlib in .build/venv-plot): throughput over time of the write workloads
# for the three engines, KVStore's per-second latency and stalls, latency percentiles.
for f in "$out"/tl/kvstore-*.csv; do
  case "$(basename "$f")" in kvstore-fillrandom.csv|kvstore-overwrite.csv) ;; *) rm -f "$f" ;; esac
done
rm -rf "$charts"
bash Tools/bench/plot-venv.sh --timelines "$out/tl" --results "$out" --out "$charts" >&2
echo "charts: $charts" >&2
