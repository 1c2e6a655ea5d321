"""Evaluating generators that ganbench did not train (``ganbench eval --generator``; ``ganbench.gate.generator``
gates them with ``ganbench regress --generator``)."""
from .evaluate import evaluate_generator
from .generator import Generator, GeneratorOptions, load_generator

__all__ = ["evaluate_generator", "Generator", "GeneratorOptions", "load_generator"]
