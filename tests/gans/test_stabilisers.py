"""Spectral norm and DiffAugment in training: the speed switches (channels_last, bf16) learn the same
with them on, EMA included, and the power-iteration vectors survive a checkpoint. Exact resume and
DDP with them on: tests/gans/test_resume.py, tests/gans/test_ddp.py."""

import pytest
import pytorch_lightning as pl
import torch

from gan_lightning.gans import DCGANModule, WGANGPModule
from gan_lightning.gans.loading import load_gan
from gan_lightning.nets.init import LINEAR_LAYERS

from .conftest import cpu_trainer, image_loader

# Both stabilisers on, with EMA, on the small nets: what the speed switches must not change.
STABILISED = dict(
    n_critic=2,
    lr=1e-3,
    ema_decay=0.9,
    augment="color,translation,cutout",
    discriminator_options={"width": 8, "spectral_norm": True},
)


def train(cls, nets: dict, steps: int = 4, precision: str = "32-true", **switches) -> dict[str, torch.Tensor]:
    pl.seed_everything(7)
    module = cls(**(nets | STABILISED | switches))
    cpu_trainer(max_steps=steps, precision=precision).fit(module, image_loader(64, batch_size=8))
    return {k: v.detach().float().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def relative_differences(a: dict, b: dict) -> dict[str, float]:
    return {k: ((a[k] - b[k]).norm() / b[k].norm().clamp_min(1e-12)).item() for k in b}


@pytest.mark.parametrize("cls", [DCGANModule, WGANGPModule])
def test_channels_last_trains_the_same_with_spectral_norm_and_diffaugment(cls, small_nets):
    reference, channels_last = train(cls, small_nets), train(cls, small_nets, channels_last=True)
    assert any("_u" in k for k in reference) and any(k.startswith("generator_ema.") for k in reference)
    assert max(relative_differences(channels_last, reference).values()) < 1e-4


def test_bf16_trains_the_same_within_its_precision_with_spectral_norm_and_diffaugment(small_nets):
    init, reference = train(DCGANModule, small_nets, steps=0), train(DCGANModule, small_nets)
    bf16 = train(DCGANModule, small_nets, precision="bf16-mixed")
    flat = lambda state: torch.cat([v.flatten() for _, v in sorted(state.items())])
    assert torch.isfinite(flat(bf16)).all()
    assert (flat(bf16) - flat(reference)).norm() < 0.25 * (flat(reference) - flat(init)).norm()
    # the power-iteration vectors stay float32 unit vectors
    for name, u in bf16.items():
        if name.endswith(("._u", "._v")):
            assert u.norm().item() == pytest.approx(1.0, abs=1e-3), name


def test_power_iteration_vectors_survive_a_checkpoint(tmp_path):
    pl.seed_everything(3)
    module = DCGANModule(
        image_size=16,
        channels=3,
        latent_dim=8,
        loss="hinge",
        generator_options={"width": 8},
        discriminator_options={"width": 8, "spectral_norm": True},
    )
    trainer = cpu_trainer(max_steps=2, default_root_dir=tmp_path)
    trainer.fit(module, image_loader(32, batch_size=8))
    trainer.save_checkpoint(tmp_path / "sn.ckpt")
    loaded = load_gan(tmp_path / "sn.ckpt")
    vectors = {k: v for k, v in module.state_dict().items() if k.endswith(("._u", "._v"))}
    assert len(vectors) == 2 * sum(isinstance(m, LINEAR_LAYERS) for m in module.discriminator.modules())
    for name, value in vectors.items():
        assert torch.equal(loaded.state_dict()[name], value), name
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    module.eval()
    assert torch.equal(loaded.discriminator(real), module.discriminator(real))
