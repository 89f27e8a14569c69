#!/usr/bin/env python3
"""Larger than memory: one sorted set and one hash of N elements each (10,000,000 by default),
built through kvserver with pipelined ZADD/HSET of 1,000 elements per command, then:

  - ZRANGEBYSCORE of 100 members at random scores, and ZRANK of random members (SAMPLES each,
    one connection, one request at a time): p50, p99, max in ms;
  - HGET of random fields, for comparison;
  - DEL of each collection: its latency;
  - the store's size before the DEL and after a full compaction (kvserver stopped, then
    `kvctl --db DIR compact`): the deleted elements' space must come back;
  - kvserver's peak RSS (VmHWM) over the whole run.

Usage: big-collections.py KVSERVER KVCTL [N] [SAMPLES]     (make big-collections)
Prints one line per figure, as docs/BENCHMARKS.md records them."""
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

kvserver, kvctl = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
SAMPLES = int(sys.argv[4]) if len(sys.argv) > 4 else 2_000
PER_COMMAND = 1_000
PORT = 6398


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", PORT))
        self.buf = b""

    def receive(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def read_reply(self):
        """One reply (enough of RESP2 for what this script sends)."""
        while b"\r\n" not in self.buf:
            self.receive()
        line, self.buf = self.buf.split(b"\r\n", 1)
        kind = line[:1]
        if kind in (b"+", b":"):
            return line[1:]
        if kind == b"-":
            raise RuntimeError(line.decode())
        if kind == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.receive()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            return [self.read_reply() for _ in range(int(line[1:]))]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.sock.sendall(resp(*args))
        return self.read_reply()


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except FileNotFoundError:
                pass
    return total


def load(conn, pid, build_command, label):
    """Sends N elements in commands of PER_COMMAND, keeping 16 commands in flight."""
    started = time.monotonic()
    in_flight = 0
    sent = 0
    commands = N // PER_COMMAND
    for c in range(commands):
        conn.sock.sendall(build_command(c * PER_COMMAND))
        in_flight += 1
        sent += 1
        if in_flight == 16:
            conn.read_reply()
            in_flight -= 1
        if sent % 1000 == 0:
            print(f"  {label}: {sent * PER_COMMAND:,} elements, {time.monotonic() - started:.0f} s, "
                  f"peak RSS {peak_rss_mb(pid):.0f} MB", flush=True)
    for _ in range(in_flight):
        conn.read_reply()
    elapsed = time.monotonic() - started
    print(f"{label}: {N:,} elements in {elapsed:.0f} s ({N / elapsed:,.0f}/s)")


def zadd_command(start):
    args = [b"ZADD", b"bigz"]
    for i in range(start, start + PER_COMMAND):
        args += [b"%d" % i, b"member:%010d" % i]
    return resp(*args)


def hset_command(start):
    args = [b"HSET", b"bigh"]
    for i in range(start, start + PER_COMMAND):
        args += [b"field:%010d" % i, b"value:%010d" % i]
    return resp(*args)


def timed(conn, make_args, check):
    times = []
    for _ in range(SAMPLES):
        args = make_args()
        t0 = time.perf_counter()
        reply = conn.call(*args)
        times.append((time.perf_counter() - t0) * 1000)
        check(args, reply)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99) - 1], times[-1]


def main():
    work = tempfile.mkdtemp(prefix="big-collections-")
    data = os.path.join(work, "data")
    server = subprocess.Popen([kvserver, "--port", str(PORT), "--dir", data, "--fsync", "everysec", "--loglevel", "warning"])
    try:
        for _ in range(200):
            try:
                conn = Conn()
                conn.call("PING")
                break
            except OSError:
                time.sleep(0.05)
        load(conn, server.pid, zadd_command, "ZADD bigz")
        load(conn, server.pid, hset_command, "HSET bigh")
        assert int(conn.call("ZCARD", "bigz")) == N and int(conn.call("HLEN", "bigh")) == N
        rng = random.Random(7)

        def zrange_args():
            lo = rng.randrange(N - 100)
            return ["ZRANGEBYSCORE", "bigz", lo, "+inf", "LIMIT", 0, 100]

        def zrange_check(args, reply):
            assert len(reply) == 100 and reply[0] == b"member:%010d" % args[2], reply[:1]

        def zrank_args():
            return ["ZRANK", "bigz", b"member:%010d" % rng.randrange(N)]

        def zrank_check(args, reply):
            assert int(reply) == int(args[2][7:]), (args, reply)

        def hget_args():
            return ["HGET", "bigh", b"field:%010d" % rng.randrange(N)]

        def hget_check(args, reply):
            assert reply == b"value:" + args[2][6:], (args, reply)

        for label, make, check in [("ZRANGEBYSCORE ... LIMIT 0 100", zrange_args, zrange_check),
                                   ("ZRANK", zrank_args, zrank_check), ("HGET", hget_args, hget_check)]:
            p50, p99, worst = timed(conn, make, check)
            print(f"{label}: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {worst:.3f} ms ({SAMPLES} samples)")
        before = du(data)
        for key in ("bigz", "bigh"):
            t0 = time.perf_counter()
            assert int(conn.call("DEL", key)) == 1
            print(f"DEL {key}: {(time.perf_counter() - t0) * 1000:.3f} ms")
        print(f"peak RSS of kvserver: {peak_rss_mb(server.pid):.0f} MB")
        conn.sock.sendall(resp("SHUTDOWN"))  # answered by closing the connection, as Redis does
        server.wait(timeout=300)
        subprocess.run([kvctl, "--db", data, "compact"], check=True)
        after = du(data)
        print(f"store on disk: {before / 1e6:,.0f} MB before the DELs, {after / 1e6:,.0f} MB after a full compaction")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        subprocess.run(["rm", "-rf", work])


main()
