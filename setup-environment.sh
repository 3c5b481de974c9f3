#!/usr/bin/env bash
# Set up TinyTorch once: a virtual environment in .venv with everything the course needs.
# Then, in each new shell: source activate.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: TinyTorch needs Python 3.10 or newer; set PYTHON=/path/to/python3.x and run this again" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv ..."
    "$PYTHON" -m venv .venv
fi
echo "Installing TinyTorch and its dependencies ..."
PINS=()
if [ -f constraints.txt ]; then PINS=(-c constraints.txt); fi  # the versions the course was tested with
.venv/bin/python -m pip install --quiet ${PINS[@]+"${PINS[@]}"} -e ".[all]"
.venv/bin/tito system health
echo
echo "Ready. In each new shell run:  source activate.sh"
