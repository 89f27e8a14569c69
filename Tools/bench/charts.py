#!/usr/bin/env python3
"""Charts of a benchmark run: KVStore (kvbench) against LevelDB and RocksDB (peerbench-rel).

  charts.py --timelines DIR [--results FILE_OR_DIR ...] --out DIR [--num N] [--png]

--timelines DIR holds per-second timelines named <engine>-<workload>.csv (engine: kvstore,
leveldb or rocksdb) with the header t_s,ops,ops_per_s,p99_us,max_us,stall_ms,compaction_bytes
(kvbench --timeline for KVStore, Tools/bench/peer_timeline.py for the peers, whose latency and
stall columns are empty and whose ops are estimated from the main thread's write(2) calls).
--results (repeatable) names the runs' text output, for the result lines
  <workload> : <us> micros/op; <n> ops/sec; <MB/s> MB/s; p50=<us> p99=<us> p999=<us> max=<us>
and the `# flags: --num=N` header: a file whose name starts with the engine (kvstore-1.txt,
leveldb.out: the raw output of one run), a directory of such files (run.sh's raw outputs;
files of other names, such as none-*.txt or sync8-*.txt, are skipped), or a file whose lines
carry the engine first (`leveldb fillrandom : ...`). Several values of one figure (rounds) are
reduced to their median.

Writes into --out, as SVG (text kept as text, no embedded fonts, byte-identical on a rerun):
  <workload>-throughput.svg   ops/s per interval over the workload, the three engines on one
                              axis, and below it the background flush + compaction writes (MiB/s)
  <workload>-latency.svg      KVStore's per-interval p99 and max latency (log scale) and its
                              write-stall time per interval (bars), with each engine's
                              whole-run p99 from the result lines as reference lines
  latency-percentiles.svg     p50 / p99 / p99.9 / max per engine, one panel per workload, from
                              the result lines (log scale)
--png also writes a PNG beside each SVG (for a quick look; not meant to be committed).
Needs matplotlib (Tools/bench/plot-venv.sh makes a venv with the pinned version and runs this).
"""
import argparse
import csv
import math
import os
import re
import statistics
import sys

ENGINES = ('kvstore', 'leveldb', 'rocksdb')
NAMES = {'kvstore': 'KVStore', 'leveldb': 'LevelDB 1.23', 'rocksdb': 'RocksDB 7.8.3'}
COLORS = {'kvstore': '#1f77b4', 'leveldb': '#2ca02c', 'rocksdb': '#d62728'}
ORDER = ('fillseq', 'fillrandom', 'overwrite', 'readrandom', 'readmissing', 'readseq',
         'seekrandom', 'deleterandom', 'fillsync', 'readwhilewriting')
RESULT = re.compile(r'^(?:(kvstore|leveldb|rocksdb):? +)?(\w+) : +([\d.]+) micros/op; +([\d.]+) '
                    r'ops/sec; +([\d.]+) MB/s; +p50=([\d.]+) p99=([\d.]+) p999=([\d.]+)'
                    r'(?: max=([\d.]+))?')
FLAGS_NUM = re.compile(r'^(?:(kvstore|leveldb|rocksdb):? +)?# flags: .*--num=(\d+)')
TIMELINE = re.compile(r'^(kvstore|leveldb|rocksdb)-(\w+)\.csv$')
ENGINE_FILE = re.compile(r'^(kvstore|leveldb|rocksdb)(?:[-_.]|$)')
PEER_NOTE = 'estimated from write(2) calls'


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n\n', 1)[1])
    p.add_argument('--timelines', help='directory of <engine>-<workload>.csv timelines')
    p.add_argument('--results', action='append', default=[],
                   help='result lines: a file or a directory of <engine>*.txt (repeatable)')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--num', type=int, help='key count for the titles (default: from the '
                   'results\' "# flags: --num=" lines)')
    p.add_argument('--png', action='store_true', help='also write PNG copies')
    a = p.parse_args()
    if not a.timelines and not a.results:
        p.error('nothing to chart: give --timelines and/or --results')
    return a


