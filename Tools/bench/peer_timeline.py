#!/usr/bin/env python3
"""Per-second timeline of a peer (LevelDB / RocksDB) write workload, sampled from outside.

peerbench-rel prints no per-interval figures and cannot be rebuilt, so this runs it as a child
process and samples the kernel's I/O counters of the child every --sample-ms (default 5 ms):
  /proc/PID/task/PID/io   the MAIN thread's counters: peerbench's write workloads run on the
                          main thread, which writes the write-ahead log itself (one write(2) per
                          Put in both engines: log::Writer flushes every record), while flushes
                          and compactions run on the engines' background threads;
  /proc/PID/io            the whole process (every thread, live or exited).
It then writes the timeline of each write workload named by --benchmark (fillseq, fillrandom,
overwrite, deleterandom, fillsync; default: every one of these in the command's --benchmarks;
with more than one, --out holds {name}, as kvbench's --timeline does), covering that workload
only (not the settle and the other workloads around it), with kvbench's --timeline header:
  t_s,ops,ops_per_s,p99_us,max_us,stall_ms,compaction_bytes
one row per --interval (1 s) of that workload, the last row possibly shorter:
  t_s               seconds since the workload's first write, at the end of the row's interval
  ops               ESTIMATED puts completed in the interval = write(2) calls of the main
                    thread in it; for LevelDB minus one call per 32 KiB of log written (its
                    log::Writer writes a record that crosses a 32 KiB log block as two
                    fragments, one write(2) each; RocksDB's writer flushes the whole record at
                    once). Rounded to an integer.
  ops_per_s         ops / interval length
  p99_us, max_us, stall_ms   left EMPTY: not observable from outside
  compaction_bytes  bytes passed to write(2) by every thread but the main one in the interval:
                    the background flush + compaction output (table files, MANIFEST edits and
                    the background threads' info-log lines)
With --with-rss a last column rss_mib (the child's resident set at the end of the interval,
/proc/PID/statm) is added; the header is then no longer kvbench's.

Where the workload lies: the child's result line (`<name> : ... ops/sec ...`) and its
`# <name>: ops=N wall=W s` line give N and the workload's wall time W; the workload is taken to
be the W-second span of the main thread's write-call curve that holds the most calls, searched
between the previous workload's output and this one's (peerbench flushes its stdout after
every workload). The sample periods holding the first and last writes are counted whole in
the first and last rows (a linear interpolation there would leave part of them out). On exit
a check goes to stderr: estimated ops against the result line's N,
mean estimated ops/s against its ops/sec, and compaction bytes against the engine's own
flush+compaction counter (which counts table bytes only).

Measured (300,000 fillrandom puts, 5 ms sampling, about 10 us of CPU per sample): estimated
ops against the true count -0.08% for LevelDB (without the 32 KiB correction +0.34%), +0.00%
for RocksDB; background bytes 92.8 MiB against LevelDB's flush+compaction 92.0 MiB, 38.3
against RocksDB's 38.3. Row boundaries fall between samples and are interpolated linearly, so a
row's count can be off by up to one sample period's worth of puts (0.5% of a 1 s row).

The child's stdout is passed through unchanged (chunk by chunk as it arrives), its stderr is
inherited, and this script exits with the child's status (128+signal if it was killed).
Only the main-thread single-writer workloads above are supported: readwhilewriting's writer is
a separate thread, and read workloads write nothing.

Usage:
  peer_timeline.py --out leveldb-fillrandom.csv [--benchmark fillrandom] [--interval 1]
                   [--sample-ms 5] [--with-rss] [--raw samples.csv] -- \
      ../shared/peerbench/bin/peerbench-rel --engine=leveldb --benchmarks=fillrandom --num=300000
  peer_timeline.py --out 'DIR/rocksdb-{name}.csv' -- \
      ../shared/peerbench/bin/peerbench-rel --engine=rocksdb --benchmarks=fillrandom,overwrite,readrandom
"""
import argparse
import bisect
import os
import re
import signal
import subprocess
import sys
import threading
import time

