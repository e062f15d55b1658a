"""Callbacks that watch training: fixed-noise grids, FID (with the best-FID checkpoint), and at the end
of a run the progress animation, the dashboards' run summary and report.html."""

from gan_lightning.callbacks.fid import FIDEvaluation
from gan_lightning.callbacks.progress_animation import ProgressAnimation
from gan_lightning.callbacks.run_report import RunReport
from gan_lightning.callbacks.run_summary import RunSummary
from gan_lightning.callbacks.sample_grid import FixedNoiseGrid

__all__ = ["FIDEvaluation", "FixedNoiseGrid", "ProgressAnimation", "RunReport", "RunSummary"]
