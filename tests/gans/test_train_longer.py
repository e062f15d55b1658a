"""README's "train longer" (`--ckpt_path last --trainer.max_steps N`) with a learning-rate schedule: the
schedule spans the run's new length from the step it resumes at, instead of training the extra steps at
the end of the old schedule (lr 0 for linear decay, a rising lr for cosine past its half period)."""

import math

import pytest

from tests.fit_runs import fit_in_process, one_thread, run_dirs, tiny_config  # noqa: F401 (autouse fixture)
from tests.run_files import tensorboard_events

LR = 1e-3


def learning_rates(tmp_path) -> dict[int, float]:
    """The generator's lr in each step, as Lightning's LearningRateMonitor logged it, over the run's events."""
    (run,) = run_dirs(tmp_path)
    events = tensorboard_events(run)
    tag = next(t for t in events.Tags()["scalars"] if t.startswith("lr-Adam") and not t.endswith("-1"))
    return {point.step: point.value for point in events.Scalars(tag)}


@pytest.mark.parametrize("shape", ["linear", "cosine"])
def test_train_longer_stretches_the_schedule_to_the_new_end(tmp_path, shape):
    cfg = tiny_config(tmp_path, "dcgan", max_steps=4, model={"lr": LR, "lr_schedule": shape}, every_n_train_steps=None)
    monitor = [
        "--trainer.callbacks+=pytorch_lightning.callbacks.LearningRateMonitor",
        "--trainer.callbacks.logging_interval=step",
    ]
    fit_in_process(cfg, *monitor)
    fit_in_process(cfg, *monitor, "--ckpt_path", "last", "--trainer.max_steps", "8")

    def expected(step: int, total: int) -> float:
        done = step / total
        return LR * (0.5 * (1 + math.cos(math.pi * done)) if shape == "cosine" else 1 - done)

    got = learning_rates(tmp_path)
    assert [got[s] for s in range(4)] == pytest.approx([expected(s, 4) for s in range(4)], rel=1e-6)
    assert [got[s] for s in range(4, 8)] == pytest.approx([expected(s, 8) for s in range(4, 8)], rel=1e-6)
