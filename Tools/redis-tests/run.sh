#!/usr/bin/env bash
# Runs units of Redis 7.0.15's own test suite (external mode) against a server that is
# already listening on 127.0.0.1:PORT, and summarises the result.
#
#   Tools/redis-tests/run.sh PORT [UNIT ...]
#
# Default units: strings, keys, expiry, transactions, the protocol, INFO, SCAN, QUIT, other,
# the hash, set, sorted-set and list units, and Pub/Sub (see DEFAULT_UNITS). Tests that need what
# kvserver does not have (streams, Lua, CLIENT TRACKING / MONITOR / ACL users, a
# listpack's byte layout) are skipped through Tools/redis-tests/out-of-scope.txt (runtest
# --skipfile), each with its reason; tests tagged needs:debug are skipped for every server.
#
# Environment:
#   REDIS_TESTS_TARBALL   the suite tarball (default: $REPO/../shared/redis-tests/redis-7.0.15-tests.tar.gz)
#   REDIS_TESTS_SKIPFILE  the out-of-scope list (default: out-of-scope.txt beside this script);
#                         set it to the empty string to run every test (no skip file)
#   REDIS_TESTS_TIMEOUT   seconds one unit may take before it is killed and counted failed (300)
#
# Output: per unit "unit/xxx: N ok, M err" followed by the failing tests, then exactly one
# last line "redis-tests: N passed, M failed". Exit status is non-zero if any test failed, a
# unit timed out, crashed or raised an [exception]. Raw logs: $REPO/.build/redis-tests/logs/.
#
# Needs tclsh (Debian: tcl) and GNU timeout. Everything under $REPO/.build/redis-tests/ is
# deleted and re-extracted on each run.
set -euo pipefail

DEFAULT_UNITS=(unit/type/string unit/type/incr unit/keyspace unit/expire unit/multi
               unit/protocol unit/info-command unit/scan unit/quit unit/other
               unit/type/hash unit/type/set unit/type/zset unit/type/list unit/type/list-2 unit/type/list-3
               unit/pubsub)

