"""The run folder, as code that only rank 0 runs may ask for it.

Lightning's `trainer.log_dir` is a collective (it broadcasts rank 0's answer), so calling it from a
branch only rank 0 takes leaves rank 0 waiting for ranks that never join: a hang. The folder is
read instead from the TensorBoard logger (its `log_dir` is plain path arithmetic on this process),
else from `trainer.default_root_dir`, which gan_lightning.cli sets to the run folder on every rank.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger


def run_folder(trainer: pl.Trainer) -> Path:
    """This run's folder, without any communication between ranks."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return Path(logger.log_dir)
    return Path(trainer.default_root_dir)
