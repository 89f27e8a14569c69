# Sourced by the scripts that run groups of servers in the foreground (Tools/cluster/run.sh,
# Tools/ha/run.sh): PING a port, watch and stop processes. The caller keeps the started
# processes' pids and names in the arrays `pids` and `names` (stopped last-first by stop_all,
# which it traps on EXIT) and sets `stopping=0`; `watch_all` waits on them.

# One RESP PING on a fresh connection: true on +PONG.
ping_port() {
  ( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf '*1\r\n$4\r\nPING\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [[ $line == +PONG* ]] ) 2>/dev/null
}

port_taken() { ( exec 3<>"/dev/tcp/127.0.0.1/$1" ) 2>/dev/null; }

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
  # Last started first: the proxy or the sentinels, so nothing reaches (or reconfigures) a
  # node that is going away; then the nodes.
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

# In the foreground until a signal (the caller's traps): as each started process ends, calls
# the caller's `on_exit INDEX STATUS PID` (which may exit, ending everything) and watches the rest.
watch_all() {
  local watching=("${pids[@]}") status ended i pid rest
  while [ ${#watching[@]} -gt 0 ]; do
    status=0
    ended=""
    wait -n -p ended "${watching[@]}" || status=$?
    [ -n "$ended" ] || continue
    for (( i = 0; i < ${#pids[@]}; i++ )); do [ "${pids[i]}" = "$ended" ] && break; done
    on_exit "$i" "$status" "$ended"
    rest=()
    for pid in "${watching[@]}"; do [ "$pid" = "$ended" ] || rest+=("$pid"); done
    watching=("${rest[@]}")
  done
}

