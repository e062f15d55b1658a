"""Write `<run>/report.html` when training ends (gan_lightning.visuals.report): one self-contained page
with the run's curves, grids, progress animation, real vs fake, latent walks, metrics and config.

`scripts/report.py RUN_DIR` writes the same page for any run folder, from its checkpoint.
"""

from __future__ import annotations

import time

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities import rank_zero_info

from gan_lightning.runs import run_dir_of
from gan_lightning.visuals.grid_files import NoGridsError
from gan_lightning.visuals.report import write_report
from gan_lightning.visuals.run_images import PictureSettings, generator_pictures


class RunReport(pl.Callback):
    """At the end of training, write report.html into the run folder (after the animation and final FID)."""

    def __init__(
        self, enabled: bool = True, real_vs_fake: int = 32, walks: int = 6, walk_steps: int = 10, seed: int = 0
    ) -> None:
        """
        Args:
            real_vs_fake: real and generated images shown side by side (each).
            walks, walk_steps: latent walks shown, and the images along each.
            seed: seed of the generated images and of the choice of real ones.
        """
        if walk_steps < 2:
            raise ValueError(f"RunReport: walk_steps must be at least 2 (a walk's two ends), got {walk_steps}")
        if real_vs_fake < 1 or walks < 1:
            raise ValueError("RunReport: real_vs_fake and walks must be at least 1")
        self.enabled = enabled
        self.settings = PictureSettings(real_vs_fake=real_vs_fake, walks=walks, walk_steps=walk_steps, seed=seed)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Rank 0 only. Safe under DDP: the generator runs on this rank's own module outside the DDP
        # wrapper (no gradient sync, eval-mode BatchNorm), and the rest reads and writes local files;
        # no collective is called (run_dir_of, unlike trainer.log_dir, is not one).
        run_dir = run_dir_of(trainer)
        if not (self.enabled and trainer.is_global_zero) or run_dir is None:
            return
        start = time.perf_counter()
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.flush()  # every scalar up to this step in the files the report reads
        datamodule = trainer.datamodule
        reals = datamodule.images() if datamodule is not None and hasattr(datamodule, "images") else None
        try:
            path = write_report(run_dir, generator_pictures(pl_module, reals, self.settings))
        except NoGridsError:
            rank_zero_info("RunReport: no grid PNGs in this run (samples.save_png false?), so no report.html.")
            return
        rank_zero_info(f"Wrote {path} in {time.perf_counter() - start:.1f} s.")
