"""Adding a GAN takes one subclass: the R1-regularised GAN below, defined only in this file, trains
through scripts/fit.py (the config names it by class path), saves, resumes bit for bit, and samples
through scripts/sample.py once told to import this module. A checkpoint alone never makes the loader
import code."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from pytorch_lightning.utilities.exceptions import SIGTERMException
from torch import Tensor
from torchvision.io import read_image

from gan_lightning.gans import GANModule, losses
from gan_lightning.gans.loading import CheckpointError, load_gan, read_checkpoint
from tests.fit_runs import (  # noqa: F401 (one_thread: an autouse fixture)
    SAMPLE,
    assert_identical,
    explain,
    fit_env,
    fit_in_process,
    last_checkpoint,
    load,
    one_thread,
    run_fit,
    sample_main,
    tiny_config,
    training_state,
)


class R1GAN(GANModule):
    """Non-saturating GAN with the R1 penalty gamma/2 E||grad D(x)||^2 on real images (Mescheder et
    al. 2018, arXiv:1801.04406), the regulariser of StyleGAN2."""

    def __init__(self, r1_gamma: float = 10.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.r1_gamma = r1_gamma

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        real = real.detach().requires_grad_(True)
        logits_real, logits_fake = self.discriminator(real), self.discriminator(fake)
        loss = losses.bce_discriminator_loss(logits_real, logits_fake)
        penalty = self.r1_gamma / 2 * losses.gradient_norm(logits_real, real).square().mean()
        return {
            "loss_d": loss.total + penalty,
            "loss_d_real": loss.real,
            "loss_d_fake": loss.fake,
            "r1_penalty": penalty,
            "D_x": torch.sigmoid(logits_real.detach()).mean(),
            "D_G_z1": torch.sigmoid(logits_fake.detach()).mean(),
        }

    def generator_loss(self, fake: Tensor) -> dict[str, Tensor]:
        logits = self.discriminator(fake)
        return {"loss_g": losses.bce_generator_loss(logits), "D_G_z2": torch.sigmoid(logits.detach()).mean()}


THIS_MODULE = "tests.gans.test_custom_gan"
MODEL = {
    "class_path": f"{THIS_MODULE}.R1GAN",
    "init_args": {
        "r1_gamma": 5.0,
        "latent_dim": 8,
        "ema_decay": 0.9,
        "augment": "translation",
        "generator_options": {"width": 8},
        "discriminator_options": {"width": 8, "batch_norm": False},  # R1 penalises per sample: no BN
    },
}


def r1_config(folder: Path, max_steps: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = tiny_config(folder, max_steps=max_steps, every_n_train_steps=4)
    config = yaml.safe_load(path.read_text())
    config["model"] = MODEL
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def sample(ckpt: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SAMPLE), "--ckpt", str(ckpt), "--num", "4", "--device", "cpu", "--seed", "1"]
    return subprocess.run(
        [*command, "--nrow", "4", "--out", str(out), *args],
        env=fit_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_new_gan_trains_saves_resumes_and_samples(tmp_path):
    straight = tmp_path / "straight"
    fit_in_process(r1_config(straight))

    # Trains and saves: stopped by a SIGTERM after 3 steps, as a cluster would.
    interrupted = tmp_path / "interrupted"
    cfg = r1_config(interrupted)
    with pytest.raises(SIGTERMException):
        fit_in_process(cfg, "--trainer.callbacks+=tests.fit_runs.SignalAtStep", "--trainer.callbacks.step=3")
    assert load(last_checkpoint(interrupted))["global_step"] == 3
    # Resumes, in a fresh scripts/fit.py process that imports this module only because the config names it.
    process = run_fit(cfg, "--ckpt_path", "last")
    assert process.returncode == 0, explain(process)
    resumed, reference = load(last_checkpoint(interrupted)), load(last_checkpoint(straight))
    assert resumed["hyper_parameters"]["r1_gamma"] == 5.0
    assert_identical(training_state(resumed), training_state(reference), "checkpoint")

    # Samples through scripts/sample.py, told to import this module; the grid holds the EMA
    # generator's images for seed 1.
    ckpt = last_checkpoint(interrupted)
    done = sample(ckpt, tmp_path / "grid.png", "--import", THIS_MODULE)
    assert done.returncode == 0, done.stderr
    module = load_gan(ckpt)
    assert type(module) is R1GAN and module.r1_gamma == 5.0
    (expected,) = module.sample_seeded(4, seed=1, batch_size=4)
    expected = ((expected.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    grid = read_image(str(tmp_path / "grid.png"))  # 1 row of 4 images of 16 px, 2 px padding
    tiles = torch.stack([grid[:, 2:18, 2 + 18 * i : 18 + 18 * i] for i in range(4)])
    assert (tiles.int() - expected.int()).abs().max() <= 1


def test_a_checkpoint_cannot_make_the_loader_import_code(tmp_path, capsys):
    fit_in_process(r1_config(tmp_path, max_steps=1))
    checkpoint = read_checkpoint(last_checkpoint(tmp_path))
    assert checkpoint["hyper_parameters"]["_class_path"] == f"{THIS_MODULE}.R1GAN"
    for class_path in ("tabnanny.NannyNag", "os.system", "tests.gans.test_custom_gan.MODEL"):
        forged = tmp_path / f"{class_path}.ckpt"
        checkpoint["hyper_parameters"]["_class_path"] = class_path
        torch.save(checkpoint, forged)
        with pytest.raises(CheckpointError, match=f"written by {class_path}, which is not a GANModule subclass"):
            load_gan(forged)
    assert "tabnanny" not in sys.modules  # named by the checkpoint, never imported
    # A class of a module not imported yet: the error says how to trust it.
    checkpoint["hyper_parameters"]["_class_path"] = "my_project.gans.R1GAN"
    torch.save(checkpoint, tmp_path / "elsewhere.ckpt")
    command = ["--ckpt", str(tmp_path / "elsewhere.ckpt"), "--out", str(tmp_path / "refused.png"), "--device", "cpu"]
    assert sample_main()(command) == 2 and not (tmp_path / "refused.png").exists()
    refused = capsys.readouterr().err
    assert "my_project.gans.R1GAN" in refused and "--import my_project.gans" in refused
