# Sourced by compare.sh, heavy-write.sh and replication.sh (wait_ready only): start and stop the server under test on $port.
# kvserver ($kvserver) runs with --fsync everysec; Debian's redis-server with AOF everysec and
# no RDB snapshots, the same durability promise.

wait_ready() {  # [port] (default $port)
  local p=${1:-$port}
  for _ in $(seq 1 300); do
    redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "server on port $p did not start" >&2
  exit 1
}

start_server() {  # name datadir
  mkdir -p "$2"
  if [ "$1" = kvserver ]; then
    "$kvserver" --port "$port" --dir "$2" --fsync everysec --loglevel warning &
  else
    redis-server --port "$port" --dir "$2" --appendonly yes --appendfsync everysec --save "" \
      --daemonize no --logfile "$2/redis.log" &
  fi
  server_pid=$!
  wait_ready
}

stop_server() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$server_pid" 2>/dev/null || true
}
