"""Exact resume: N generator steps in one go, and k steps + interruption + resume + N-k steps, end
with bit-identical weights (G, D, EMA, fixed noise), optimizer and scheduler states, noise seed and
data position, for both modules, with random flips and EMA on, k mid-epoch and at an epoch boundary.

The runs go through the real CLI (`gan_lightning.cli.main`, what scripts/fit.py calls) in this
process, interrupted by a real SIGTERM that the run sends itself at step k (tests.fit_runs.SignalAtStep),
and resumed with `--ckpt_path last` or an explicit path.
"""

import pytest
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from tests.fit_runs import (  # noqa: F401 (one_thread: an autouse fixture)
    assert_identical,
    fit_in_process,
    last_checkpoint,
    load,
    one_thread,
    tiny_config,
    training_state,
)

# DCGAN: 100 images / batch 8 = 12 generator steps per epoch. WGAN-GP (n_critic 2): 6 per epoch.
STEPS = {"dcgan": 15, "wgan_gp": 9}
SCHEDULED = {"ema_decay": 0.9, "lr_schedule": "linear", "lr_warmup_steps": 2}


def config(folder, module, max_steps=None, model=SCHEDULED):
    folder.mkdir(parents=True, exist_ok=True)
    return tiny_config(
        folder,
        module,
        max_steps=max_steps or STEPS[module],
        model=model,
        data={"random_flip": True},
        every_n_train_steps=5,  # periodic last.ckpt at steps 5, 10, 15
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The final checkpoint of one uninterrupted run per module (computed once)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    finals = {}
    for module in STEPS:
        folder = tmp_path_factory.mktemp(f"straight_{module}")
        fit_in_process(config(folder, module))
        finals[module] = load(last_checkpoint(folder))
    torch.set_num_threads(threads)
    return finals


def assert_same_run(resumed: dict, straight: dict) -> None:
    assert resumed["global_step"] == straight["global_step"]
    assert_identical(training_state(resumed), training_state(straight), "checkpoint")
    assert resumed["epoch"] == straight["epoch"]
    assert resumed["DemoDataModule"] == straight["DemoDataModule"]  # the position inside the epoch
    # what was compared includes the EMA generator and the fixed noise
    assert "fixed_noise" in resumed["state_dict"]
    assert any(name.startswith("generator_ema.") for name in resumed["state_dict"])


@pytest.mark.parametrize(
    "module, k, hook, resume_args",
    [
        # mid-epoch; saved when Lightning stops the run (on_exception)
        ("dcgan", 7, "batch", ["--ckpt_path", "last"]),
        # mid-epoch, on a periodic checkpoint step (saved at the batch's end); a new global seed
        # must not change the noise the resumed run draws
        ("wgan_gp", 5, "batch", ["--ckpt_path", "last", "--seed_everything", "123"]),
        # last batch of the epoch: Lightning stops after the epoch is counted as completed
        ("wgan_gp", 6, "batch", ["--ckpt_path", "{checkpoint}"]),
        # the signal lands in the epoch-end hooks
        ("dcgan", 12, "epoch", ["--ckpt_path", "last"]),
    ],
    ids=[
        "dcgan-mid-epoch",
        "wgan_gp-periodic-step-new-seed",
        "wgan_gp-epoch-end-explicit-path",
        "dcgan-epoch-end-hooks",
    ],
)
def test_sigterm_then_resume_is_bit_identical(tmp_path, uninterrupted, module, k, hook, resume_args):
    cfg = config(tmp_path, module)
    with pytest.raises(SIGTERMException):
        fit_in_process(
            cfg,
            "--trainer.callbacks+=tests.fit_runs.SignalAtStep",
            f"--trainer.callbacks.step={k}",
            f"--trainer.callbacks.hook={hook}",
        )
    checkpoint = last_checkpoint(tmp_path)
    assert load(checkpoint)["global_step"] == k  # the run really stopped at step k, and saved there
    fit_in_process(cfg, *(arg.format(checkpoint=checkpoint) for arg in resume_args))
    assert len(list((tmp_path / "runs" / "tiny").iterdir())) == 1  # continued in the same run folder
    assert_same_run(load(last_checkpoint(tmp_path)), uninterrupted[module])


def test_extending_a_finished_run_at_an_epoch_boundary_is_bit_identical(tmp_path):
    """A run that ended exactly at an epoch's end (max_steps=12), extended to 15 steps, equals a
    15-step run: Lightning alone would cut the next epoch short after one batch."""
    constant = {"ema_decay": 0.9}
    straight = tmp_path / "straight"
    fit_in_process(config(straight, "dcgan", max_steps=15, model=constant))
    extended = tmp_path / "extended"
    cfg = config(extended, "dcgan", max_steps=12, model=constant)
    fit_in_process(cfg)
    assert load(last_checkpoint(extended))["global_step"] == 12
    fit_in_process(cfg, "--ckpt_path", "last", "--trainer.max_steps", "15")
    assert_same_run(load(last_checkpoint(extended)), load(last_checkpoint(straight)))


STABILISERS = {
    "augment": "color,translation,cutout",
    "ema_decay": 0.9,
    "discriminator_options": {"width": 8, "spectral_norm": True},
}


@pytest.mark.parametrize("module, k", [("dcgan", 5), ("wgan_gp", 7)])
def test_resume_with_diffaugment_and_spectral_norm_is_bit_identical(tmp_path, module, k):
    """DiffAugment draws from the step RNG; the spectral norm's power-iteration vectors are buffers in
    the checkpoint. Both must continue exactly."""
    model = STABILISERS | ({"loss": "hinge"} if module == "dcgan" else {})
    straight = tmp_path / "straight"
    fit_in_process(config(straight, module, max_steps=9, model=model))
    cfg = config(tmp_path / "interrupted", module, max_steps=9, model=model)
    with pytest.raises(SIGTERMException):
        fit_in_process(cfg, "--trainer.callbacks+=tests.fit_runs.SignalAtStep", f"--trainer.callbacks.step={k}")
    assert load(last_checkpoint(tmp_path / "interrupted"))["global_step"] == k
    fit_in_process(cfg, "--ckpt_path", "last")
    resumed, reference = load(last_checkpoint(tmp_path / "interrupted")), load(last_checkpoint(straight))
    assert any(name.endswith("._u") for name in reference["state_dict"])  # the vectors are compared
    assert_same_run(resumed, reference)
