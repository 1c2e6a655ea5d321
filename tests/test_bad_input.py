"""Bad input through the CLI (a subprocess per case): configs, CLI arguments, dataset files, image folders, weights and
checkpoint files, results directories and suite YAML files each give one 'ganbench: error:' line and exit code 2,
before anything is trained, and leave nothing half-written (no new or changed status, metrics, config, checkpoint
or sample files; never a status 'complete')."""
from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import one_line_error
from ganbench.data.fashion_mnist import FILES, SYSTEM_ROOT
from ganbench.training import TrainSpec, train

RESULT_FILES = {"status.json", "metrics.csv", "config.yaml", "eval.csv"}
Case = Callable[[Path, Path], list[str]]  # (tmp folder, fresh copy of a trained run) -> CLI arguments
CASES: list[tuple[str, str, Case]] = []


def case(name: str, expected: str):
    """Register a case: ``expected`` must appear in the one error line."""
    def deco(fn: Case) -> Case:
        CASES.append((name, expected, fn))
        return fn
    return deco


def resume_args(run: Path) -> list[str]:
    """``ganbench train`` arguments that resume the fixture run (same spec as ``trained_run``)."""
    return ["train", "--model", "dcgan", "--dataset", "synthetic", "--kimg", "0.032", "--metrics", "", "--set",
            "batch_size=16", "--device", "cpu", "--quiet", "--out", str(run)]


def ckpt(run: Path) -> Path:
    return sorted((run / "checkpoints").glob("ckpt-*.pt"))[-1]


