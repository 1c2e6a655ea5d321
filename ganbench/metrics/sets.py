"""Image sets given on the command line, for ``ganbench fid`` and ``ganbench stats``: an image folder, a dataset
split (``fashion-mnist:test``) or a ``.npz`` statistics file, reduced to statistics with an extractor; and the FD
between two such sets with the labels of each side."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data import DATASETS, load_dataset
from ..data.folder import EXTENSIONS
from ..errors import GanbenchError
from .features import Extractor
from .frechet import frechet_distance
from .real_stats import FOREIGN, check_stats, load_stats_file, real_stats


def load_images(spec: str, resolution: int | None, channels: int | None, data_root: str | None):
    """An image folder, or ``dataset[:split]`` -> ImageData."""

    p = Path(spec)
    if p.is_dir():
        if resolution is None:
            from PIL import Image

            first = next((f for f in sorted(p.rglob("*")) if f.suffix.lower() in EXTENSIONS), None)
            if first is None:
                raise GanbenchError(f"no images found under {p}")
            try:
                with Image.open(first) as im:
                    resolution = min(im.size)
            except OSError as e:
                raise GanbenchError(f"corrupt image {first}: {e}") from None
        return load_dataset("folder", "train", resolution, channels or 3, str(p))
    name, _, split = spec.partition(":")
    if name not in DATASETS:
        raise GanbenchError(f"{spec!r} is neither an image folder, a .npz statistics file, nor a dataset "
                            f"(choose from: {', '.join(DATASETS.names())}; e.g. fashion-mnist:test)")
    return load_dataset(name, split or "train", resolution, channels, data_root)


def side_stats(spec: str, ext, n: int | None, resolution, channels, data_root, batch_size: int, foreign_ok: bool):
    """(statistics, input label, extractor label) for one FD input: a .npz file, a folder or a dataset split."""
    import zipfile

    if spec.endswith(".npz"):
        if not Path(spec).is_file():
            raise GanbenchError(f"statistics file {spec} not found")
        try:
            ref = load_stats_file(spec)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise GanbenchError(f"bad statistics file {spec}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
                                ) from None
        return ref, spec, check_stats(ref, ext, foreign_ok)
    data = load_images(spec, resolution, channels, data_root)
    return real_stats(data, ext, n, False, batch_size), f"{data.name}:{data.split}", ext.name


@dataclass(frozen=True)
class FDBetween:
    """The FD between two sets and what each side was (input, extractor label, image count)."""

    metric: str
    value: float
    extractor: str  # ext.name, or a foreign label when a side's statistics came from another tool
    weights_sha256: str
    a: str
    n_a: int | str
    extractor_a: str
    b: str
    n_b: int | str
    extractor_b: str


def fd_between(a: str, b: str, ext: Extractor, n: int | None = None, resolution: int | None = None,
               channels: int | None = None, data_root: str | None = None, batch_size: int = 250,
               foreign_ok: bool = False) -> FDBetween:
    """FD of ``ext``'s features between two sets (folders, ``.npz`` statistics or ``dataset[:split]``)."""
    ra, la, ea = side_stats(a, ext, n, resolution, channels, data_root, batch_size, foreign_ok)
    rb, lb, eb = side_stats(b, ext, n, resolution, channels, data_root, batch_size, foreign_ok)
    value = frechet_distance(ra.mu, ra.sigma, rb.mu, rb.sigma)
    label = ext.name if ea == eb == ext.name else FOREIGN if ea == eb else f"{ext.name} vs {FOREIGN}"
    sha = ext.weights_sha256 if label == ext.name else f"unknown ({FOREIGN})"
    return FDBetween(ext.metric_names["fd"], value, label, sha, la, ra.n or "unknown", ea, lb, rb.n or "unknown", eb)
