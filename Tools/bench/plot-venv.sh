#!/usr/bin/env bash
# The Python environment of the benchmark charts: .build/venv-plot with the exact versions of
# Tools/bench/plot-requirements.txt (matplotlib and its dependencies, binary wheels from PyPI).
# Created with `python3 -m venv` when it is missing or when the requirements or the Python
# changed (a hash stamp in the venv records what was installed), as Tools/clients/run.sh does.
#   plot-venv.sh                       make sure the venv is there; print its python's path
#   plot-venv.sh ARGS...               the same, then run Tools/bench/charts.py ARGS...
#                                      (e.g. --timelines DIR --results DIR --out docs/charts)
#   PYTHON=python3.12 plot-venv.sh     build the venv with another interpreter (>= 3.11)
# Needs python3 with venv support: on Debian, apt-get install python3-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
venv=.build/venv-plot
req=Tools/bench/plot-requirements.txt
# shellcheck source=../lib/venv.sh
. Tools/lib/venv.sh
ensure_venv plot-venv.sh "$venv" "$req" --only-binary=:all:

if [ $# -eq 0 ]; then
  echo "$root/$venv/bin/python"
  exit 0
fi
# No __pycache__ left in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" Tools/bench/charts.py "$@"
