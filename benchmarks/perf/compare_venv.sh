#!/usr/bin/env bash
# Side venv for benchmarks/perf/planner.py's comparison with stable-worldmodel's
# CEMSolver (`make compare-venv`).
#
# stable-worldmodel 0.1.1 imports torchvision, and PyPI's torchvision does not
# import beside the CPU torch 2.13.0 of .venv; so the comparison gets its own venv
# with torch 2.14.1 + torchvision 0.29.1 (a CUDA build that runs on CPU, ~5.5 GB;
# on these machines pip takes them from the local wheel index). Takes minutes.
#
#   bash benchmarks/perf/compare_venv.sh            # creates .venv-compare
#   .venv-compare/bin/python benchmarks/perf/planner.py
set -euo pipefail

cd "$(dirname "$0")/../.."
VENV="${VENV_COMPARE:-.venv-compare}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade "pip>=23" "setuptools>=68" wheel
"$PIP" install -q torch==2.14.1 torchvision==0.29.1
"$PIP" install -q stable-worldmodel==0.1.1 opencv-python-headless imageio
"$PIP" install -q -e .

"$VENV/bin/python" - <<'EOF'
import torch
from stable_worldmodel.solver import CEMSolver  # noqa: F401

import wmplan.planners  # noqa: F401

print(f"ok: torch {torch.__version__}, stable_worldmodel CEMSolver and wmplan import")
EOF
echo "now run: $VENV/bin/python benchmarks/perf/planner.py"
