#!/usr/bin/env bash
# Runs the Python client-library suite (Tests/clients) against kvserver:
#   Tools/clients/run.sh [pytest args...]
# Creates .build/venv with `python3 -m venv` when it is missing or when
# Tests/clients/requirements.txt changed (a hash stamp in the venv records what was
# installed), installs the pinned requirements, then runs pytest on Tests/clients.
#   KVSERVER_BIN   the server under test (default .build/debug/kvserver)
#   KV_TARGET=redis  run the same tests against Debian's /usr/bin/redis-server instead
#                  (how each test is checked to be right)
# Needs python3 with venv support: on Debian, apt-get install python3-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
venv=.build/venv
req=Tests/clients/requirements.txt
# shellcheck source=../lib/venv.sh
. Tools/lib/venv.sh
ensure_venv run.sh "$venv" "$req"

export KVSERVER_BIN=${KVSERVER_BIN:-.build/debug/kvserver}
case "$KVSERVER_BIN" in /*) ;; *) KVSERVER_BIN="$root/$KVSERVER_BIN" ;; esac
if [ "${KV_TARGET:-kvserver}" != redis ] && [ ! -x "$KVSERVER_BIN" ]; then
  echo "run.sh: $KVSERVER_BIN is not an executable: build it first (swift build) or set KVSERVER_BIN" >&2
  exit 2
fi
# The whole suite, unless the arguments name test files or node ids themselves.
targets=(Tests/clients)
for arg in "$@"; do
  case "$arg" in -*) continue ;; esac
  if [ -e "${arg%%::*}" ]; then targets=(); break; fi
done
# No .pytest_cache or __pycache__ left in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest "${targets[@]}" -q -p no:cacheprovider "$@"
