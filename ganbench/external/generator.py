"""Generators that ganbench did not train: a ``torch.export`` program, an ONNX file, a ``module:callable`` import path
or a TorchScript file.

``load_generator`` turns a SPEC into a :class:`Generator`, whose ``sample(n, gen)`` is the ``sample_fn`` that
``ganbench.metrics.evaluate`` takes (float images in [-1, 1], shape ``[n, C, R, R]``). What the generator returns is
checked on every batch: shape, dtype (floating for the float ranges, ``torch.uint8`` for ``uint8``) and range;
anything else is a one-line ``GanbenchError``.

SPEC forms:
- ``FILE.pt2``: an ``ExportedProgram`` saved with ``torch.export.save`` (the format PyTorch recommends for shipping a
  model), called as ``g(z)`` or ``g(z, y)``. Export it in eval mode; a fixed batch size is fine (ganbench runs it in
  chunks of that size), a dynamic one (``dynamic_shapes={"z": {0: torch.export.Dim("n")}}``) is faster.
- ``FILE.onnx``: an ONNX model, run with ``onnxruntime`` (the ``[onnx]`` extra); input 0 is z, input 1 (if any) y.
- any other existing file: a TorchScript module (``torch.jit.save``), called as ``g(z)`` or ``g(z, y)``. Still
  supported, but TorchScript is deprecated upstream (``torch.jit.script`` warns from torch 2.14): prefer ``.pt2``.
- ``module.path:name`` or ``path/to/file.py:name``: ``name`` is an ``nn.Module`` instance or class (instantiated with
  no arguments), a zero-argument factory returning a module or a function, or a function ``z -> images`` itself
  (it takes at least one argument). ``module.path`` is imported with the current directory on ``sys.path``.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ..errors import GanbenchError

RANGES = ("-1,1", "0,1", "uint8")
RANGE_SLACK = 0.01  # values may leave the declared range by this fraction of its width (rounding), not more


@dataclass(frozen=True)
class GeneratorOptions:
    """How to call the generator and read its output."""

    z_dim: int = 128
    num_classes: int = 0  # > 0: also pass integer labels y ~ U{0..num_classes-1}
    output_range: str = "-1,1"  # -1,1 | 0,1 | uint8
    clamp: bool = False  # clip out-of-range values instead of failing

    def __post_init__(self) -> None:
        if self.output_range not in RANGES:
            raise GanbenchError(f"unknown output range {self.output_range!r}; choose from: {', '.join(RANGES)}")
        if not isinstance(self.z_dim, int) or self.z_dim < 1:
            raise GanbenchError(f"--z-dim must be a positive integer, got {self.z_dim!r}")
        if not isinstance(self.num_classes, int) or self.num_classes < 0:
            raise GanbenchError(f"--num-classes must be >= 0, got {self.num_classes!r}")


@dataclass
class Generator:
    """A loaded external generator and what it is expected to produce."""

    fn: Callable[..., Any]
    spec: str
    kind: str  # export | onnx | python | torchscript
    opts: GeneratorOptions
    channels: int
    resolution: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    sha256: str | None = None  # of the file holding the generator (.pt2/ONNX/TorchScript file or Python source)

    @property
    def label(self) -> str:
        return Path(self.spec.split(":")[0]).stem if self.kind != "python" else self.spec

    def info(self) -> dict[str, Any]:
        """What identifies the generator and its call convention (stored in baselines)."""
        return {"spec": self.spec, "kind": self.kind, "z_dim": self.opts.z_dim, "num_classes": self.opts.num_classes,
                "output_range": self.opts.output_range, "clamp": self.opts.clamp, "channels": self.channels,
                "resolution": self.resolution, "sha256": self.sha256}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images as float in [-1, 1] on ``self.device``, seeded by ``generator`` only."""
        src = generator.device if generator is not None else self.device
        z = torch.randn(n, self.opts.z_dim, generator=generator, device=src).to(self.device)
        y = None
        if self.opts.num_classes:
            y = torch.randint(0, self.opts.num_classes, (n,), generator=generator, device=src).to(self.device)
        try:
            out = self.fn(z) if y is None else self.fn(z, y)
        except GanbenchError:
            raise
        except Exception as e:  # the user's code: report it in one line
            raise GanbenchError(f"generator {self.spec} failed on z of shape {list(z.shape)}"
                                f"{'' if y is None else ' and labels y'} (check --z-dim/--num-classes): "
                                f"{_one_line(e)}") from None
        return self._check(out, n)

    def _check(self, x: Any, n: int) -> Tensor:
        if isinstance(x, (tuple, list)) and x and isinstance(x[0], Tensor):
            x = x[0]  # generators that also return latents/extras: the images come first
        if not isinstance(x, Tensor):
            raise GanbenchError(f"generator {self.spec} returned {type(x).__name__}, not a tensor of images")
        want = (n, self.channels, self.resolution, self.resolution)
        if tuple(x.shape) != want:
            raise GanbenchError(f"generator {self.spec} returned shape {list(x.shape)}, expected {list(want)} "
                                f"(N, C, H, W; set --resolution/--channels, or --z-dim if the input is wrong)")
        r = self.opts.output_range
        if r == "uint8":
            if x.dtype != torch.uint8:
                raise GanbenchError(f"generator {self.spec} returned {x.dtype}; --output-range uint8 expects "
                                    f"torch.uint8 (use --output-range -1,1 or 0,1 for float images)")
            return x.to(self.device).float().mul_(2 / 255).sub_(1)
        if not x.is_floating_point():
            raise GanbenchError(f"generator {self.spec} returned {x.dtype}; --output-range {r} expects float "
                                f"images (use --output-range uint8 for 0..255 integers)")
        x = x.to(self.device).float()
        if not torch.isfinite(x).all():
            raise GanbenchError(f"generator {self.spec} returned NaN/inf values")
        lo, hi = (-1.0, 1.0) if r == "-1,1" else (0.0, 1.0)
        slack = RANGE_SLACK * (hi - lo)
        xmin, xmax = float(x.min()), float(x.max())
        if not self.opts.clamp and (xmin < lo - slack or xmax > hi + slack):
            raise GanbenchError(f"generator {self.spec} returned values in [{xmin:.3g}, {xmax:.3g}], outside "
                                f"--output-range {r} (pass the right range, or --clamp to clip like StyleGAN's "
                                f"own image export)")
        x = x.clamp(lo, hi)
        return x if r == "-1,1" else x.mul(2).sub(1)


