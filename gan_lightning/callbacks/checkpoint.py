"""Checkpoints a run can always resume from: `checkpoints/last.ckpt`, written safely.

RunCheckpoint is Lightning's ModelCheckpoint configured for `last.ckpt` with these gaps closed:
- Lightning skips the final save at the end of training once any periodic save has happened, so
  the last steps of a run would be lost; here the end of training always writes last.ckpt.
- On SIGTERM (preemption) Lightning stops at the next batch boundary with SIGTERMException and
  ModelCheckpoint saves on exceptions; here only that consistent stop saves, never a NaN stop,
  which must not write (NonFiniteLossError).
- Ctrl-C raises KeyboardInterrupt wherever the step is (say after the discriminator's update and
  before the generator's), and ModelCheckpoint would save that half-done step. Here the first
  Ctrl-C only asks the run to stop: the step is finished, last.ckpt written, then the run stops;
  a second Ctrl-C stops at once without saving.
- On SLURM, Lightning's handler for the requeue signal (SIGUSR1, `#SBATCH --signal=SIGUSR1@90`)
  writes `hpc_ckpt_N.ckpt` from inside the signal handler, mid-step like Ctrl-C, on each rank on
  its own, and trains on. Here the signal is only noted; at the end of the step last.ckpt is
  written, the job is requeued and the run stops. One consistent checkpoint, in the place
  `--ckpt_path last` looks (Lightning issue 13773).
Under DDP all ranks must stop after the same step: they agree every `log_every_n_steps` steps
(one tiny all-reduce, at the steps where the module already checks its losses for NaN).

AtomicCheckpointIO writes every checkpoint to a temporary file in the same folder, fsyncs it, and
renames it over the old one. Lightning's own writer serialises to memory first, but then moves a
file from the system temp folder, which on a cluster (local /tmp, shared run folder) is a copy a
kill can interrupt halfway; a rename within one folder cannot be.
"""

import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.environments import SLURMEnvironment
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from gan_lightning.files import atomic_write

_NO_STOP, _INTERRUPT, _REQUEUE = 0, 1, 2  # what a signal asked for; the highest wins across ranks


