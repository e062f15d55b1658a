"""Every speed switch learns the same thing as the default, within its precision."""

import pytest
import pytorch_lightning as pl
import torch

from gan_lightning.gans import DCGANModule, WGANGPModule

from .conftest import cpu_trainer, image_loader


def train(cls, steps: int = 4, precision: str = "32-true", **options) -> dict[str, torch.Tensor]:
    pl.seed_everything(7)
    module = cls(
        image_size=16,
        channels=3,
        latent_dim=8,
        n_critic=2,
        lr=1e-3,
        generator_options={"width": 8},
        discriminator_options={"width": 8},
        **options,
    )
    cpu_trainer(max_steps=steps, precision=precision).fit(module, image_loader(64, batch_size=8))
    return {k: v.detach().float().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def max_relative_difference(a: dict, b: dict) -> float:
    return max(((a[k] - b[k]).norm() / b[k].norm().clamp_min(1e-12)).item() for k in b)


@pytest.mark.parametrize("cls", [DCGANModule, WGANGPModule])
def test_channels_last_is_the_same_computation(cls):
    assert max_relative_difference(train(cls, channels_last=True), train(cls)) < 1e-4


@pytest.mark.parametrize("cls", [DCGANModule, WGANGPModule])
def test_fused_adam_is_the_same_update(cls):
    assert max_relative_difference(train(cls, fused_optimizers=True), train(cls, fused_optimizers=False)) < 1e-4


def flat(state: dict) -> torch.Tensor:
    return torch.cat([v.flatten() for k, v in sorted(state.items())])


@pytest.mark.parametrize("cls", [DCGANModule, WGANGPModule])
def test_bf16_autocast_learns_the_same_within_bf16_precision(cls):
    init, reference, bf16 = flat(train(cls, steps=0)), flat(train(cls)), flat(train(cls, precision="bf16-mixed"))
    assert torch.isfinite(bf16).all()
    learned = (reference - init).norm()
    # bf16 keeps 8 bits of mantissa: the forward and backward passes differ from fp32 by ~1%, so the
    # weight updates may differ by some percent of their size, never by a sizeable fraction of them.
    assert (bf16 - reference).norm() < 0.25 * learned
