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
stamp=$venv/.requirements.sha256
python=${PYTHON:-python3}

if ! command -v "$python" >/dev/null 2>&1; then
  echo "plot-venv.sh: $python not found: install python3 (Debian: apt-get install python3 python3-venv)" >&2
  exit 2
fi
want=$( { sha256sum "$req" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$venv"
  mkdir -p .build
  echo "plot-venv.sh: creating $venv and installing $req" >&2
  if ! "$python" -m venv "$venv" >"$root/.build/venv-plot-create.log" 2>&1; then
    cat "$root/.build/venv-plot-create.log" >&2
    rm -rf "$venv" "$root/.build/venv-plot-create.log"
    echo "plot-venv.sh: '$python -m venv' failed: the venv module (with ensurepip) is missing." >&2
    echo "plot-venv.sh: on Debian install it with: apt-get install python3-venv" >&2
    exit 2
  fi
  rm -f "$root/.build/venv-plot-create.log"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      --only-binary=:all: -r "$req"; then
    rm -rf "$venv"
    echo "plot-venv.sh: installing $req into $venv failed" >&2
    exit 2
  fi
  echo "$want" >"$stamp"
fi

if [ $# -eq 0 ]; then
  echo "$root/$venv/bin/python"
  exit 0
fi
# No __pycache__ left in the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" Tools/bench/charts.py "$@"
