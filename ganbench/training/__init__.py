"""The shared trainer: one loop for every model."""
from .spec import TrainSpec
from .trainer import RunResult, train

__all__ = ["TrainSpec", "RunResult", "train"]
