"""Checkpoint files written all or nothing, in the run folder itself.

Lightning's own writer serialises to memory first, but then moves a file from the system temp folder,
which on a cluster (local /tmp, shared run folder) is a copy a kill can interrupt halfway; a rename
within one folder cannot be interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from gan_lightning.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save to `.<name>.tmp` beside the target, fsync, then rename: all or nothing."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        with atomic_write(path, fsync=True, unique=False) as tmp:  # only global rank 0 writes checkpoints
            torch.save(checkpoint, tmp)
