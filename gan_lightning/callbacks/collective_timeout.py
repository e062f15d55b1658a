"""CollectiveTimeout: under DDP, a collective that some rank never joins becomes an error, not a hang.

By default torch waits 30 minutes (Lightning's default for every backend) before a collective gives up,
and a rank stuck in one ignores SIGTERM, so a cluster job burns its allocation. During training every
collective (gradient and statistics all-reduces, the agreed stop, FID's gather) completes within
seconds when all ranks take part, so from the first training step the process group's timeout is set to
`timeout_s`. Setup keeps the longer default: rank 0 may decode a dataset while the others wait.
When a collective times out, each rank says so, naming its rank and the generator step, and prints its
Python stack; the run then ends with the backend's error.
"""

from __future__ import annotations

import datetime
import sys
import traceback

import pytorch_lightning as pl
import torch


class CollectiveTimeout(pl.Callback):
    """Set the process group's timeout to `timeout_s` seconds for training; explain a timeout when one fires."""

    def __init__(self, timeout_s: float = 600.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"CollectiveTimeout: timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.set_timeout(datetime.timedelta(seconds=self.timeout_s))

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if trainer.world_size > 1 and is_collective_timeout(exception):
            first_line = str(exception).strip().splitlines()[0][:300] if str(exception).strip() else ""
            print(
                f"gan-lightning: rank {trainer.global_rank} of {trainer.world_size}: a collective did not complete "
                f"within {self.timeout_s:g} s at generator step {trainer.global_step}: some rank never joined it "
                f"({type(exception).__name__}: {first_line}). Where this rank waited follows; every rank prints "
                "its own. "
                "Raise distributed.timeout_s only if a rank legitimately works that long alone.",
                file=sys.stderr,
                flush=True,
            )
            print("".join(traceback.format_tb(exception.__traceback__)[-12:]), file=sys.stderr, flush=True)


def is_collective_timeout(exception: BaseException) -> bool:
    """Whether `exception` is a torch.distributed collective giving up (gloo or NCCL)."""
    backend_error = getattr(torch.distributed, "DistBackendError", ())
    text = str(exception).lower()
    return isinstance(exception, backend_error) or (
        isinstance(exception, RuntimeError) and ("timed out" in text or "timeout" in text)
    )
