"""RunCheckpoint: `checkpoints/last.ckpt`, written whenever a run could need to continue from it,
`checkpoints/best.ckpt` when an evaluation callback (FIDEvaluation) finds a new best, and, when asked,
snapshots `checkpoints/step_XXXXXXXX.ckpt` kept every N generator steps (stylegan2-ada-pytorch keeps
its network snapshots the same way: to evaluate, sample or branch from any point of a run later).

Lightning's ModelCheckpoint configured for last.ckpt, with these gaps closed:
- Lightning skips the final save once any periodic save has happened, so the last steps of a run
  would be lost; here the end of training always writes last.ckpt.
- A checkpoint taken at the end of an epoch's last batch resumes without that epoch's end hooks
  (epoch loss means, the epoch's grid and FID; see gan_lightning.loops); such saves wait for the
  epoch's end, after those hooks. best.ckpt follows the same rule, so it resumes as exactly as last.ckpt.
- Stops. Ctrl-C, SIGTERM and SLURM's requeue signal are only noted by their handlers
  (gan_lightning.signals). After a step, the ranks agree whether any of them was asked to stop; then
  last.ckpt is written for that step, the SLURM job is requeued if asked, and the run stops at the
  next step's start (after the step's scalars reached the loggers). Under DDP the ranks agree every
  `log_every_n_steps` steps: one tiny all-reduce at the steps where the losses are read anyway. A NaN
  stop (NonFiniteLossError) never writes a checkpoint.
Under DDP, save decisions depend only on the step and the agreed stop, so every rank calls
`_save_last_checkpoint` (which holds a barrier) together; only global rank 0 writes the file. A snapshot
is a copy of the last.ckpt just written, made by global rank 0 alone (a file copy, no collective).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_info
from pytorch_lightning.utilities.exceptions import SIGTERMException

from gan_lightning.files import atomic_write
from gan_lightning.loops import epoch_finished, normalize_loop_state
from gan_lightning.signals import StopRequest, StopSignals
from gan_lightning.slurm import requeue_slurm_job


class RunCheckpoint(ModelCheckpoint):
    """last.ckpt every `every_n_train_steps` generator steps (or `every_n_epochs`), at the end of training,
    and when the run is interrupted (Ctrl-C), preempted (SIGTERM) or about to reach its SLURM time limit;
    a kept snapshot `step_XXXXXXXX.ckpt` every `keep_every_n_train_steps` generator steps (None: none)."""

    def __init__(
        self,
        every_n_train_steps: int | None = 500,
        every_n_epochs: int | None = None,
        dirpath: str | None = None,
        keep_every_n_train_steps: int | None = None,
    ) -> None:
        if keep_every_n_train_steps is not None and keep_every_n_train_steps < 1:
            raise ValueError(
                f"checkpoint.keep_every_n_train_steps must be a positive number of generator steps or null "
                f"(no snapshots), got {keep_every_n_train_steps}"
            )
        super().__init__(
            dirpath=dirpath,
            save_last=True,
            save_top_k=0,
            every_n_train_steps=every_n_train_steps,
            every_n_epochs=every_n_epochs,
            enable_version_counter=False,  # always last.ckpt, never last-v1.ckpt
        )
        self.signals = StopSignals()
        self.stop = StopRequest.NONE  # agreed by all ranks; acted on at the next step's start
        self._save_at_epoch_end = False
        self._best_due = False
        self.keep_every_n_train_steps = keep_every_n_train_steps
        self._snapshot_due = False

    def request_best(self) -> None:
        """An evaluation callback found this step the best so far: write `best.ckpt` at this step's save point.

        Every rank must call this alike (FIDEvaluation does: its decision is rank 0's, broadcast)."""
        self._best_due = True

    @property
    def stop_requested(self) -> bool:
        """True once the ranks agreed to stop: other callbacks skip long work (FID) in the grace time."""
        return self.stop != StopRequest.NONE

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.stop = StopRequest.NONE
        self._save_at_epoch_end = False
        self._snapshot_due = False
        self.signals.install(trainer)
        if trainer.world_size > 1:
            # Lightning 2.6 broadcasts its SIGTERM flag from rank 0 and reads it with .item() before every
            # training batch (_TrainingEpochLoop._broadcast_sigterm_tensor): a collective and a host sync
            # per step. The flag is only set by its SIGTERM handler, which `signals` has replaced, so the
            # broadcast could only ever say "no"; the agreement below takes its place.
            trainer.fit_loop.epoch_loop._broadcast_sigterm_tensor = _no_sigterm_broadcast

    def on_train_batch_start(self, trainer: pl.Trainer, *args) -> None:
        if self.stop != StopRequest.NONE:
            self._stop_run(trainer)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        self.stop = max(self.stop, self._agree_on_stop(trainer))
        every, keep = self._every_n_train_steps, self.keep_every_n_train_steps
        periodic = every is not None and every > 0 and trainer.global_step % every == 0
        self._snapshot_due |= keep is not None and trainer.global_step % keep == 0
        if periodic or self._snapshot_due or self.stop != StopRequest.NONE:
            if epoch_finished(trainer):
                self._save_at_epoch_end = True  # after the epoch-end hooks (gan_lightning.loops)
            else:
                self._save(trainer)
        if self._best_due and not epoch_finished(trainer):
            self._save_best(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # A checkpoint callback runs after the module's and the other callbacks' epoch-end hooks. The ranks
        # agree here too: a signal may have come during those hooks (an epoch's FID can take minutes).
        if not epoch_finished(trainer):  # max_steps stopped the run mid-epoch: on_train_end saves
            return
        self.stop = max(self.stop, self._agree_on_stop(trainer, every_step=True))
        every = self._every_n_epochs
        periodic = every is not None and every > 0 and (trainer.current_epoch + 1) % every == 0
        if self._best_due:
            self._save_best(trainer)
        if self._save_at_epoch_end or periodic or self.stop != StopRequest.NONE:
            self._save(trainer)
        self._save_at_epoch_end = False

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Always, even if this step was saved at its epoch's end: end-of-training work (the final FID)
        # has changed the state of other callbacks since.
        if trainer.fast_dev_run:
            return
        if self._best_due:
            self._save_best(trainer)
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        if self._snapshot_due:
            self._save_snapshot(trainer)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.signals.restore()

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        # Runs before Lightning restores its loops from the same dict.
        normalize_loop_state(checkpoint)

    def _agree_on_stop(self, trainer: pl.Trainer, every_step: bool = False) -> StopRequest:
        """The stop request of any rank, on every rank: every step on one process; under DDP every
        `log_every_n_steps` steps (the same steps on every rank) or when `every_step`, with one all-reduce."""
        requested = self.signals.requested
        if trainer.world_size == 1:
            return requested
        if not every_step and trainer.global_step % max(trainer.log_every_n_steps, 1) != 0:
            return StopRequest.NONE
        agreed = torch.tensor(int(requested), device=trainer.strategy.root_device)
        torch.distributed.all_reduce(agreed, op=torch.distributed.ReduceOp.MAX)
        return StopRequest(int(agreed.item()))

    def _save_best(self, trainer: pl.Trainer) -> None:
        self._best_due = False
        trainer.save_checkpoint(Path(self.dirpath) / "best.ckpt", weights_only=False)  # all ranks; rank 0 writes

    def _save(self, trainer: pl.Trainer) -> None:
        if self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        if self._snapshot_due:
            self._save_snapshot(trainer)

    def _save_snapshot(self, trainer: pl.Trainer) -> None:
        """Copy the last.ckpt just written (at this step) to step_XXXXXXXX.ckpt: the same bytes, no second
        serialisation. Rank 0 only; Trainer.save_checkpoint's barrier has made its file complete."""
        self._snapshot_due = False
        if trainer.is_global_zero:
            snapshot = Path(self.dirpath) / f"step_{trainer.global_step:08d}.ckpt"
            with atomic_write(snapshot, fsync=True, unique=False) as tmp:
                shutil.copyfile(self.last_model_path, tmp)

    def _stop_run(self, trainer: pl.Trainer) -> None:
        step, path = trainer.global_step, self.last_model_path
        if self.stop == StopRequest.INTERRUPT:
            rank_zero_info(f"Interrupted: wrote {path} at generator step {step}.")
            raise KeyboardInterrupt
        if self.stop == StopRequest.REQUEUE:
            if trainer.is_global_zero:  # a subprocess, not a collective
                requeue_slurm_job()
            rank_zero_info(
                f"SLURM requeue signal: wrote {path} at generator step {step} and stopped; the requeued job "
                "continues from it with --ckpt_path last."
            )
        else:
            rank_zero_info(f"SIGTERM: wrote {path} at generator step {step} and stopped; resume with --ckpt_path last.")
        raise SIGTERMException()  # Lightning's own stop for preemption: no end-of-training work in the grace time


def _no_sigterm_broadcast() -> None:
    return None
