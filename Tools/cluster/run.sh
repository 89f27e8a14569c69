#!/usr/bin/env bash
# make cluster: NODES kvservers serving one keyspace behind twemproxy (Debian's nutcracker),
# consistent hashing (ketama over fnv1a_64 by default), all on 127.0.0.1, in the foreground
# until Ctrl-C or SIGTERM, which stop the proxy and then every node gracefully (a node that
# dies meanwhile is reported and left out: the proxy goes on without it).
# docs/SCALING.md.
#   Tools/cluster/run.sh [WORK_DIR]
# WORK_DIR (or CLUSTER_DIR; default ./cluster-data under the current directory) holds one data
# directory and one log per node (node0, node0.log, …), the generated nutcracker.yml and
# nutcracker.log. An existing WORK_DIR is reused: the nodes reopen their data.
#   KVSERVER_BIN   the server (default .build/release/kvserver; a relative path is taken from
#                  the current directory, else from the repository root)
#   KVSERVER_ARGS  extra kvserver flags for every node, e.g. "--fsync always"
#   NODES          number of kvservers (default 3), named kv0, kv1, … in the proxy's config
#   BASE_PORT      port of kv0 (default 7380); node i listens on BASE_PORT + i
#   PROXY_PORT     the proxy's port (default 22121)
#   STATS_PORT     nutcracker's JSON stats on 127.0.0.1 (default 22222)
#   HASH           the key hash ketama places keys by: fnv1a_64 (default), murmur or md5
#                  (the ones Tools/cluster/rebalance.py models; docs/SCALING.md compares them)
#   AUTO_EJECT     true (default): a failed node is taken out of the ring (its keys are served
#                  by the others, as misses) and retried every server_retry_timeout;
#                  false: its keys answer errors until it is back (docs/SCALING.md weighs both)
# nutcracker is installed with apt-get when missing, as the Makefile installs packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

