"""What Lightning's fit loop knows about the epoch, and its checkpointed counters put into a state it resumes exactly.

Lightning 2.6 resumes exactly from a checkpoint written at the end of a training batch in the middle of
an epoch (ModelCheckpoint's periodic save). It does not from two other states a checkpoint can be
written in, so `normalize_loop_state` rewrites those, before Lightning restores its loops:

- After an epoch ended (at the epoch's end, or at the end of training when the run's last batch is the
  epoch's last): Lightning carries the finished epoch's batch count into the next epoch, which then ends
  after one batch. Rewritten as the end of that epoch's last batch; the epoch-end hooks already ran
  before the save, and Lightning resumes such a checkpoint without running them again.
- At the end of training in the middle of an epoch (`max_steps` reached): the epoch is counted as
  finished, so the resumed run starts a new epoch with a new shuffle instead of finishing this one.
  Rewritten as the periodic checkpoint of that batch.

A checkpoint must therefore never be written at the end of an epoch's last batch before the epoch-end
hooks ran (they would be skipped on resume): RunCheckpoint saves those at the epoch's end instead.
"""

from __future__ import annotations

import pytorch_lightning as pl


def epoch_finished(trainer: pl.Trainer) -> bool:
    """Whether the epoch in progress has run all its batches (False when `max_steps` stops it early or while
    a batch that is not its last is being trained). Valid from a batch's start to the epoch-end hooks."""
    return bool(trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)


def normalize_loop_state(checkpoint: dict) -> None:
    """Rewrite, in place, the loop counters of a checkpoint written after its epoch was counted as finished
    into the state Lightning resumes exactly (see the module docstring). Other checkpoints are unchanged."""
    loop = checkpoint.get("loops", {}).get("fit_loop", {})
    batches, epochs = loop.get("epoch_loop.batch_progress"), loop.get("epoch_progress")
    if not batches or not epochs:
        return
    epoch_counted = epochs["total"]["processed"] == epochs["total"]["started"] > 0
    if not epoch_counted:
        return  # written during an epoch, at a batch's end: resumed exactly as it is
    done = batches["current"]["completed"] == batches["current"]["processed"] > 0
    if not done:
        return
    # Both cases become "the end of the batch just trained, epoch not yet counted": the state of a
    # checkpoint written at that batch's end (ModelCheckpoint's on_train_batch_end).
    for counts in (epochs["current"], epochs["total"]):
        counts["processed"] -= 1
        counts["completed"] = counts["processed"]
    for counts in (batches["current"], batches["total"]):
        counts["completed"] -= 1
    state = loop.setdefault("epoch_loop.state_dict", {})
    state["_batches_that_stepped"] = state.get("_batches_that_stepped", 1) - 1