class RunCheckpoint(ModelCheckpoint):
    """last.ckpt every `every_n_train_steps` generator steps (or every_n_epochs), at the end of
    training, and when the run is preempted (SIGTERM), interrupted (Ctrl-C) or about to reach its
    SLURM time limit (SIGUSR1)."""

    def __init__(
        self,
        every_n_train_steps: int | None = 500,
        every_n_epochs: int | None = None,
        dirpath: str | None = None,
    ) -> None:
        super().__init__(
            dirpath=dirpath,
            save_last=True,
            save_top_k=0,
            every_n_train_steps=every_n_train_steps,
            every_n_epochs=every_n_epochs,
            save_on_exception=True,
            enable_version_counter=False,  # always last.ckpt, never last-v1.ckpt
        )
        self._stop_requested = _NO_STOP

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning has just installed its own signal handlers and puts the original ones back at
        # teardown. Signal handlers can only be set from the main thread.
        self._stop_requested = _NO_STOP
        if threading.current_thread() is not threading.main_thread():
            return
        self._sigint_before = signal.signal(signal.SIGINT, self._note_interrupt)
        # Lightning's SLURM handler, installed only when SLURM auto-requeue is on, is replaced.
        environment = trainer._accelerator_connector.cluster_environment
        if isinstance(environment, SLURMEnvironment) and environment.auto_requeue and environment.requeue_signal:
            signal.signal(environment.requeue_signal, self._note_requeue)

    def _note_interrupt(self, signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, self._sigint_before)  # a second Ctrl-C stops at once
        self._stop_requested = max(self._stop_requested, _INTERRUPT)
        # os.write, not print: a handler may interrupt a print in progress, and print is not reentrant.
        os.write(2, b"\nCtrl-C: stopping after this step and writing last.ckpt (Ctrl-C again: stop now, no save)\n")

    def _note_requeue(self, signum: int, frame: Any) -> None:
        self._stop_requested = _REQUEUE

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        super().on_train_batch_end(trainer, pl_module, *args)
        stop = self._stop_requested
        if trainer.world_size > 1:
            if trainer.global_step % max(trainer.log_every_n_steps, 1) != 0:
                return
            agreed = torch.tensor(stop, device=trainer.strategy.root_device)
            torch.distributed.all_reduce(agreed, op=torch.distributed.ReduceOp.MAX)
            stop = int(agreed.item())
        if stop == _NO_STOP:
            return
        if self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        if stop == _INTERRUPT:
            rank_zero_info(f"Interrupted: wrote {self.last_model_path} at generator step {trainer.global_step}.")
            raise KeyboardInterrupt
        if trainer.is_global_zero:
            requeue_slurm_job()
        rank_zero_info(
            f"SLURM requeue signal: wrote {self.last_model_path} at generator step {trainer.global_step} and "
            "stopped; the requeued job continues from it with --ckpt_path last."
        )
        raise SIGTERMException()  # stop now as on preemption: no end-of-training work (FID) in the grace time

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        # Runs before Lightning restores its loops from the same dict.
        resume_epoch_end_as_last_batch(checkpoint)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.fast_dev_run and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        # Not on KeyboardInterrupt: a Ctrl-C that gets here is the second one, or came before training
        # started, and may have landed mid-step.
        if isinstance(exception, SIGTERMException) and self._should_save_on_exception(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def resume_epoch_end_as_last_batch(checkpoint: dict) -> None:
    """Rewrite the loop counters of a checkpoint written after an epoch ended as those of one
    written at the end of that epoch's last batch, the state Lightning resumes exactly.

    Lightning 2.6 resumes a checkpoint written after its epoch was counted as processed (on SIGTERM
    at the end of an epoch, at train end when max_steps lands on an epoch boundary, by
    every_n_epochs) with the finished epoch's batch count carried into the next epoch: that epoch
    then ends after one batch and the run trains on other batches than an uninterrupted run
    would. Written at the end of the last batch, the epoch-end hooks have also already run, so
    nothing is repeated or skipped. Checkpoints of any other state are left as they are.
    """
    loop = checkpoint.get("loops", {}).get("fit_loop", {})
    batches, epochs = loop.get("epoch_loop.batch_progress"), loop.get("epoch_progress")
    if not batches or not epochs:
        return
    epoch_processed = epochs["total"]["processed"] == epochs["total"]["started"] > 0
    all_batches_done = (
        batches["is_last_batch"] and batches["current"]["completed"] == batches["current"]["processed"] > 0
    )
    if not (epoch_processed and all_batches_done):
        return
    for counts in (epochs["current"], epochs["total"]):
        counts["processed"] -= 1
        counts["completed"] = counts["processed"]
    for counts in (batches["current"], batches["total"]):
        counts["completed"] -= 1
    loop.get("epoch_loop.state_dict", {})["_batches_that_stepped"] = (
        loop.get("epoch_loop.state_dict", {}).get("_batches_that_stepped", 1) - 1
    )


def requeue_slurm_job() -> bool:
    """`scontrol requeue` this SLURM job (array task); False with a warning when that fails."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job = f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_job else os.environ.get("SLURM_JOB_ID", "")
    try:
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
        error = result.stderr.strip() if result.returncode else None
    except (OSError, subprocess.TimeoutExpired) as failure:
        error = str(failure)
    if error is not None:
        rank_zero_warn(f"Could not requeue SLURM job {job!r} ({error}); resubmit it with --ckpt_path last.")
        return False
    rank_zero_info(f"Requeued SLURM job {job}.")
    return True


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save to `<name>.tmp` beside the target, fsync, then os.replace: all or nothing."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        with atomic_write(path, fsync=True, unique=False) as tmp:  # only rank 0 writes checkpoints
            torch.save(checkpoint, tmp)