def read_timelines(directory):
    """{workload: {engine: {column: [floats or NaN]}}}"""
    out = {}
    for name in sorted(os.listdir(directory)):
        m = TIMELINE.match(name)
        if not m:
            continue
        cols = {}
        with open(os.path.join(directory, name), newline='') as f:
            for row in csv.DictReader(f):
                for k, v in row.items():
                    if k is None:
                        continue
                    try:
                        cols.setdefault(k, []).append(float(v) if v not in ('', None) else math.nan)
                    except ValueError:
                        cols.setdefault(k, []).append(math.nan)
        if not cols.get('t_s'):
            print(f'charts: {name}: no rows, skipped', file=sys.stderr)
            continue
        missing = {'t_s', 'ops', 'ops_per_s'} - cols.keys()
        if missing:
            print(f'charts: {name}: no column {", ".join(sorted(missing))}, skipped',
                  file=sys.stderr)
            continue
        out.setdefault(m[2], {})[m[1]] = cols
    return out


def result_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                m = ENGINE_FILE.match(name)
                if m and os.path.isfile(os.path.join(path, name)):
                    yield os.path.join(path, name), m[1]
        else:
            m = ENGINE_FILE.match(os.path.basename(path))
            yield path, (m[1] if m else None)


def read_results(paths):
    """({engine: {workload: {figure: median}}}, {engine: num})"""
    values, nums = {}, {}
    for path, file_engine in result_files(paths):
        with open(path, errors='replace') as f:
            for line in f:
                line = line.rstrip('\n')
                if m := FLAGS_NUM.match(line):
                    engine = m[1] or file_engine
                    if engine:
                        nums.setdefault(engine, set()).add(int(m[2]))
                    continue
                m = RESULT.match(line)
                if not m:
                    continue
                engine = m[1] or file_engine
                if engine is None:
                    print(f'charts: {path}: a result line names no engine, skipped: {line}',
                          file=sys.stderr)
                    continue
                figs = values.setdefault(engine, {}).setdefault(m[2], {})
                for key, i in (('ops_per_s', 4), ('p50', 6), ('p99', 7), ('p999', 8), ('max', 9)):
                    if m[i] is not None:
                        figs.setdefault(key, []).append(float(m[i]))
    med = {e: {w: {k: statistics.median(v) for k, v in figs.items()} for w, figs in ws.items()}
           for e, ws in values.items()}
    return med, nums


def workload_sort(names):
    return sorted(names, key=lambda w: (ORDER.index(w) if w in ORDER else len(ORDER), w))


def setup_matplotlib():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plt.rcParams.update({
        'svg.fonttype': 'none',        # text stays text: small files, no embedded glyphs
        'svg.hashsalt': 'kvstore-bench',  # fixed ids (clip paths), so reruns are identical
        # The text is not embedded: name matplotlib's font first (its metrics laid the text
        # out), then look-alikes a viewer may have, then any sans-serif.
        'font.family': 'sans-serif',
        'font.sans-serif': ['DejaVu Sans', 'Helvetica', 'Arial', 'Liberation Sans'],
        'font.size': 9,
        'axes.titlesize': 10,
        'axes.grid': True,
        'grid.alpha': 0.3,
        'legend.fontsize': 8,
        'legend.framealpha': 0.9,
        'figure.dpi': 100,
        'savefig.dpi': 100,
        'path.simplify': True,
    })
    return plt


def save(plt, fig, out, name, png):
    path = os.path.join(out, name + '.svg')
    fig.savefig(path, format='svg', metadata={'Date': None}, bbox_inches='tight')
    if png:
        fig.savefig(os.path.join(out, name + '.png'), format='png', metadata={'Software': None},
                    bbox_inches='tight', dpi=110)
    plt.close(fig)
    print(f'charts: wrote {path}', file=sys.stderr)


def human(x, _pos=None):
    for div, suffix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if abs(x) >= div:
            v = x / div
            return f'{v:.0f}{suffix}' if v == int(v) else f'{v:.1f}{suffix}'
    return f'{x:.0f}' if x == int(x) else f'{x:g}'


def title(workload, num):
    t = workload
    if num:
        t += f', --num={num:,}'
        if workload == 'fillsync':
            t += f' ({max(1, num // 100):,} synced writes)'
    return t


def steps(t, y):
    """Points of a step line: each value held over its interval (t is the interval's end)."""
    xs, ys = [], []
    prev = 0.0
    for t1, v in zip(t, y):
        xs += [prev, t1]
        ys += [v, v]
        prev = t1
    return xs, ys