class Evil:
    """A pickle that runs code when unpickled without weights_only (it would create the file PWNED)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def tamper(path: Path, tmp: Path) -> None:
    torch.save({"model": Evil(tmp / "PWNED"), "images_seen": 0}, path)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def suite(tmp: Path, text: str) -> str:
    return str(write(tmp / "suite.yaml", text))


SMOKE = "name: bad\nkimg: 0.032\nmetrics: []\nruns:\n"


# ---- CLI arguments and configs -------------------------------------------------------------------------------
@case("model_unknown", "unknown model 'dcgam'")
def _(tmp, run): return ["train", "--model", "dcgam"]


@case("preset_unknown", "preset")
def _(tmp, run): return ["train", "--model", "dcgan", "--preset", "huge"]


@case("variant_unknown", "variant")
def _(tmp, run): return ["train", "--model", "dcgan", "--variant", "nope"]


@case("override_unknown_key", "g_chanels")
def _(tmp, run): return ["train", "--model", "dcgan", "--set", "g_chanels=3"]


@case("override_wrong_type", "expected int")
def _(tmp, run): return ["train", "--model", "dcgan", "--set", "batch_size=abc"]


@case("override_no_value", "expected key=value")
def _(tmp, run): return ["train", "--model", "dcgan", "--set", "batch_size"]


@case("override_bad_loss", "loss")
def _(tmp, run): return ["train", "--model", "dcgan", "--set", "loss=nope", "--kimg", "0.032", "--metrics", ""]


@case("kimg_zero", "kimg must be > 0")
def _(tmp, run): return ["train", "--model", "dcgan", "--kimg", "0"]


@case("seed_negative", "seed must be a non-negative integer")
def _(tmp, run): return ["train", "--model", "dcgan", "--seed", "-3"]


@case("eval_every_negative", "must be >= 0")
def _(tmp, run): return ["train", "--model", "dcgan", "--eval-every", "-1"]


@case("kimg_not_a_number", "kimg")
def _(tmp, run): return ["train", "--model", "dcgan", "--kimg", "ten"]


@case("metric_unknown", "unknown metric protocol 'fd_nope'")
def _(tmp, run): return ["train", "--model", "dcgan", "--metrics", "fd_nope"]


@case("dataset_unknown", "unknown dataset")
def _(tmp, run): return ["train", "--model", "dcgan", "--dataset", "fashion_mnist"]


@case("channels_invalid", "channels must be 1 or 3")
def _(tmp, run): return ["train", "--model", "dcgan", "--channels", "2"]


@case("resolution_invalid", "resolution must be")
def _(tmp, run): return ["train", "--model", "dcgan", "--resolution", "4"]


@case("device_invalid", "device")
def _(tmp, run): return ["train", "--model", "dcgan", "--device", "tpu", "--dataset", "synthetic"]


@case("device_gpu_index_missing", "device")
def _(tmp, run): return ["train", "--model", "dcgan", "--device", "cuda:99", "--dataset", "synthetic"]


@case("unknown_option", "No such option")
def _(tmp, run): return ["train", "--model", "dcgan", "--lr", "1"]


# ---- dataset files and image folders -------------------------------------------------------------------------
@case("folder_without_root", "needs --data-root")
def _(tmp, run): return ["train", "--model", "dcgan", "--dataset", "folder"]


@case("folder_missing", "does not exist")
def _(tmp, run): return ["train", "--model", "dcgan", "--dataset", "folder", "--data-root", str(tmp / "nope")]


@case("folder_empty", "no images")
def _(tmp, run):
    (tmp / "imgs" / "a").mkdir(parents=True)
    write(tmp / "imgs" / "a" / "notes.txt", "not an image")
    return ["train", "--model", "dcgan", "--dataset", "folder", "--data-root", str(tmp / "imgs")]


@case("folder_corrupt_image", "corrupt image")
def _(tmp, run):
    (tmp / "imgs").mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp / "imgs" / "ok.png")
    (tmp / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return ["train", "--model", "dcgan", "--dataset", "folder", "--data-root", str(tmp / "imgs")]


@case("fmnist_missing", "Fashion-MNIST train files not found")
def _(tmp, run):
    (tmp / "fm").mkdir()
    return ["train", "--model", "dcgan", "--data-root", str(tmp / "fm")]


@case("fmnist_truncated", "corrupt Fashion-MNIST")
def _(tmp, run):
    (tmp / "fm").mkdir()
    for n in FILES["train"]:
        shutil.copy(f"{SYSTEM_ROOT}/{n}", tmp / "fm" / n)
    data = gzip.open(tmp / "fm" / FILES["train"][0]).read()
    with gzip.open(tmp / "fm" / FILES["train"][0], "wb") as f:
        f.write(data[:1000])
    return ["train", "--model", "dcgan", "--data-root", str(tmp / "fm")]


@case("fmnist_not_gzip", "corrupt Fashion-MNIST")
def _(tmp, run):
    (tmp / "fm").mkdir()
    for n in FILES["train"]:
        (tmp / "fm" / n).write_bytes(b"PK\x03\x04 this is not gzip")
    return ["train", "--model", "dcgan", "--data-root", str(tmp / "fm")]


@case("cifar_tampered_pickle", "CIFAR-10")
def _(tmp, run):
    d = tmp / "c10" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    import pickle
    for n in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (d / n).write_bytes(pickle.dumps(Evil(tmp / "PWNED")))
    return ["train", "--model", "dcgan", "--dataset", "cifar10", "--data-root", str(tmp / "c10")]


# ---- checkpoints, weights and run directories ----------------------------------------------------------------
@case("resume_tampered_checkpoint", "corrupt or unsafe checkpoint")
def _(tmp, run):
    tamper(ckpt(run), tmp)
    return resume_args(run)


@case("resume_truncated_checkpoint", "corrupt or unsafe checkpoint")
def _(tmp, run):
    truncate(ckpt(run))
    return resume_args(run)


@case("resume_checkpoint_wrong_shapes", "does not match")
def _(tmp, run):
    state = torch.load(ckpt(run), weights_only=True)
    key = next(k for k in state["model"] if k.endswith("weight"))
    state["model"][key] = torch.zeros(3, 3)
    torch.save(state, ckpt(run))
    return resume_args(run)


@case("resume_not_a_checkpoint", "not a ganbench checkpoint")
def _(tmp, run):
    torch.save({"weights": torch.zeros(3)}, ckpt(run))
    return resume_args(run)


@case("resume_corrupt_status", "corrupt status file")
def _(tmp, run):
    (run / "status.json").write_text('{"status": "runn')
    return resume_args(run)


@case("resume_corrupt_config", "corrupt run config")
def _(tmp, run):
    (run / "config.yaml").write_text("spec: [unclosed\n")
    return resume_args(run)


@case("resume_different_run", "holds a different run")
def _(tmp, run): return [*resume_args(run), "--seed", "5"]


@case("out_under_a_file", "not writable")
def _(tmp, run):
    write(tmp / "afile", "x")
    return ["train", "--model", "dcgan", "--dataset", "synthetic", "--metrics", "", "--out", str(tmp / "afile" / "r")]


@case("eval_tampered_checkpoint", "corrupt or unsafe checkpoint")
def _(tmp, run):
    tamper(ckpt(run), tmp)
    return ["eval", str(run), "--metrics", "fd_domain2k_train", "--device", "cpu"]


@case("eval_truncated_checkpoint", "corrupt or unsafe checkpoint")
def _(tmp, run):
    truncate(ckpt(run))
    return ["eval", str(run), "--metrics", "fd_domain2k_train", "--device", "cpu"]


@case("eval_no_checkpoints", "has no checkpoints")
def _(tmp, run): return ["eval", str(tmp), "--device", "cpu"]


@case("eval_missing_config", "not a ganbench run")
def _(tmp, run):
    (run / "config.yaml").unlink()
    return ["eval", str(run), "--device", "cpu"]


@case("eval_unknown_metric", "unknown metric protocol")
def _(tmp, run): return ["eval", str(run), "--metrics", "fid_everything"]


@case("fid_tampered_statistics", "statistics file")
def _(tmp, run):
    np.savez(tmp / "evil.npz", mu=np.array([Evil(tmp / "PWNED")], dtype=object), sigma=np.zeros((128, 128)))
    return ["fid", str(tmp / "evil.npz"), str(tmp / "evil.npz"), "--device", "cpu"]


@case("inception_weights_not_weights", "Inception")
def _(tmp, run):
    write(tmp / "w.pth", "definitely not weights")
    return ["fid", "synthetic:train", "synthetic:train", "--extractor", "inception-v3", "--inception-weights",
            str(tmp / "w.pth"), "--device", "cpu"]


# ---- results directories -------------------------------------------------------------------------------------
@case("results_missing", "does not exist")
def _(tmp, run): return ["results", str(tmp / "nope")]


@case("results_corrupt_status", "corrupt status file")
def _(tmp, run):
    (run / "status.json").write_text("{")
    return ["results", str(run.parent)]


@case("results_corrupt_metrics", "corrupt metrics table")
def _(tmp, run):
    (run / "metrics.csv").write_bytes(b"run,images_seen\n\x00\x01,\"unclosed\n")
    return ["results", str(run.parent)]


# ---- suites ---------------------------------------------------------------------------------------------------
@case("suite_unknown", "unknown suite")
def _(tmp, run): return ["run", "--suite", "smok"]


@case("suite_invalid_yaml", "invalid YAML")
def _(tmp, run): return ["run", "--suite", suite(tmp, "name: x\nruns: [\n")]


@case("suite_not_a_mapping", "a suite is a mapping")
def _(tmp, run): return ["run", "--suite", suite(tmp, "- dcgan\n")]


@case("suite_unknown_key", "unknown suite key")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE.replace("kimg", "kimgs") + "  - {model: dcgan}\n")]


@case("suite_unknown_model", "unknown model")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE + "  - {model: dcgan}\n  - {model: dgan}\n")]


@case("suite_unknown_variant", "variant")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE + "  - {model: dcgan, variants: [default, nope]}\n")]


@case("suite_bad_override", "expected int")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE + "  - {model: dcgan, overrides: {batch_size: many}}\n")]


@case("suite_seeds_not_list", "seeds must be a list")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE.replace("runs:", "seeds: 3\nruns:") + "  - {model: x}\n")]


@case("suite_run_without_model", "each run needs 'model'")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE + "  - {variants: [default]}\n")]


@case("suite_bad_max_seeds", "max_seeds must be a positive integer")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE + "  - {model: dcgan, max_seeds: 0}\n")]


@case("suite_efficiency_max_seeds", "'max_seeds' needs a training suite")
def _(tmp, run): return ["run", "--suite", suite(tmp, "name: bad\ntask: efficiency\nruns:\n  - {model: dcgan, max_seeds: 2}\n")]


@case("suite_includes_itself", "includes itself")
def _(tmp, run):
    p = tmp / "loop.yaml"
    write(p, f"name: loop\ninclude: [{p}]\nruns: []\n")
    return ["run", "--suite", str(p)]


@case("suite_unknown_profile", "profile")
def _(tmp, run): return ["run", "--suite", "smoke", "--profile", "nope"]


@case("run_seeds_not_ints", "bad comma-separated list")
def _(tmp, run): return ["run", "--suite", "smoke", "--seeds", "a,b"]


@case("run_workers_zero", "--workers must be >= 1")
def _(tmp, run): return ["run", "--suite", "smoke", "--workers", "0"]


@case("run_kimg_zero", "kimg must be > 0")
def _(tmp, run): return ["run", "--suite", "smoke", "--kimg", "0"]


@case("run_unknown_model_filter", "unknown model")
def _(tmp, run): return ["run", "--suite", "smoke", "--models", "dcgam"]


@case("run_unknown_executor", "executor")
def _(tmp, run): return ["run", "--suite", "smoke", "--executor", "slurm"]


@case("run_ray_address_refused", "cannot connect to the Ray cluster")
def _(tmp, run): return ["run", "--suite", "smoke", "--executor", "ray", "--address", "127.0.0.1:1", "--metrics", ""]


@case("run_ray_address_malformed", "bad Ray address")
def _(tmp, run): return ["run", "--suite", "smoke", "--executor", "ray", "--address", "head-node", "--metrics", ""]


# ---- recipe ranges, resolution vs architecture, statistics files (issue 15) ------------------------------------
TRAIN = ["train", "--model", "dcgan", "--dataset", "synthetic", "--kimg", "0.032", "--metrics", "", "--device", "cpu"]


@case("lr_g_negative", "lr_g must be >= 0 (0 freezes G), got -1.0")
def _(tmp, run): return [*TRAIN, "--set", "lr_g=-1", "--out", str(tmp / "r")]


@case("lr_d_negative", "lr_d must be >= 0 (0 freezes D), got -0.5")
def _(tmp, run): return [*TRAIN, "--set", "lr_d=-0.5", "--out", str(tmp / "r")]


@case("batch_size_zero", "batch_size must be >= 1, got 0")
def _(tmp, run): return [*TRAIN, "--set", "batch_size=0", "--out", str(tmp / "r")]


@case("beta1_one", "beta1 must be in [0, 1), got 1.0")
def _(tmp, run): return [*TRAIN, "--set", "beta1=1.0", "--out", str(tmp / "r")]


@case("beta2_negative", "beta2 must be in [0, 1), got -0.5")
def _(tmp, run): return [*TRAIN, "--set", "beta2=-0.5", "--out", str(tmp / "r")]


@case("n_dis_zero", "n_dis must be >= 1, got 0")
def _(tmp, run): return [*TRAIN, "--set", "n_dis=0", "--out", str(tmp / "r")]


@case("resolution_vs_architecture", "resolution 33 does not fit")
def _(tmp, run): return [*TRAIN, "--resolution", "33", "--out", str(tmp / "r")]


@case("suite_lr_negative", "lr_g must be >= 0 (0 freezes G), got -0.001")
def _(tmp, run): return ["run", "--suite", suite(tmp, SMOKE + "  - {model: dcgan, overrides: {lr_g: -0.001}}\n"),
                         "--results", str(tmp / "res")]


@case("metric_close_matches", "close matches: fd_domain10k_test")
def _(tmp, run): return [*TRAIN, "--metrics", "fd_domian10k_test", "--out", str(tmp / "r")]


def stats_file(tmp: Path, name: str, meta: dict | None, dim: int | None = None) -> str:
    from ganbench.metrics import FEATURES

    cls = FEATURES.get("fmnist-cnn")
    d = dim or cls.layers[cls.fd_layer]
    arrays = {"mu": np.zeros(d), "sigma": np.eye(d)}
    if meta is not None:
        full = {"extractor": "fmnist-cnn", "weights_sha256": "0" * 64, "preprocessing": cls.preprocessing,
                "layer": cls.fd_layer, "n": 100}
        arrays["meta"] = np.array(json.dumps({**full, **meta}))
    np.savez(tmp / name, **arrays)
    return str(tmp / name)


FID = ["fid", "--device", "cpu"]


@case("fid_npz_not_a_zip", "bad statistics file")
def _(tmp, run): return [*FID, str(write(tmp / "bad.npz", "not a zip")), str(tmp / "bad.npz")]


@case("fid_npz_truncated", "File is not a zip file")
def _(tmp, run):
    path = Path(stats_file(tmp, "t.npz", {}))
    path.write_bytes(path.read_bytes()[:-40])
    return [*FID, str(path), str(path)]


@case("fid_folder_unreadable_png", "cannot identify image file")
def _(tmp, run):
    (tmp / "imgs").mkdir()
    Image.new("L", (32, 32)).save(tmp / "imgs" / "b.png")
    (tmp / "imgs" / "a.png").write_bytes((tmp / "imgs" / "b.png").read_bytes()[:30])
    return [*FID, str(tmp / "imgs"), str(tmp / "imgs")]


@case("fid_foreign_stats_without_flag", "--foreign-stats")
def _(tmp, run): return [*FID, stats_file(tmp, "pf.npz", None), stats_file(tmp, "pf.npz", None)]


@case("fid_stats_other_weights", "weights_sha256 '0000")
def _(tmp, run): return [*FID, stats_file(tmp, "w.npz", {}), stats_file(tmp, "w.npz", {})]


@case("fid_stats_other_layer", "layer 'logits'")
def _(tmp, run):
    from ganbench.metrics import get_extractor

    sha = get_extractor("fmnist-cnn", "cpu").weights_sha256  # right weights, wrong layer
    return [*FID, stats_file(tmp, "l.npz", {"layer": "logits", "weights_sha256": sha}), str(tmp / "l.npz")]


@case("fid_stats_missing_meta_keys", "lacks weights_sha256, preprocessing, layer, n")
def _(tmp, run):
    from ganbench.metrics import FEATURES

    path, cls = tmp / "m.npz", FEATURES.get("fmnist-cnn")
    d = cls.layers[cls.fd_layer]
    np.savez(path, mu=np.zeros(d), sigma=np.eye(d), meta=np.array(json.dumps({"extractor": "fmnist-cnn"})))
    return [*FID, str(path), str(path)]


@case("fid_stats_wrong_dim", "has [7]/[7, 7] statistics")
def _(tmp, run): return [*FID, "--foreign-stats", stats_file(tmp, "d.npz", None, dim=7), str(tmp / "d.npz")]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A tiny interrupted-looking run (2 D steps on the synthetic data, checkpoints at 0 and 32 images)."""
    d = tmp_path_factory.mktemp("trained") / "adhoc" / "run"
    train(TrainSpec(model="dcgan", dataset="synthetic", kimg=0.032, metrics=(), overrides={"batch_size": 16},
                    device="cpu", out_dir=str(d)), progress=False)
    return d


def snapshot(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name, expected, make", CASES, ids=[c[0] for c in CASES])
def test_bad_input(name, expected, make, cli, tmp_path, trained_run):
    run = tmp_path / "results" / "adhoc" / "run"
    shutil.copytree(trained_run, run)
    (run / "status.json").write_text(json.dumps({"status": "running", "images_seen": 32}))  # an interrupted run
    args = make(tmp_path, run)
    before = snapshot(tmp_path)
    p = cli(*args)
    line = one_line_error(p)
    assert expected in line, line
    assert not (tmp_path / "PWNED").exists()  # no pickled code ran
    after = snapshot(tmp_path)
    changed = [p for p in after if before.get(p) != after[p]
               and (p.name in RESULT_FILES or p.suffix in (".pt", ".png"))]
    assert not changed, changed  # nothing (half-)written
    for st in tmp_path.rglob("status.json"):
        try:
            assert json.loads(st.read_text())["status"] != "complete"
        except ValueError:
            pass  # the corrupt-status cases


def test_enough_cases():
    assert len(CASES) >= 40
