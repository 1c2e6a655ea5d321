"""ganbench: a reproducible benchmark and evaluation suite for GAN architectures."""
__version__ = "0.1.0"
