"""The signals that ask a run to stop, noted in their handlers and acted on at a step boundary.

- SIGINT (Ctrl-C): stop after this step with a checkpoint; a second Ctrl-C stops at once, without one.
- SIGTERM (`kill`, a cluster's preemption): stop after this step with a checkpoint.
- SLURM's requeue signal (SIGUSR1 with `#SBATCH --signal=SIGUSR1@90`): the same, then requeue the job.

A handler only records the request. Lightning's own SIGTERM handler broadcasts from inside the handler,
so a collective starts at whatever point each rank was interrupted, paired with whatever collective the
other ranks are in; its SLURM handler writes a checkpoint from inside the handler, mid-step. Here the
ranks agree on the step to stop after (RunCheckpoint) and nothing happens inside a handler but a note.
"""

from __future__ import annotations

import enum
import os
import signal
import threading
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.environments import SLURMEnvironment


class StopRequest(enum.IntEnum):
    """What a signal asked for; when ranks disagree, the highest wins."""

    NONE = 0
    INTERRUPT = 1  # Ctrl-C
    PREEMPT = 2  # SIGTERM
    REQUEUE = 3  # SLURM's requeue signal


class StopSignals:
    """Installs handlers that note stop requests in `requested`, and puts the previous handlers back."""

    def __init__(self) -> None:
        self.requested = StopRequest.NONE
        self._previous: dict[int, Any] = {}
        self._launcher = None

    def install(self, trainer: pl.Trainer) -> None:
        """Replace Lightning's SIGINT, SIGTERM and (SLURM auto-requeue) requeue-signal handlers.

        Call in on_train_start: Lightning installs its handlers right before training starts and puts
        the original ones back at teardown. Signal handlers can only be set from the main thread.
        """
        self.requested = StopRequest.NONE
        if threading.current_thread() is not threading.main_thread():
            return
        # Lightning's handler forwards SIGTERM to the ranks it launched itself; so does this one.
        self._launcher = trainer.strategy.launcher
        self._set(signal.SIGINT, self._on_interrupt)
        self._set(signal.SIGTERM, self._on_terminate)
        environment = trainer._accelerator_connector.cluster_environment
        if isinstance(environment, SLURMEnvironment) and environment.auto_requeue and environment.requeue_signal:
            self._set(environment.requeue_signal, self._on_requeue)

    def restore(self) -> None:
        """Put back the handlers `install` replaced, where ours are still installed (Lightning's teardown may
        already have put back the ones that were there before the fit)."""
        if threading.current_thread() is not threading.main_thread():
            return
        ours = (self._on_interrupt, self._on_terminate, self._on_requeue)
        for signum, handler in self._previous.items():
            if signal.getsignal(signum) in ours:
                signal.signal(signum, handler)
        self._previous.clear()

    def _set(self, signum: int, handler: Any) -> None:
        previous = signal.signal(signum, handler)
        self._previous.setdefault(signum, previous)

    def _note(self, request: StopRequest) -> None:
        self.requested = max(self.requested, request)

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, self._previous.get(signal.SIGINT, signal.default_int_handler))  # 2nd: now
        self._note(StopRequest.INTERRUPT)
        # os.write, not print: a handler may interrupt a print in progress, and print is not reentrant.
        os.write(2, b"\nCtrl-C: stopping after this step and writing last.ckpt (Ctrl-C again: stop now, no save)\n")

    def _on_terminate(self, signum: int, frame: Any) -> None:
        if self.requested < StopRequest.PREEMPT and self._launcher is not None:
            self._launcher.kill(signum)  # the ranks this process launched get it too (os.kill: handler-safe)
        self._note(StopRequest.PREEMPT)

    def _on_requeue(self, signum: int, frame: Any) -> None:
        self._note(StopRequest.REQUEUE)
