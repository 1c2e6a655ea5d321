"""(Imported by the report tests; holds no tests itself.) A small fixed results tree for the report tests
(numbers are made up for the test and never leave it): a
4-model comparison with two seeds (one diverged seed, one failed run), an LRM GAN ablation, a Projected GAN
ablation and efficiency measurements."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from ganbench import results

DEVICE = "cpu: Test CPU x2"
COMMIT = "0123abcd"
DATA = {"name": "fashion-mnist", "split": "train", "resolution": 32, "channels": 1, "n": 60000}
FD = {"protocol": "fd_domain2k_train", "metric": "fd_domain", "extractor": "fmnist-cnn", "n_samples": 2000,
      "n_real": 60000, "split": "train"}
FD_EFF = {"protocol": "fd_effnet2k_train", "metric": "fd_effnet", "extractor": "effnet-lite0", "n_samples": 2000,
          "n_real": 60000, "split": "train"}
IMAGES = (0, 1024, 2048)


def _png(path: Path, shade: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (16, 16), shade).save(path)


def _run(root: Path, suite: str, model: str, variant: str, seed: int, curves: dict, status: str = "complete",
         params=(300000, 200000, 0, 0), model_config: dict | None = None, deviations: str = "",
         reason: str = "", wall=(0.0, 10.0, 20.0)) -> None:
    run = f"{model}-{variant}-tiny-s{seed}-{sum(map(ord, suite + model + variant)) * 7 + seed:08d}"
    d = root / suite / run
    d.mkdir(parents=True)
    cfg = {"run": run, "spec": {"model": model, "preset": "tiny", "variant": variant, "dataset": "fashion-mnist",
                                "kimg": 2.0, "seed": seed, "eval_every_kimg": 1.0, "suite": suite},
           "model_config": model_config or {"z_dim": 64, "lr_g": 0.0002},
           "params": dict(zip(("params_g", "params_d", "params_g_frozen", "params_d_frozen"), params)),
           "deviations": deviations, "dataset": DATA, "environment": {"device": DEVICE, "git_commit": COMMIT}}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows = []
    for meta, values in curves.items():
        for img, w, v in zip(IMAGES, wall, values):
            rows.append({"run": run, "suite": suite, "model": model, "variant": variant, "preset": "tiny",
                         "dataset": "fashion-mnist", "resolution": 32, "channels": 1, "seed": seed,
                         "images_seen": img, "wall_s": w, "value": v, "device": DEVICE, **dict(meta)})
    if rows:
        results.write_records(d / "metrics.csv", rows)
        n = max(len(v) for v in curves.values())
        _png(d / "samples" / f"{IMAGES[n - 1]:09d}.png", 40 + 10 * seed)
    last = IMAGES[max((len(v) for v in curves.values()), default=1) - 1]
    extra = {"reason": reason} if status == "diverged" else {"error": reason} if reason else {}
    (d / "status.json").write_text(json.dumps({"status": status, "images_seen": last, "wall_s": wall[-1], **extra}))


def _eff(root: Path, model: str, preset: str, variant: str, values: dict) -> None:
    run = f"{model}-{variant}-{preset}-eff-{sum(map(ord, model + variant + preset)):08d}"
    d = root / "efficiency" / run
    d.mkdir(parents=True)
    cfg = {"run": run, "task": "efficiency",
           "spec": {"model": model, "preset": preset, "variant": variant, "resolution": 32, "channels": 3,
                    "n_images": 100, "suite": "efficiency", "task": "efficiency"},
           "timing": "cpu wall clock (perf_counter), after one warm-up call",
           "environment": {"device": DEVICE, "git_commit": COMMIT}}
    (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    rows = [{"run": run, "suite": "efficiency", "model": model, "variant": variant, "preset": preset, "dataset": "-",
             "split": "-", "resolution": 32, "channels": 3, "seed": 0, "images_seen": 0, "wall_s": 1.0,
             "metric": k, "value": v, "extractor": "-", "n_samples": 100 if k == "it100_s" else None,
             "protocol": "efficiency", "device": DEVICE} for k, v in values.items()]
    results.write_records(d / "metrics.csv", rows)
    (d / "status.json").write_text(json.dumps({"status": "complete", "images_seen": 0, "wall_s": 1.0}))


def _effv(g, d, gf=0, df=0, flops=1.5e7, it=0.1) -> dict:
    return {"params_g": g, "params_d": d, "params_g_frozen": gf, "params_d_frozen": df, "flops_per_image": flops,
            "it100_s": it}


def make_results(root: Path) -> Path:
    """Write the fixture tree under ``root`` (the folder must not exist) and return it."""
    root = Path(root)
    # main comparison: suite "demo"
    _run(root, "demo", "dcgan", "default", 0, {tuple(FD.items()): (100.0, 40.0, 25.0),
                                              tuple(FD_EFF.items()): (50.0, 30.0, 20.0)})
    _run(root, "demo", "dcgan", "default", 1, {tuple(FD.items()): (102.0, 42.0, 27.0),
                                              tuple(FD_EFF.items()): (51.0, 31.0, 21.0)})
    pg = dict(params=(500000, 400000, 0, 2958848), deviations="Generator resized for 32x32.")
    _run(root, "demo", "projected_gan", "default", 0, {tuple(FD.items()): (110.0, 30.0, 15.0),
                                                      tuple(FD_EFF.items()): (60.0, 10.0, 5.0)}, **pg)
    _run(root, "demo", "projected_gan", "default", 1, {tuple(FD.items()): (108.0, 29.0, 16.0),
                                                      tuple(FD_EFF.items()): (59.0, 11.0, 6.0)}, **pg)
    _run(root, "demo", "biggan", "default", 0, {tuple(FD.items()): (105.0, 50.0, 35.0),
                                               tuple(FD_EFF.items()): (55.0, 35.0, 25.0)})
    _run(root, "demo", "biggan", "default", 1, {tuple(FD.items()): (104.0, 60.0),
                                               tuple(FD_EFF.items()): (54.0, 40.0)},
         status="diverged", reason="non-finite loss_d")
    _run(root, "demo", "transgan", "default", 0, {}, status="failed", reason="RuntimeError: out of memory")
    # LRM GAN ablation in the paper's layout
    lrm = {"default": (90.0, 35.0, 20.0), "no_meta": (95.0, 45.0, 30.0), "no_lrm": (92.0, 40.0, 26.0),
           "residual": (91.0, 38.0, 24.0), "sa": (93.0, 37.0, 22.0)}
    for v, fd in lrm.items():
        cfg = {"z_dim": 64, "use_meta": v != "no_meta", "attn": {"no_lrm": "none", "residual": "residual",
                                                                "sa": "sa"}.get(v, "lrm")}
        _run(root, "lrm-ablation", "lrm_gan", v, 0, {tuple(FD.items()): fd}, model_config=cfg,
             params=(590000 + 1000 * len(v), 203266, 0 if v == "no_meta" else 700768, 0),
             deviations="Meta-data network is EfficientNet-Lite0, not VGG-16.")
    # a generic ablation
    for v, fd in {"default": (110.0, 31.0, 15.5), "no_csm": (111.0, 36.0, 19.0)}.items():
        _run(root, "projected-ablation", "projected_gan", v, 0, {tuple(FD.items()): fd},
             model_config={"z_dim": 64, "projection": "ccm" if v == "no_csm" else "ccm+csm"}, **pg)
    # efficiency
    _eff(root, "dcgan", "paper", "default", _effv(3812355, 2930881, flops=2.07e8, it=0.9))
    _eff(root, "dcgan", "tiny", "default", _effv(305923, 184369, flops=1.37e7, it=0.1))
    _eff(root, "projected_gan", "tiny", "default", _effv(520000, 410000, 0, 3335616, 3.1e8, 0.5))
    _eff(root, "projected_gan", "tiny", "no_csm", _effv(520000, 400000, 0, 3159000, 3.1e8, 0.5))
    for i, v in enumerate(lrm):
        _eff(root, "lrm_gan", "tiny", v, _effv(590000 + 1000 * len(v), 203266, 0 if v == "no_meta" else 700768,
                                                0, 1.5e8 + 1e7 * i, 1.2 + 0.1 * i))
    return root


PUBLISHED = {"models": {
    "dcgan": {"params": {"params_g": 3812355, "params_d": 2931009, "evidence": "C-log", "source": "a training log"},
              "results": [{"dataset": "CIFAR-10", "resolution": 32, "conditional": False, "metric": "FID",
                           "value": 49.03, "extractor": "Inception-v3", "n_gen": 10000, "n_real": 10000,
                           "real_split": "test", "protocol": "10k vs 10k test", "source": "a README",
                           "evidence": "R"}]},
    "lrm_gan": {"params": {"params_g": None, "params_d": None, "source": "not retrieved"}, "results": []},
}}


VALIDATIONS = {"fmnist-cnn": {"extractor": "fmnist-cnn", "passed": True, "date": "2026-01-01",
                              "command": "ganbench validate-metric fmnist-cnn", "families": {"blur": {"passed": True}}}}


def validation(extractor: str) -> dict | None:
    """A fixed metric-validation reader (the golden files must not depend on the committed ladder results)."""
    return VALIDATIONS.get(extractor)


TUNING = {"suite": "tune", "select_by": "fd_domain2k_test", "preset": "tiny", "dataset": "fashion-mnist", "kimg": 2,
          "seeds": [0], "points": ["lr_x1", "lr_x3"],
          "grid": {"lr_x1": {"lr_g": "x1", "lr_d": "x1"}, "lr_x3": {"lr_g": "x3", "lr_d": "x3"}},
          "chosen": {"dcgan": {"point": "lr_x3"}, "biggan": {"point": "lr_x1"}},
          "table": [{"model": "dcgan", "point": "lr_x1", "mean": 50.5, "std": None, "seeds": 1},
                    {"model": "dcgan", "point": "lr_x3", "mean": 40.25, "std": None, "seeds": 1},
                    {"model": "biggan", "point": "lr_x1", "mean": 20.0, "std": None, "seeds": 1},
                    {"model": "biggan", "point": "lr_x3", "mean": 30.0, "std": None, "seeds": 1}],
          "git_commits": ["0123abc"], "devices": ["cpu: test"], "date": "2026-01-01"}


def tuning() -> dict:
    """A fixed tuning record (the golden files must not depend on the committed ganbench/suites/tune.selection.json)."""
    return TUNING


def write_published(path: Path) -> Path:
    path.write_text(yaml.safe_dump(PUBLISHED, sort_keys=False))
    return path


def claims() -> list:
    """Fixed claims for the golden report (it must not depend on the committed ganbench/claims.yaml): a paired one
    with one seed, an unpaired images-to-threshold one with two seeds per arm, and one whose arms were not run."""
    from ganbench.analysis.claims import Arm, Claim
    fd = "fd_domain2k_train"
    return [Claim("lrm-meta", "Meta-data helps.", "a paper, Table 3", Arm("lrm_gan"), Arm("lrm_gan", "no_meta"), fd),
            Claim("pg-faster", "Projected GAN converges faster than DCGAN.", "a paper, Fig. 1", Arm("projected_gan"),
                  Arm("dcgan"), fd, "images_to_threshold", 30.0),
            Claim("sa", "Attention helps.", "a paper, Table 1", Arm("sagan"), Arm("sagan", "no_attn"), fd)]