WRITE_WORKLOADS = ('fillseq', 'fillrandom', 'overwrite', 'deleterandom', 'fillsync')
HEADER = 't_s,ops,ops_per_s,p99_us,max_us,stall_ms,compaction_bytes'
RESULT = re.compile(rb'^(\w+) : +([\d.]+) micros/op; +([\d.]+) ops/sec;')
OPSWALL = re.compile(rb'^# (\w+): ops=(\d+) wall=([\d.]+) s')
LSM = re.compile(rb'^# (\w+): user_bytes=.* flush\+compaction=([\d.]+) MiB')
LOG_BLOCK = 32768  # log::kBlockSize of both engines


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n\n', 1)[1])
    p.add_argument('--out', required=True, help='timeline CSV to write; with several '
                   'workloads a name holding {name} (the workload\'s name; {benchmark} works too), '
                   'e.g. DIR/leveldb-{name}.csv')
    p.add_argument('--benchmark', help='the write workload(s) to time, comma-separated '
                   '(default: every one in the command\'s --benchmarks)')
    p.add_argument('--interval', type=float, default=1.0, help='row length in seconds (1)')
    p.add_argument('--sample-ms', type=float, default=5.0,
                   help='sampling period of the /proc counters in ms (5)')
    p.add_argument('--with-rss', action='store_true', help='add an rss_mib column')
    p.add_argument('--raw', help='also write every raw sample to this CSV (for checking)')
    p.add_argument('command', nargs=argparse.REMAINDER,
                   help='-- followed by the peerbench command line')
    a = p.parse_args()
    if a.command and a.command[0] == '--':
        a.command = a.command[1:]
    if not a.command:
        p.error('no command given (put it after --)')
    flags = {}
    for arg in a.command[1:]:
        if arg.startswith('--') and '=' in arg:
            k, v = arg[2:].split('=', 1)
            flags[k] = v
    a.engine = flags.get('engine', '')
    names = [b for b in flags.get('benchmarks', 'fillseq,fillrandom,overwrite,readrandom,'
                                  'readmissing,readseq,seekrandom,deleterandom,fillsync'
                                  ).split(',') if b]
    if a.benchmark is None:
        a.benchmarks = [b for b in names if b in WRITE_WORKLOADS]
        if not a.benchmarks:
            p.error('the command\'s --benchmarks has no write workload to time ('
                    + ', '.join(WRITE_WORKLOADS) + ')')
    else:
        a.benchmarks = [b for b in a.benchmark.split(',') if b]
    for b in a.benchmarks:
        if b not in WRITE_WORKLOADS:
            p.error(f'--benchmark {b}: only {", ".join(WRITE_WORKLOADS)} can be timed '
                    '(single writer on the main thread)')
        if b not in names:
            p.error(f'--benchmark {b} is not in the command\'s --benchmarks')
        if names.count(b) > 1:
            p.error(f'{b} appears twice in --benchmarks')
    if len(a.benchmarks) > 1 and '{name}' not in a.out and '{benchmark}' not in a.out:
        p.error(f'{len(a.benchmarks)} workloads to time ({",".join(a.benchmarks)}): --out needs '
                '{name} in its name (or name one with --benchmark)')
    if int(flags.get('batch', '1')) != 1:
        p.error('--batch must be 1: the estimate counts one write(2) per Put')
    if a.engine not in ('leveldb', 'rocksdb'):
        p.error('the command needs --engine=leveldb or --engine=rocksdb')
    a.names = names
    if a.interval <= 0 or a.sample_ms <= 0:
        p.error('--interval and --sample-ms must be positive')
    return a


def io_fields(fd):
    """rchar, wchar, syscr, syscw, ... of a /proc io file as a dict, or None once it is gone."""
    try:
        data = os.pread(fd, 1024, 0)
    except OSError:
        return None
    out = {}
    for line in data.split(b'\n'):
        k, _, v = line.partition(b':')
        if v:
            out[k.decode()] = int(v)
    return out or None


