#!/usr/bin/env bash
# GPU check of every model (paper presets, fp32 and bf16, kill/resume); see scripts/gpu_check.py. Under 8 min target
# on one H100/H200. On an H200 (2026-12-04) its resume check ran; the full table did not finish beside the reference run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec timeout 480 "$PY" scripts/gpu_check.py "$@"
