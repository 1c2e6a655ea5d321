"""Imports every model module in this folder (names not starting with ``_``) so that they register themselves."""
import importlib
import pkgutil
from pathlib import Path

_SKIP = {"base", "layers"}
for _info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if not _info.name.startswith("_") and _info.name not in _SKIP:
        importlib.import_module(f"{__package__}.{_info.name}")