def _one_line(e: BaseException) -> str:
    """The informative line of an exception (TorchScript puts the real error last)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    return last if last.startswith(f"{type(e).__name__}:") else f"{type(e).__name__}: {last}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_torchscript(path: Path, device: torch.device):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch 2.x: "torch.jit.load is deprecated"
            m = torch.jit.load(str(path), map_location=device)
    except Exception as e:  # noqa: BLE001  (torch raises RuntimeError, ValueError, zipfile errors...)
        raise GanbenchError(f"{path} is not a TorchScript file (torch.jit.save; a torch.export program must be "
                            f"named .pt2): {_one_line(e)}") from None
    return m.eval()


@contextlib.contextmanager
def _quiet_torch_export():
    """torch.export.load logs a traceback (logging, not an exception) for a file it cannot read: keep it off stderr."""
    loggers = [logging.getLogger(n) for n in ("torch.export", "torch.export.pt2_archive._package")]
    old = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, lv in zip(loggers, old):
            lg.setLevel(lv)


def _load_exported(path: Path, device: torch.device, opts: GeneratorOptions) -> Callable[..., Tensor]:
    """A ``torch.export`` program whose inputs are checked against ``opts`` here, before any batch runs."""
    try:
        with _quiet_torch_export(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = torch.export.load(str(path))
    except Exception as e:  # noqa: BLE001  (RuntimeError, zipfile.BadZipFile, KeyError from a foreign archive...)
        raise GanbenchError(f"{path} is not a torch.export program (torch.export.save): {_one_line(e)}") from None
    names = list(ep.graph_signature.user_inputs)
    vals = {n.name: n.meta.get("val") for n in ep.graph.nodes if n.op == "placeholder"}
    want = "z, y" if opts.num_classes else "z"
    if len(names) != 1 + bool(opts.num_classes):
        raise GanbenchError(f"{path} takes {len(names)} input(s) ({', '.join(names) or 'none'}); ganbench passes "
                            f"({want}) (set --num-classes > 0 for a conditional generator, 0 for z only)")
    z = vals.get(names[0])
    if not isinstance(z, Tensor) or z.dim() != 2 or not z.dtype.is_floating_point:
        got = f"{z.dtype} of shape {list(z.shape)}" if isinstance(z, Tensor) else type(z).__name__
        raise GanbenchError(f"{path} takes {names[0]} as {got}; ganbench passes z as float of shape [N, z_dim]")
    if isinstance(z.shape[1], int) and z.shape[1] != opts.z_dim:
        raise GanbenchError(f"{path} takes z of size {z.shape[1]}, not --z-dim {opts.z_dim}")
    if device.type != "cpu":
        from torch.export.passes import move_to_device_pass
        ep = move_to_device_pass(ep, device)
    m = ep.module()
    batch = z.shape[0] if isinstance(z.shape[0], int) else None  # exported with a fixed batch size

    def run(z: Tensor, y: Tensor | None = None) -> Tensor:
        args = (z,) if y is None else (z, y)
        if batch is None or len(z) == batch:
            return m(*args)
        outs = []
        for i in range(0, len(z), batch):  # chunks of the fixed size, the last one padded with its first row
            part = [a[i:i + batch] for a in args]
            k = len(part[0])
            part = [torch.cat([p, p[:1].expand(batch - k, *p.shape[1:])]) if k < batch else p for p in part]
            out = m(*part)
            outs.append((out[0] if isinstance(out, (tuple, list)) else out)[:k])
        return torch.cat(outs)
    return run


def _load_onnx(path: Path, device: torch.device):
    try:
        import onnxruntime as ort
    except ImportError:
        raise GanbenchError(f"{path}: ONNX generators need onnxruntime (pip install 'ganbench[onnx]')") from None
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        raise GanbenchError(f"{path} is not a loadable ONNX model: {_one_line(e)}") from None
    names = [i.name for i in sess.get_inputs()]

    def run(z: Tensor, y: Tensor | None = None) -> Tensor:
        feed = {names[0]: z.cpu().numpy()}
        if y is not None:
            if len(names) < 2:
                raise GanbenchError(f"{path} takes one input; drop --num-classes")
            feed[names[1]] = y.cpu().numpy()
        return torch.from_numpy(sess.run(None, feed)[0])
    return run


def _import(spec: str):
    mod_name, _, attr = spec.rpartition(":")
    if not mod_name or not attr:
        raise GanbenchError(f"generator {spec!r}: expected a .pt2/ONNX/TorchScript file or MODULE:CALLABLE "
                            f"(e.g. examples/tiny_generator.py:make_generator)")
    path = None
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise GanbenchError(f"generator {spec!r}: {path} not found")
            name = f"_ganbench_generator_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
            s = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(s)
            sys.modules[name] = module
            s.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())  # like `python -m`: the current directory is importable
            module = importlib.import_module(mod_name)
            path = Path(module.__file__) if getattr(module, "__file__", None) else None
    except GanbenchError:
        raise
    except Exception as e:  # noqa: BLE001  (the user's module: ImportError, SyntaxError, anything at import)
        raise GanbenchError(f"cannot import {mod_name!r} for generator {spec!r}: {_one_line(e)}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise GanbenchError(f"{mod_name!r} has no attribute {attr!r}") from None
    return obj, path


def _required_args(f) -> int:
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return 1
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in
               sig.parameters.values())


def _resolve_python(obj, spec: str):
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        obj = obj()
    elif not isinstance(obj, nn.Module) and callable(obj) and _required_args(obj) == 0:
        try:
            obj = obj()  # a factory
        except Exception as e:  # noqa: BLE001
            raise GanbenchError(f"generator factory {spec} failed: {_one_line(e)}") from None
    if not callable(obj):
        raise GanbenchError(f"generator {spec} is a {type(obj).__name__}, not an nn.Module or a function z -> images")
    return obj


def load_generator(spec: str | nn.Module | Callable, opts: GeneratorOptions, channels: int, resolution: int,
                   device: str | torch.device = "cpu") -> Generator:
    """Load SPEC (see the module docstring); an ``nn.Module`` or callable is used as it is."""
    device = torch.device(device)
    if not isinstance(spec, str):
        fn = _resolve_python(spec, type(spec).__name__)
        g = Generator(fn, getattr(spec, "__qualname__", type(spec).__name__), "python", opts, channels, resolution,
                      device)
    elif spec.lower().endswith(".onnx"):
        p = Path(spec)
        if not p.is_file():
            raise GanbenchError(f"generator file {spec} not found")
        g = Generator(_load_onnx(p, device), spec, "onnx", opts, channels, resolution, device, _sha256(p))
    elif spec.lower().endswith(".pt2"):
        p = Path(spec)
        if not p.is_file():
            raise GanbenchError(f"generator file {spec} not found")
        g = Generator(_load_exported(p, device, opts), spec, "export", opts, channels, resolution, device, _sha256(p))
    elif Path(spec).is_file():
        p = Path(spec)
        g = Generator(_load_torchscript(p, device), spec, "torchscript", opts, channels, resolution, device,
                      _sha256(p))
    elif ":" not in spec and any(spec.endswith(e) for e in (".pt", ".pth", ".ts", ".jit", ".zip")):
        raise GanbenchError(f"generator file {spec} not found")
    else:
        obj, path = _import(spec)
        fn = _resolve_python(obj, spec)
        g = Generator(fn, spec, "python", opts, channels, resolution, device,
                      _sha256(path) if path and path.is_file() else None)
    if isinstance(g.fn, nn.Module):
        g.fn = g.fn.to(device).eval()
    return g
