"""GPU run matrix (not run in CI; needs CUDA): every model's tiny preset trains a few iterations through
``ganbench train`` on CUDA in every precision (fp32, bf16, fp16 with GradScaler), in NCHW as well as channels_last (the
default), with ``--compile`` and with ``--compile-mode reduce-overhead`` (CUDA graphs). Each combination is its own
process (a crash in one does not hide the others), run ``--jobs`` at a time with a per-process time limit; one JSON
line per combination goes to ``--out``. Exit 1 if any combination fails.

    python scripts/gpu_matrix.py --device cuda --jobs 12 --out gpu_matrix.jsonl
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ganbench.models import MODELS

COMBOS: dict[str, list[str]] = {  # name -> extra `ganbench train` flags
    "fp32": ["--precision", "fp32"],
    "bf16": ["--precision", "bf16"],
    "fp16": ["--precision", "fp16"],
    "fp32-nchw": ["--precision", "fp32", "--no-channels-last"],
    "fp32-compile": ["--precision", "fp32", "--compile"],
    "bf16-reduce-overhead": ["--precision", "bf16", "--compile-mode", "reduce-overhead"],
}


def run_one(model: str, combo: str, device: str, kimg: float, timeout: float, tmp: str) -> dict:
    out = Path(tmp, f"{model}-{combo}")
    cmd = [sys.executable, "-m", "ganbench", "train", "--model", model, "--preset", "tiny", "--kimg", str(kimg),
           "--metrics", "", "--device", device, "--quiet", "--out", str(out), *COMBOS[combo]]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, tail = p.returncode, (p.stdout + p.stderr).strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        rc, tail = 124, [f"timed out after {timeout:.0f} s"]
    status = json.loads((out / "status.json").read_text()) if (out / "status.json").exists() else {}
    return {"model": model, "combo": combo, "rc": rc, "status": status.get("status"), "wall_s":
            round(time.perf_counter() - t0, 1), "train_s": status.get("wall_s"), "tail": tail}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--models", default=",".join(MODELS.names()))
    ap.add_argument("--combos", default=",".join(COMBOS))
    ap.add_argument("--kimg", type=float, default=0.256)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--timeout-s", type=float, default=240.0)
    ap.add_argument("--out", type=Path, default=Path("gpu_matrix.jsonl"))
    a = ap.parse_args()
    jobs = [(m, c) for c in a.combos.split(",") for m in a.models.split(",")]
    bad = [c for _, c in jobs if c not in COMBOS]
    if bad:
        print(f"gpu_matrix: unknown combination {bad[0]!r} (known: {', '.join(COMBOS)})", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(a.jobs) as pool:
        futs = [pool.submit(run_one, m, c, a.device, a.kimg, a.timeout_s, tmp) for m, c in jobs]
        for f in futs:
            r = f.result()
            rows.append(r)
            ok = r["rc"] == 0 and r["status"] == "complete"
            print(f"{r['model']:14s} {r['combo']:22s} {'ok' if ok else 'FAIL'} {r['wall_s']:6.1f} s"
                  + ("" if ok else f"  {' | '.join(r['tail'])}"), flush=True)
            a.out.write_text("".join(json.dumps(x) + "\n" for x in rows))
    failed = [r for r in rows if not (r["rc"] == 0 and r["status"] == "complete")]
    print(f"gpu_matrix: {len(rows) - len(failed)}/{len(rows)} combinations ran to completion")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
