# Sourced by the scripts that run Python from PyPI (Tools/clients/run.sh, Tools/bench/plot-venv.sh):
#   ensure_venv NAME VENV REQUIREMENTS [pip install flags…]
# Creates VENV with `python3 -m venv` (PYTHON= picks another interpreter) when it is missing or
# when REQUIREMENTS or the interpreter changed (a hash stamp in the venv records what was
# installed), and installs the pinned REQUIREMENTS. NAME prefixes the messages. Exits 2 with
# what to install when python3 or its venv module is missing. Run from the repository root.
ensure_venv() {
  local name=$1 venv=$2 req=$3
  shift 3
  local python=${PYTHON:-python3} stamp=$venv/.requirements.sha256 log
  log=.build/$(basename "$venv")-create.log
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "$name: $python not found: install python3 (Debian: apt-get install python3 python3-venv)" >&2
    exit 2
  fi
  local want
  want=$( { sha256sum "$req" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  rm -rf "$venv"
  mkdir -p .build
  echo "$name: creating $venv and installing $req" >&2
  if ! "$python" -m venv "$venv" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$venv" "$log"
    echo "$name: '$python -m venv' failed: the venv module (with ensurepip) is missing." >&2
    echo "$name: on Debian install it with: apt-get install python3-venv" >&2
    exit 2
  fi
  rm -f "$log"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" -r "$req"; then
    rm -rf "$venv"
    echo "$name: installing $req into $venv failed" >&2
    exit 2
  fi
  echo "$want" >"$stamp"
}
