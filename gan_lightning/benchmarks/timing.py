"""Time per training step, the same way for the Lightning fit path and the plain loops.

On a GPU the work of a step is queued asynchronously, so a host timestamp taken right after the
step says when it was *queued*, not when it *ran*. A synchronize after every step would time it
correctly but change what is measured (the CPU could no longer run ahead of the GPU, as it does in
a real run). So on CUDA each step end records a CUDA event on the current stream (no sync) and the
per-step times are read from the events afterwards; the total wall time is taken with one
synchronize at the start and one at the end of the measured window. On the CPU everything is
synchronous and perf_counter stamps are exact.
"""

from __future__ import annotations

import statistics
import time

import pytorch_lightning as pl
import torch


def synchronize(device: torch.device) -> None:
    """Wait for all queued work on `device` (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepClock:
    """Call `tick()` at the end of every step. The first `warmup` steps are not measured; the
    window is the next `steps` steps (tick number warmup+1 .. warmup+steps)."""

    def __init__(self, device: torch.device | str, warmup: int, steps: int) -> None:
        if warmup < 1 or steps < 1:
            raise ValueError(f"StepClock needs warmup >= 1 and steps >= 1, got warmup={warmup}, steps={steps}")
        self.device = torch.device(device)
        self.warmup, self.steps = warmup, steps
        self.ticks = 0
        self.stamps: list[float] = []  # CPU: perf_counter at the window start and after each step
        self.events: list[torch.cuda.Event] = []  # CUDA: the same points as events on the stream
        self.wall_start = self.wall_end = None

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks < self.warmup or self.ticks > self.warmup + self.steps:
            return
        if self.ticks == self.warmup:
            synchronize(self.device)
            self.wall_start = time.perf_counter()
        if self.device.type == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.events.append(event)
        else:
            self.stamps.append(time.perf_counter())
        if self.ticks == self.warmup + self.steps:
            synchronize(self.device)
            self.wall_end = time.perf_counter()

    def result(self) -> dict:
        """steps, total_s (wall), mean_step_s (total / steps), median_step_s, min/max step."""
        if self.wall_end is None:
            raise RuntimeError(f"StepClock: only {self.ticks} of {self.warmup + self.steps} steps ran")
        if self.device.type == "cuda":
            times = [a.elapsed_time(b) / 1000 for a, b in zip(self.events, self.events[1:])]
        else:
            times = [b - a for a, b in zip(self.stamps, self.stamps[1:])]
        total = self.wall_end - self.wall_start
        return {
            "steps": self.steps,
            "total_s": total,
            "mean_step_s": total / self.steps,
            "median_step_s": statistics.median(times),
            "min_step_s": min(times),
            "max_step_s": max(times),
        }


class StepTimer(pl.Callback):
    """Ticks a StepClock at the end of every training batch (one generator step)."""

    def __init__(self, clock: StepClock) -> None:
        self.clock = clock

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        self.clock.tick()
