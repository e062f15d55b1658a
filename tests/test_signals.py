"""gan_lightning.signals: the stop requests of a run's signal handlers, and the handlers put back after it."""

import signal

import pytest
from pytorch_lightning.utilities.exceptions import SIGTERMException

from tests.fit_runs import fit_in_process, one_thread, tiny_config  # noqa: F401 (one_thread: an autouse fixture)


@pytest.mark.parametrize("stopped_by", ["max_steps", "SIGTERM"])
def test_a_fit_leaves_the_signal_handlers_as_it_found_them(tmp_path, stopped_by):
    """Forked worker processes (the decode pool) inherit Python signal handlers: a fit that left its
    SIGTERM note-taker installed made Pool.terminate() wait forever for workers that ignore SIGTERM."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    cfg = tiny_config(tmp_path, "dcgan", max_steps=3 if stopped_by == "max_steps" else 50)
    if stopped_by == "SIGTERM":
        with pytest.raises(SIGTERMException):
            fit_in_process(cfg, "--trainer.callbacks+=tests.fit_runs.SignalAtStep", "--trainer.callbacks.step=2")
    else:
        fit_in_process(cfg)
    assert {signum: signal.getsignal(signum) for signum in before} == before
