#!/usr/bin/env bash
# Starts kvserver (KVSERVER_BIN, default .build/debug/kvserver) on a free loopback port over
# a fresh directory, runs Redis's own suite against it (Tools/redis-tests/run.sh), and stops
# it. `make test` runs this after the Swift and Python suites.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${KVSERVER_BIN:-.build/debug/kvserver}
[ -x "$bin" ] || { echo "against-kvserver.sh: $bin is not built" >&2; exit 2; }
dir=$(mktemp -d /tmp/kvserver-redis-tests-XXXXXX)
# A free port with room above it: run.sh puts runtest's own control socket a little higher.
port=$(python3 -c 'import socket
for p in range(21000, 29000, 50):
    ok = True
    for q in (p, p + 33):
        s = socket.socket()
        try: s.bind(("127.0.0.1", q))
        except OSError: ok = False
        finally: s.close()
    if ok: print(p); break')
"$bin" --bind 127.0.0.1 --port "$port" --dir "$dir" --loglevel warning &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" PING >/dev/null 2>&1 && break
  sleep 0.1
done
bash Tools/redis-tests/run.sh "$port"