work=${1:-${CLUSTER_DIR:-./cluster-data}}
nodes=${NODES:-3}
base_port=${BASE_PORT:-7380}
proxy_port=${PROXY_PORT:-22121}
stats_port=${STATS_PORT:-22222}
auto_eject=${AUTO_EJECT:-true}
hash=${HASH:-fnv1a_64}
bin=${KVSERVER_BIN:-.build/release/kvserver}
case "$bin" in
  /*) ;;
  *) [ -x "$bin" ] || bin="$root/$bin" ;;
esac
case "$nodes" in ''|*[!0-9]*) echo "run.sh: NODES must be a number, not '$nodes'" >&2; exit 2 ;; esac
if [ "$nodes" -lt 1 ]; then echo "run.sh: NODES must be at least 1" >&2; exit 2; fi
case "$auto_eject" in true|false) ;; *) echo "run.sh: AUTO_EJECT must be true or false" >&2; exit 2 ;; esac
case "$hash" in fnv1a_64|murmur|md5) ;; *) echo "run.sh: HASH must be fnv1a_64, murmur or md5" >&2; exit 2 ;; esac
if [ ! -x "$bin" ]; then
  echo "run.sh: $bin is not an executable: build it first (make release) or set KVSERVER_BIN" >&2
  exit 2
fi

# The Makefile's apt_install for one package (apt-get update only when something is missing).
if ! command -v nutcracker >/dev/null 2>&1 && [ ! -x /usr/sbin/nutcracker ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing: nutcracker"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nutcracker
fi
nutcracker=$(command -v nutcracker || echo /usr/sbin/nutcracker)

mkdir -p "$work"
work=$(cd "$work" && pwd)

# One RESP PING on a fresh connection: true on +PONG.
ping_port() {
  ( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf '*1\r\n$4\r\nPING\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [[ $line == +PONG* ]] ) 2>/dev/null
}

port_taken() { ( exec 3<>"/dev/tcp/127.0.0.1/$1" ) 2>/dev/null; }

for p in $(seq "$base_port" $((base_port + nodes - 1))) "$proxy_port" "$stats_port"; do
  if port_taken "$p"; then
    echo "run.sh: port $p is already in use (set BASE_PORT, PROXY_PORT or STATS_PORT)" >&2
    exit 1
  fi
done

pids=()    # node pids in order, then nutcracker's
names=()
stopping=0

# True while the process runs (a zombie, ended but not yet reaped, does not count).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}

stop_all() {
  stopping=1
  trap '' INT TERM HUP
  local i pid stopped=()
  # The proxy first, so no request reaches a node that is going away; then the nodes.
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
    pid=${pids[i]}
    if running "$pid" && kill -TERM "$pid" 2>/dev/null; then
      stopped=("${names[i]}" "${stopped[@]}")
    fi
    for _ in $(seq 1 100); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then
      echo "run.sh: ${names[i]} (pid $pid) still running 10 s after SIGTERM: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  [ ${#stopped[@]} -eq 0 ] || echo "run.sh: stopped ${stopped[*]}" >&2
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail_start() {  # name log
  echo "run.sh: $1 did not start; the end of $2:" >&2
  tail -n 20 "$2" >&2 || true
  exit 1
}

wait_ping() {  # port pid name log
  for _ in $(seq 1 300); do
    ping_port "$1" && return 0
    running "$2" || fail_start "$3" "$4"
    sleep 0.1
  done
  fail_start "$3 (no PING answer on port $1 in 30 s)" "$4"
}

servers=""
for (( i = 0; i < nodes; i++ )); do
  port=$((base_port + i))
  # shellcheck disable=SC2086  # KVSERVER_ARGS is a list of flags
  setsid "$bin" --bind 127.0.0.1 --port "$port" --dir "$work/node$i" ${KVSERVER_ARGS:-} \
    >>"$work/node$i.log" 2>&1 </dev/null &
  pids+=($!)
  names+=("kv$i")
  # setsid: a Ctrl-C in the terminal reaches this script only, which then stops the proxy
  # before the nodes. The name after the weight is what ketama hashes: a node keeps its
  # share of the keys when it moves to another address, as long as it keeps its name.
  servers+="   - 127.0.0.1:$port:1 kv$i"$'\n'
done
for (( i = 0; i < nodes; i++ )); do
  wait_ping $((base_port + i)) "${pids[i]}" "kv$i" "$work/node$i.log"
done

conf=$work/nutcracker.yml
cat >"$conf" <<EOF
# Generated by Tools/cluster/run.sh; docs/SCALING.md explains each setting.
kvcluster:
  listen: 127.0.0.1:$proxy_port
  redis: true
  hash: $hash
  distribution: ketama
  preconnect: true
  timeout: 2000
  backlog: 1024
  auto_eject_hosts: $auto_eject
  server_failure_limit: 2
  server_retry_timeout: 5000
  servers:
$servers
EOF
"$nutcracker" --test-conf -c "$conf" >/dev/null 2>&1 || {
  "$nutcracker" --test-conf -c "$conf" >&2 || true
  echo "run.sh: nutcracker rejected $conf" >&2
  exit 1
}
setsid "$nutcracker" -c "$conf" -o "$work/nutcracker.log" -s "$stats_port" -a 127.0.0.1 -i 1000 \
  </dev/null >>"$work/nutcracker.log" 2>&1 &
pids+=($!)
names+=("nutcracker")
wait_ping "$proxy_port" "${pids[-1]}" nutcracker "$work/nutcracker.log"

echo "cluster: $nodes kvserver nodes on 127.0.0.1:$base_port-$((base_port + nodes - 1)) (data and logs in $work)"
echo "proxy:   127.0.0.1:$proxy_port  (twemproxy, ketama over $hash; stats: 127.0.0.1:$stats_port)"
echo "try:     redis-cli -p $proxy_port SET greeting hello; redis-cli -p $proxy_port GET greeting"
echo "Ctrl-C stops the proxy and the nodes."

# In the foreground until a signal (the traps). A node that ends by itself is reported and
# left to the proxy (which ejects it, AUTO_EJECT); the proxy ending ends everything.
watching=("${pids[@]}")
while [ ${#watching[@]} -gt 0 ]; do
  status=0
  ended=""
  wait -n -p ended "${watching[@]}" || status=$?
  [ -n "$ended" ] || continue
  for (( i = 0; i < ${#pids[@]}; i++ )); do [ "${pids[i]}" = "$ended" ] && break; done
  if [ "${names[i]}" = nutcracker ]; then
    echo "run.sh: nutcracker (pid $ended) exited by itself (status $status): stopping the nodes" >&2
    exit 1
  fi
  echo "run.sh: ${names[i]} (pid $ended) exited (status $status); the proxy goes on without it." >&2
  echo "run.sh: to bring it back on the same port and data (not stopped by Ctrl-C then):" >&2
  echo "  $bin --bind 127.0.0.1 --port $((base_port + i)) --dir $work/node$i ${KVSERVER_ARGS:-}" >&2
  rest=()
  for pid in "${watching[@]}"; do [ "$pid" = "$ended" ] || rest+=("$pid"); done
  watching=("${rest[@]}")
done