def main():
    a = parse_args()
    page = os.sysconf('SC_PAGE_SIZE')
    child = subprocess.Popen(a.command, stdout=subprocess.PIPE, bufsize=0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: child.send_signal(s))

    lines = []  # (arrival time, line bytes)

    def pump():
        out = sys.stdout.buffer
        reader = child.stdout
        buf = b''
        while True:
            chunk = reader.read(65536)
            if not chunk:
                break
            now = time.monotonic()
            try:
                out.write(chunk)
                out.flush()
            except (BrokenPipeError, ValueError):
                pass  # our reader went away: keep draining so that the child never blocks
            buf += chunk
            *complete, buf = buf.split(b'\n')
            lines.extend((now, l) for l in complete)
        if buf:
            lines.append((time.monotonic(), buf))

    t0 = time.monotonic()
    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()

    fds = []
    try:
        proc_fd = os.open(f'/proc/{child.pid}/io', os.O_RDONLY)
        main_fd = os.open(f'/proc/{child.pid}/task/{child.pid}/io', os.O_RDONLY)
        statm_fd = os.open(f'/proc/{child.pid}/statm', os.O_RDONLY)
        fds = [proc_fd, main_fd, statm_fd]
    except OSError as e:
        print(f'peer_timeline: cannot open /proc/{child.pid}: {e}', file=sys.stderr)
    samples = []  # (t, main syscw, main wchar, process wchar, rss bytes)
    period = a.sample_ms / 1000.0
    next_t = time.monotonic()
    while fds and child.poll() is None:
        t = time.monotonic()
        pio, mio = io_fields(proc_fd), io_fields(main_fd)
        try:
            rss = int(os.pread(statm_fd, 256, 0).split()[1]) * page
        except (OSError, IndexError, ValueError):
            rss = 0
        if pio is None or mio is None:
            break
        samples.append((t, mio['syscw'], mio['wchar'], pio['wchar'], rss))
        next_t += period
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_t = time.monotonic()
    for fd in fds:
        os.close(fd)
    status = child.wait()
    pumper.join()
    code = status if status >= 0 else 128 - status

    if a.raw:
        with open(a.raw, 'w') as f:
            f.write('t_s,main_syscw,main_wchar,process_wchar,rss_bytes\n')
            for t, sc, mw, pw, rss in samples:
                f.write(f'{t - t0:.4f},{sc},{mw},{pw},{rss}\n')
    for bench in a.benchmarks:
        out = a.out.replace('{name}', bench).replace('{benchmark}', bench)
        try:
            write_timeline(a, bench, out, samples, lines)
        except TimelineError as e:
            if os.path.exists(out):
                os.remove(out)  # not a stale timeline from an earlier run either
            print(f'peer_timeline: no timeline for {bench} ({out} not written): {e}',
                  file=sys.stderr)
            if code == 0:
                code = 1
    sys.exit(code)


class TimelineError(Exception):
    pass


