"""Catch a NaN or inf loss without a host sync per step.

Each step folds "is this loss finite?" into a small device tensor that remembers the first bad step
of every loss; the host reads it only when asked (every logging interval and before a checkpoint is
written), so a diverged run stops with the loss and step named and no NaN weights reach disk.
"""

import torch
from torch import Tensor


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; training stops rather than save or continue from broken weights."""


class NonFiniteWatch:
    """Device-side record of the first step at which each named loss was not finite."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.first_bad_step: Tensor | None = None

    def update(self, losses: dict[str, Tensor], step: int) -> None:
        """Record `losses` (device scalars) of generator step `step`; no host sync."""
        if self.first_bad_step is None:
            self.names = list(losses)
            device = next(iter(losses.values())).device
            self.first_bad_step = torch.full((len(self.names),), -1, dtype=torch.long, device=device)
        values = torch.stack([losses[name].detach().float() for name in self.names])
        newly_bad = ~torch.isfinite(values) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(newly_bad, step, self.first_bad_step)

    def check(self, all_ranks: bool = False) -> None:
        """Raise NonFiniteLossError naming the first loss and step that went bad (one host sync).

        all_ranks: under DDP, every rank must call this at the same point; the ranks then agree (one
        all-reduce) and all raise together, naming the earliest bad step of any rank. A rank that raised
        alone would leave the others waiting in their next collective: under fp16 the GradScaler skips an
        inf step on every rank, so only the rank whose loss overflowed would ever see it.
        """
        if self.first_bad_step is None:
            return
        steps = self.first_bad_step
        if all_ranks and torch.distributed.is_available() and torch.distributed.is_initialized():
            never = torch.iinfo(torch.long).max
            earliest = torch.where(steps < 0, never, steps)
            torch.distributed.all_reduce(earliest, op=torch.distributed.ReduceOp.MIN)
            steps = torch.where(earliest == never, -1, earliest)
        bad = [(step, name) for step, name in zip(steps.tolist(), self.names) if step >= 0]
        if bad:
            step, name = min(bad)
            raise NonFiniteLossError(
                f"train/{name} became NaN or inf at generator step {step}. Training stopped; no checkpoint "
                "was written after that step. Lower the learning rate, check the data, or resume from the "
                "last checkpoint with a different seed."
            )


def check_finite_parameters(named_parameters: dict[str, Tensor]) -> None:
    """Raise NonFiniteLossError if any parameter holds NaN or inf (one host sync)."""
    if not named_parameters:
        return
    finite = torch.stack([p.detach().isfinite().all() for p in named_parameters.values()])
    if not bool(finite.all()):
        broken = [name for name, ok in zip(named_parameters, finite.tolist()) if not ok]
        raise NonFiniteLossError(
            f"parameters {broken[:5]} hold NaN or inf; refusing to write a checkpoint of broken weights."
        )
