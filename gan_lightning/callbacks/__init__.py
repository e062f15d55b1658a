"""Callbacks that watch training: fixed-noise grids and FID (with the best-FID checkpoint)."""

from gan_lightning.callbacks.fid import FIDEvaluation
from gan_lightning.callbacks.sample_grid import FixedNoiseGrid

__all__ = ["FIDEvaluation", "FixedNoiseGrid"]
