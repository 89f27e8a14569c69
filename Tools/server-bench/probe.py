#!/usr/bin/env python3
"""A latency probe beside a load: GET one key every INTERVAL ms on its own connection until
told to stop (SIGTERM or a stop file), then print p50, p99 and max latency in ms.

    probe.py PORT [INTERVAL_MS] [STOP_FILE]

Each GET's latency is measured from send to the whole reply; a GET that starts late because
the previous one took long counts only its own time (the gap shows in max and p99 anyway)."""
import os, signal, socket, sys, time

port = int(sys.argv[1])
interval = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.005
stop_file = sys.argv[3] if len(sys.argv) > 3 else None
stopping = False

def stop(*_):
    global stopping
    stopping = True

signal.signal(signal.SIGTERM, stop)
sock = socket.create_connection(("127.0.0.1", port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
request = b"*2\r\n$3\r\nGET\r\n$11\r\nprobe:value\r\n"
latencies = []
buffer = b""
deadline = time.monotonic() + 3600
while not stopping and time.monotonic() < deadline:
    if stop_file and os.path.exists(stop_file):
        break
    start = time.monotonic()
    sock.sendall(request)
    while True:
        # A null ($-1 or _) or a bulk reply; the probe key holds a short value or nothing.
        if buffer.startswith(b"$-1\r\n") or buffer.startswith(b"_\r\n"):
            buffer = buffer[buffer.index(b"\n") + 1:]
            break
        if buffer.startswith(b"$") and b"\r\n" in buffer:
            n = int(buffer[1:buffer.index(b"\r\n")])
            head = buffer.index(b"\r\n") + 2
            if len(buffer) >= head + n + 2:
                buffer = buffer[head + n + 2:]
                break
        if buffer.startswith(b"-") and b"\r\n" in buffer:
            buffer = buffer[buffer.index(b"\n") + 1:]
            break
        chunk = sock.recv(65536)
        if not chunk:
            stopping = True
            break
        buffer += chunk
    latencies.append((time.monotonic() - start) * 1000)
    rest = interval - (time.monotonic() - start)
    if rest > 0:
        time.sleep(rest)

latencies.sort()
if not latencies:
    print("probe: no samples")
    sys.exit(1)
def pct(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))]
print(f"probe: samples={len(latencies)} p50={pct(0.50):.2f} p99={pct(0.99):.2f} max={latencies[-1]:.2f} ms")
