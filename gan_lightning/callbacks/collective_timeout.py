"""CollectiveTimeout: under DDP, a collective that some rank never joins becomes an error, not a hang.

By default torch waits 30 minutes (Lightning's default for every backend) before a collective gives up,
and a rank stuck in one ignores SIGTERM, so a cluster job burns its allocation. During training every
collective (gradient and statistics all-reduces, the agreed stop, FID's gather) completes within
seconds when all ranks take part, so once the data is prepared (setup) the process group's timeout is set
to `timeout_s`, before the first grid, the checkpoint restore and the first step. Data preparation keeps the
longer default: rank 0 may decode a dataset while the others wait.
When a collective times out, each rank says so, naming its rank and the generator step and where it waited
(a rank whose peer ended first says that instead); the run then ends with the backend's error.
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

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # After prepare_data (rank 0 may decode a dataset while the others wait), before anything else:
        # the first grid and the checkpoint restore already run under the short timeout.
        if stage == "fit" and trainer.world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.set_timeout(datetime.timedelta(seconds=self.timeout_s))

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if trainer.world_size == 1 or not is_collective_failure(exception):
            return
        text = str(exception).strip()
        first_line = text.splitlines()[0][:300] if text else ""
        if is_timeout(text):
            what = f"did not complete within {self.timeout_s:g} s at generator step {trainer.global_step}: some rank "
            what += "never joined it. Raise distributed.timeout_s only if a rank legitimately works that long alone"
        else:
            what = f"failed at generator step {trainer.global_step}: another rank ended (its own message says why)"
        print(
            f"gan-lightning: rank {trainer.global_rank} of {trainer.world_size}: a collective {what}. "
            f"({type(exception).__name__}: {first_line}) Where this rank waited:\n"
            + "".join(traceback.format_tb(exception.__traceback__)[-8:]),
            file=sys.stderr,
            flush=True,
        )


def is_collective_failure(exception: BaseException) -> bool:
    """Whether `exception` comes from a torch.distributed collective (gloo or NCCL): a timeout, or a peer gone."""
    backend_error = getattr(torch.distributed, "DistBackendError", ())
    text = str(exception)
    return isinstance(exception, backend_error) or (
        isinstance(exception, RuntimeError) and any(word in text for word in ("gloo", "NCCL", "nccl", "c10d"))
    )


def is_timeout(text: str) -> bool:
    return "timed out" in text.lower() or "timeout" in text.lower()
