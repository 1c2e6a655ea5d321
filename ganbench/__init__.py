"""ganbench: a reproducible benchmark and evaluation suite for GAN architectures."""
__version__ = "0.1.0"


def __getattr__(name: str):
    """``ganbench.evaluate_generator`` without importing torch at ``import ganbench``."""
    if name == "evaluate_generator":
        from .external import evaluate_generator
        return evaluate_generator
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")
