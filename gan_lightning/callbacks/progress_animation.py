"""Write `samples/progress.gif` (and `.mp4`) of the fixed-noise grids when a run ends.

The animation is made from the grid PNGs in the run folder (gan_lightning.visuals.animation), so a
resumed run's animation covers the whole run, and `scripts/animate.py RUN_DIR` makes the same file
for a run that crashed or is still going.
"""

from __future__ import annotations

import time

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_info

from gan_lightning.runs import run_dir_of
from gan_lightning.visuals.animation import AnimationSettings, write_progress_animation
from gan_lightning.visuals.grid_files import NoGridsError


class ProgressAnimation(pl.Callback):
    """At the end of training, animate the run's grids: at most `max_frames` frames, evenly spaced."""

    def __init__(
        self,
        enabled: bool = True,
        max_frames: int = 100,
        frame_seconds: float = 0.25,
        last_frame_seconds: float = 2.0,
        mp4: bool = True,
    ) -> None:
        """
        Args:
            max_frames: cap on the frames (a long run's grids are thinned evenly over its steps).
            frame_seconds, last_frame_seconds: how long each frame, and the final one, is shown.
            mp4: also write progress.mp4 when an ffmpeg binary is available (imageio-ffmpeg ships one).
        """
        if max_frames < 2:
            raise ValueError(f"ProgressAnimation: max_frames must be at least 2, got {max_frames}")
        if frame_seconds <= 0 or last_frame_seconds <= 0:
            raise ValueError("ProgressAnimation: frame_seconds and last_frame_seconds must be positive")
        self.enabled = enabled
        self.settings = AnimationSettings(max_frames, frame_seconds, last_frame_seconds)
        self.mp4 = mp4

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Rank 0 only. Safe under DDP: reading PNGs and writing two files talks to no other rank
        # (run_dir_of is not a collective, unlike trainer.log_dir).
        run_dir = run_dir_of(trainer)
        if not (self.enabled and trainer.is_global_zero) or run_dir is None:
            return
        start = time.perf_counter()
        try:
            written = write_progress_animation(run_dir, self.settings, mp4=self.mp4)
        except NoGridsError:
            rank_zero_info("ProgressAnimation: no grid PNGs in this run (samples.save_png false?), so no progress.gif.")
            return
        names = " and ".join(path.name for path in written)
        rank_zero_info(f"Wrote {names} to {written[0].parent} in {time.perf_counter() - start:.1f} s.")