def interval_text(timelines):
    """'per second' or 'per 0.1 s', from the first row of the timelines."""
    lengths = {round(tl['t_s'][0], 3) for tl in timelines if len(tl['t_s']) > 1}
    if len(lengths) == 1:
        x = lengths.pop()
        return 'per second' if x == 1 else f'per {x:g} s'
    return 'per interval'


def log_axis(ax, minor=True):
    """Log scale with plain labels (1k, not 10^3); 1-2-5 steps when the data span few decades.
    Call after plotting."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator
    ax.set_yscale('log')
    lo, hi = ax.get_ylim()
    few = lo > 0 and hi / lo < 30
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5) if few else (1,), numticks=12))
    ax.yaxis.set_major_formatter(FuncFormatter(human))
    ax.yaxis.set_minor_locator(NullLocator() if few or not minor else
                               LogLocator(base=10, subs='auto', numticks=12))
    ax.yaxis.set_minor_formatter(NullFormatter())


def throughput_chart(plt, out, workload, engines, results, num, png):
    from matplotlib.ticker import FuncFormatter
    fig, (ax, axc) = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True, layout='constrained',
                                  gridspec_kw={'height_ratios': [3, 1.2]})
    end = 0.0
    for engine in ENGINES:
        tl = engines.get(engine)
        if tl is None:
            continue
        label = NAMES[engine] + (' (kvbench\'s count)' if engine == 'kvstore' else f' ({PEER_NOTE})')
        overall = results.get(engine, {}).get(workload, {}).get('ops_per_s')
        if overall:
            label += f'; whole run {human(overall)} ops/s'
        style = '-' if engine == 'kvstore' else (0, (5, 1.5))
        xs, ys = steps(tl['t_s'], tl['ops_per_s'])
        ax.plot(xs, ys, color=COLORS[engine], lw=1.4, ls=style, label=label)
        if 'compaction_bytes' in tl:
            prev, rates = 0.0, []
            for t1, b in zip(tl['t_s'], tl['compaction_bytes']):
                rates.append(b / 1048576 / (t1 - prev) if t1 > prev else math.nan)
                prev = t1
            xs, ys = steps(tl['t_s'], rates)
            axc.plot(xs, ys, color=COLORS[engine], lw=1.1, ls=style)
        end = max(end, tl['t_s'][-1])
    per = interval_text(engines.values())
    fig.suptitle(f'{title(workload, num)}: throughput {per} of the workload')
    ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1.01), ncol=1)  # above the axes
    ax.set_ylabel('operations per second')
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(human))
    axc.set_ylabel(f'flush + compaction\nwrites (MiB/s)')
    axc.set_ylim(0, max(1.0, axc.get_ylim()[1]))  # a few info-log bytes are not a hill
    axc.set_xlabel('seconds since the workload\'s first operation')
    axc.set_xlim(0, end if end > 0 else 1)
    if any(e in engines for e in ('leveldb', 'rocksdb')):
        fig.text(0.0, -0.01, 'LevelDB, RocksDB: ops = write(2) calls of the writing thread '
                 '(one per Put, into the write-ahead log), flush + compaction = bytes written by '
                 'the background threads;\nsampled from /proc by Tools/bench/peer_timeline.py. '
                 'KVStore: kvbench --timeline.', fontsize=7, color='#444444', va='top')
    save(plt, fig, out, f'{workload}-throughput', png)


def latency_chart(plt, out, workload, tl, results, num, png):
    fig, ax = plt.subplots(figsize=(8, 4.8), layout='constrained')
    axs = ax.twinx()
    t = tl['t_s']
    per = interval_text([tl])
    stall = [0.0 if math.isnan(v) else v for v in tl.get('stall_ms', [])]
    if stall:
        prev, xs, ws = 0.0, [], []
        for t1 in t:
            xs.append((prev + t1) / 2)
            ws.append((t1 - prev) * 0.85)
            prev = t1
        axs.bar(xs, stall, width=ws, color='#ff7f0e', alpha=0.35,
                label=f'KVStore write-stall time {per} (ms, right axis)')
    axs.set_ylabel(f'write stall (ms {per})')
    axs.set_ylim(0, max(10.0, max(stall, default=0.0) * 1.15))
    axs.grid(False)
    for col, label, style, lw in (('p99_us', f'KVStore p99 {per}', '-', 1.6),
                                  ('max_us', f'KVStore max {per}', (0, (1, 1.2)), 1.2)):
        vals = tl.get(col)
        if vals and not all(math.isnan(v) for v in vals):
            xs, ys = steps(t, vals)
            ax.plot(xs, ys, color=COLORS['kvstore'], lw=lw, ls=style, label=label, zorder=3)
    for engine in ENGINES:
        p99 = results.get(engine, {}).get(workload, {}).get('p99')
        if p99:
            ax.axhline(p99, color=COLORS[engine], lw=1.0, ls=(0, (6, 2, 1, 2)), zorder=2,
                       label=f'{NAMES[engine]}: p99 of the whole run, {p99:g} µs')
    log_axis(ax)
    ax.set_ylabel('latency of one operation (µs, log scale)')
    ax.set_xlabel('seconds since the workload\'s first operation')
    ax.set_xlim(0, t[-1])
    ax.set_zorder(axs.get_zorder() + 1)  # lines above the bars
    ax.patch.set_visible(False)
    fig.suptitle(f'{title(workload, num)}: KVStore latency and write stalls {per}')
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = axs.get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc='outside lower center', ncol=2, fontsize=7.5)
    save(plt, fig, out, f'{workload}-latency', png)


def percentiles_chart(plt, out, results, num, png):
    workloads = workload_sort({w for ws in results.values() for w in ws})
    if not workloads:
        return
    cols = min(3, len(workloads))
    rows = math.ceil(len(workloads) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.4 * rows + 0.8), squeeze=False,
                             layout='constrained')
    figs = (('p50', 'p50'), ('p99', 'p99'), ('p999', 'p99.9'), ('max', 'max'))
    present = [e for e in ENGINES if e in results]
    width = 0.8 / max(1, len(present))
    for i, w in enumerate(workloads):
        ax = axes[i // cols][i % cols]
        for j, engine in enumerate(present):
            vals = [results[engine].get(w, {}).get(k, math.nan) for k, _ in figs]
            xs = [x - 0.4 + width * (j + 0.5) for x in range(len(figs))]
            ax.bar(xs, [v if v and v > 0 else math.nan for v in vals], width=width,
                   color=COLORS[engine], label=NAMES[engine])
        log_axis(ax, minor=False)  # (minor ticks would double the file)
        ax.set_xticks(range(len(figs)), [label for _, label in figs])
        ax.set_title(title(w, None), fontsize=9)
        ax.grid(axis='x', visible=False)
        if i % cols == 0:
            ax.set_ylabel('µs (log scale)')
    for k in range(len(workloads), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='outside lower center', ncol=len(present))
    sup = 'Latency of one operation: p50, p99, p99.9 and max of each workload'
    if num:
        sup += f', --num={num:,}'
    notes = 'from the result lines; medians over runs' + (
        '; fillsync: --num/100 writes' if 'fillsync' in workloads else '')
    fig.suptitle(f'{sup}\n({notes})')
    save(plt, fig, out, 'latency-percentiles', png)


def main():
    a = parse_args()
    timelines = read_timelines(a.timelines) if a.timelines else {}
    results, nums = read_results(a.results) if a.results else ({}, {})
    num = a.num
    if num is None:
        seen = set().union(*nums.values()) if nums else set()
        if len(seen) == 1:
            num = seen.pop()
        elif len(seen) > 1:
            print(f'charts: the results mix --num values {sorted(seen)}: titles leave it out '
                  '(give --num)', file=sys.stderr)
    if not timelines and not results:
        print('charts: no timelines and no result lines found', file=sys.stderr)
        return 1
    os.makedirs(a.out, exist_ok=True)
    plt = setup_matplotlib()
    for workload in workload_sort(timelines):
        engines = timelines[workload]
        throughput_chart(plt, a.out, workload, engines, results, num, a.png)
        if 'kvstore' in engines:
            latency_chart(plt, a.out, workload, engines['kvstore'], results, num, a.png)
        else:
            print(f'charts: no kvstore-{workload}.csv: no {workload}-latency.svg', file=sys.stderr)
    if results:
        percentiles_chart(plt, a.out, results, num, a.png)
    return 0


if __name__ == '__main__':
    sys.exit(main())
