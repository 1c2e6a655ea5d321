#!/usr/bin/env bash
# GPU check of every model (kill/resume first, then paper presets in fp32 and bf16); see scripts/gpu_check.py. At most
# 6 min (issue #23) on one H100/H200, alone on the card; rows print as they finish, so a cut run still shows them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec timeout 360 "$PY" scripts/gpu_check.py "$@"