def write_timeline(a, bench, out, samples, lines):
    name = bench.encode()
    result = next(((t, m) for t, l in lines if (m := RESULT.match(l)) and m[1] == name), None)
    if result is None:
        raise TimelineError('the child printed no result line for it')
    t_hi, m = result
    ops_sec = float(m[3])
    ow = next((m for _, l in lines if (m := OPSWALL.match(l)) and m[1] == name), None)
    if ow:
        n, wall = int(ow[2]), float(ow[3])
    else:  # no "# name: ops=" line: the result line's ops/sec and the workload's op count
        n = None
        wall = None
    # Lower bound: the output of the workload before this one (flushed when that one ended).
    index = a.names.index(bench)
    t_lo = samples[0][0] if samples else 0.0
    for t, l in lines:
        if (mm := RESULT.match(l)) and mm[1].decode() in a.names[:index] and t < t_hi:
            t_lo = max(t_lo, t)
    window = [s for s in samples if t_lo <= s[0] <= t_hi]
    if len(window) < 2:
        raise TimelineError('too few samples between the workload\'s bounds')
    ts = [s[0] for s in window]
    # Cumulative estimated puts of the main thread and background write bytes, per sample.
    frag = a.engine == 'leveldb'
    base = window[0]

    def puts(s):
        calls = s[1] - base[1]
        return calls - ((s[2] - base[2]) / LOG_BLOCK if frag else 0.0)

    ops_c = [puts(s) for s in window]
    bg_c = [(s[3] - base[3]) - (s[2] - base[2]) for s in window]
    rss = [s[4] for s in window]

    def at(curve, t):  # linear interpolation of a cumulative curve at time t
        if t <= ts[0]:
            return curve[0]
        if t >= ts[-1]:
            return curve[-1]
        i = bisect.bisect_right(ts, t)
        t1, t2 = ts[i - 1], ts[i]
        return curve[i - 1] + (curve[i] - curve[i - 1]) * (t - t1) / (t2 - t1)

    if wall is None:
        if not ops_sec:
            raise TimelineError('no wall time for it')
        n = round(ops_c[-1])  # best effort: everything the main thread wrote in the window
        wall = n / ops_sec
    if wall > ts[-1] - ts[0]:
        wall = ts[-1] - ts[0]
    # The workload: the W-second span holding the most main-thread write calls.
    # The count in [s, s + W] is piecewise linear in s with breaks where s or s + W is a sample
    # time, so its maximum is at one of those.
    best, start = -1.0, ts[0]
    for t in sorted(set(ts) | {u - wall for u in ts}):
        if t < ts[0] or t + wall > ts[-1]:
            continue
        got = at(ops_c, t + wall) - at(ops_c, t)
        if got > best + 1e-9:
            best, start = got, t
    end = start + wall

    # Inside the sample periods holding the workload's first and last write the curves are
    # interpolated linearly, which would spread those periods' calls over them and leave part
    # outside [start, end]: the first and last rows take those periods whole instead, and the
    # period next to them too (at most two more on each side) while it holds at least 5% of
    # a period's mean number of puts (the span search may cut a partial one off).
    i_lo = max(bisect.bisect_right(ts, start) - 1, 0)
    i_hi = min(bisect.bisect_left(ts, end), len(ts) - 1)
    thr = 0.05 * n * (ts[-1] - ts[0]) / (len(ts) - 1) / wall if wall > 0 else 1
    for _ in range(2):
        if i_lo > 0 and ops_c[i_lo] - ops_c[i_lo - 1] >= max(thr, 1):
            i_lo -= 1
        if i_hi + 1 < len(ts) and ops_c[i_hi + 1] - ops_c[i_hi] >= max(thr, 1):
            i_hi += 1
    lo, hi = ts[i_lo], ts[i_hi]

    def edge(t):
        return lo if t <= start else hi if t >= end else t

    rows = []
    t = start
    while t < end - 1e-9:
        t2 = min(t + a.interval, end)
        ops = at(ops_c, edge(t2)) - at(ops_c, edge(t))
        comp = at(bg_c, edge(t2)) - at(bg_c, edge(t))
        row = [f'{t2 - start:.3f}', f'{round(ops)}', f'{ops / (t2 - t):.1f}', '', '', '',
               f'{round(comp)}']
        if a.with_rss:
            i = min(bisect.bisect_right(ts, t2), len(ts) - 1)
            row.append(f'{rss[i] / 1048576:.1f}')
        rows.append(row)
        t = t2
    with open(out, 'w') as f:
        f.write(HEADER + (',rss_mib' if a.with_rss else '') + '\n')
        for row in rows:
            f.write(','.join(row) + '\n')

    est = at(ops_c, hi) - at(ops_c, lo)
    comp_total = at(bg_c, hi) - at(bg_c, lo)
    lsm = next((float(m[2]) for _, l in lines if (m := LSM.match(l)) and m[1] == name), None)
    settle_bg = bg_c[-1] - at(bg_c, hi)
    msg = (f'peer_timeline: {a.engine} {bench}: {len(rows)} rows in {out}; '
           f'estimated ops {est:,.0f} vs {n:,} done ({(est / n - 1) * 100 if n else 0:+.2f}%); '
           f'mean estimated {est / wall:,.0f} ops/s vs result line {ops_sec:,.0f}; '
           f'background write bytes {comp_total / 1048576:.1f} MiB during the workload '
           f'+ {settle_bg / 1048576:.1f} MiB after it')
    if lsm is not None:
        msg += f' (engine flush+compaction incl. settle: {lsm:.1f} MiB)'
    print(msg, file=sys.stderr)


if __name__ == '__main__':
    main()