usage() { echo "usage: $0 PORT [UNIT ...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
PORT=$1; shift
[[ $PORT =~ ^[0-9]+$ ]] || usage
if [ $# -gt 0 ]; then UNITS=("$@"); else UNITS=("${DEFAULT_UNITS[@]}"); fi

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
TARBALL=${REDIS_TESTS_TARBALL:-$REPO/../shared/redis-tests/redis-7.0.15-tests.tar.gz}
SKIPSRC=${REDIS_TESTS_SKIPFILE-$SCRIPT_DIR/out-of-scope.txt}
UNIT_TIMEOUT=${REDIS_TESTS_TIMEOUT:-300}
WORK=$REPO/.build/redis-tests
LOGS=$WORK/logs

command -v tclsh >/dev/null || { echo "run.sh: tclsh not found (apt-get install tcl)" >&2; exit 2; }
[ -f "$TARBALL" ] || { echo "run.sh: tarball not found: $TARBALL" >&2; exit 2; }

# Fresh copy of the suite each run.
rm -rf "$WORK"
mkdir -p "$WORK" "$LOGS"
tar -xzf "$TARBALL" -C "$WORK"
[ -x "$WORK/runtest" ] && [ -f "$WORK/tests/test_helper.tcl" ] ||
    { echo "run.sh: $TARBALL does not hold runtest and tests/" >&2; exit 2; }

# Patch 1 (README): external mode sends FUNCTION FLUSH at the start of every start_server
# block; a server without FUNCTION must not abort the block.
sed -i 's/^    r function flush$/    catch {r function flush}/' "$WORK/tests/support/server.tcl"
grep -q '^    catch {r function flush}$' "$WORK/tests/support/server.tcl" ||
    { echo "run.sh: could not patch 'r function flush' in tests/support/server.tcl" >&2; exit 2; }

# Patch 2: the harness listens on a control port of its own, found by find_available_port,
# which also probes port+10000 (a cluster-bus port, irrelevant in external mode). Drop that
# probe so the only ports touched are the ones chosen by --baseport below (PORT+1..PORT+32).
util=$WORK/tests/support/util.tcl
sed -i -e 's/^        if {\[catch {set fd1 \[socket -server 127.0.0.1 \$port\]}\] ||$/        if {[catch {set fd1 [socket -server 127.0.0.1 $port]}]} {/' \
       -e '/^            \[catch {set fd2 \[socket -server 127.0.0.1 \[expr \$port+10000\]\]}\]} {$/d' \
       -e '/^            close \$fd2$/d' "$util"
if grep -q 'port+10000' "$util" || ! grep -q '^        if {\[catch {set fd1 \[socket -server 127.0.0.1 \$port\]}\]} {$' "$util"; then
    echo "run.sh: could not patch find_available_port in tests/support/util.tcl" >&2; exit 2
fi

# runtest matches --skipfile lines exactly against test names (a line starting with '/' is a
# regexp); a '#' line would only match a test of that very name and a blank line is ignored,
# but strip comments, blank lines, CRs and trailing blanks so the list is exactly the names.
SKIP_ARGS=()
SKIPFILE=""
if [ -n "$SKIPSRC" ]; then
    [ -f "$SKIPSRC" ] || { echo "run.sh: skip file not found: $SKIPSRC" >&2; exit 2; }
    SKIPFILE=$WORK/skipfile.txt
    sed -e 's/\r$//' -e 's/[[:space:]]*$//' "$SKIPSRC" | grep -v -e '^#' -e '^$' > "$SKIPFILE" || true
    SKIP_ARGS=(--skipfile "$SKIPFILE")
fi

total_ok=0
total_err=0
units_broken=0
# Whether the server accepts a TCP connection (bash's /dev/tcp; nothing is sent).
server_up() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
cd "$WORK"
for unit in "${UNITS[@]}"; do
    log=$LOGS/$(echo "$unit" | tr '/' '_').log
    rc=0
    up_before=0; server_up && up_before=1
    # timeout puts itself and runtest in a process group of their own and signals the whole
    # group, so the test client tclsh that runtest spawns dies with it.
    TERM=dumb timeout -k 10 "$UNIT_TIMEOUT" ./runtest --host 127.0.0.1 --port "$PORT" \
        --baseport $((PORT + 33)) --timeout "$UNIT_TIMEOUT" \
        --singledb --durable \
        --tags -needs:debug --tags -needs:repl --tags -needs:config-maxmemory \
        "${SKIP_ARGS[@]}" --single "$unit" </dev/null >"$log" 2>&1 || rc=$?

    ok=$(grep -c '^\[ok\]: ' "$log" || true)
    err=$(grep -c '^\[err\]: ' "$log" || true)
    echo "$unit: $ok ok, $err err"
    # A failing test's name is the first line of its [err] record, "NAME in tests/unit/x.tcl";
    # an error outside any test (durable mode) shows the error message instead.
    grep '^\[err\]: ' "$log" | sed -e 's/^\[err\]: /  - /' -e 's/ in tests\/unit\/[^ ]*\.tcl$//' || true
    broken=0
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "  - [unit timed out after ${UNIT_TIMEOUT}s and was killed]"
        broken=1
    elif grep -q '^\[TIMEOUT\]' "$log"; then
        echo "  - [runtest's own no-progress timeout fired, see $log]"
        broken=1
    elif grep -q '^\[exception\]: ' "$log"; then
        grep -m1 '^\[exception\]: ' "$log" | sed 's/^/  - /'
        broken=1
    elif ! grep -q "^\[[0-9]*/[0-9]* done\]: $unit " "$log"; then
        echo "  - [unit did not finish (runtest exit status $rc), see $log]"
        broken=1
    elif [ "$rc" -ne 0 ] && [ "$err" -eq 0 ]; then
        echo "  - [runtest exited with status $rc without a failed test, see $log]"
        broken=1
    fi
    # A server that went away during the unit (crash, or e.g. a SHUTDOWN it should have
    # refused) is a failure of its own, and explains the failures of every later unit.
    if [ "$up_before" -eq 1 ] && ! server_up; then
        echo "  - [the server stopped accepting connections during this unit]"
        broken=1
    fi
    total_ok=$((total_ok + ok))
    total_err=$((total_err + err + broken))
    units_broken=$((units_broken + broken))
done

# Entries of the skip file that matched no test (stale names), only when every default unit
# ran to its end (a crashed unit never reaches its later tests).
if [ -n "$SKIPFILE" ] && [ "${UNITS[*]}" = "${DEFAULT_UNITS[*]}" ] && [ "$units_broken" -eq 0 ]; then
    cat "$LOGS"/*.log | sed -n 's/^\[skip\]: //p' | sort -u > "$WORK/skipped.txt"
    grep -v '^/' "$SKIPFILE" | sort -u | comm -23 - "$WORK/skipped.txt" | while IFS= read -r name; do
        echo "note: out-of-scope entry matched no test: $name"
    done
fi

echo "redis-tests: $total_ok passed, $total_err failed"
[ "$total_err" -eq 0 ]
