"""discriminator_options: {spectral_norm: true}: every weight of any discriminator has largest singular
value 1 (checked with an SVD, not the power iteration's own estimate), and init cannot silently undo it.
Training with it: tests/gans/test_stabilisers.py."""

import pytest
import torch
from torch import nn

from gan_lightning.nets import DISCRIMINATORS, add_spectral_norm, build_discriminator, init_weights
from gan_lightning.nets.init import LINEAR_LAYERS

OPTIONS = {"dcgan": {"width": 8}, "wgan_gp": {"width": 8}, "sngan": {"width": 8}, "dropout": {}}


def weight_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, LINEAR_LAYERS)]


def largest_singular_values(net: nn.Module) -> torch.Tensor:
    """sigma(W) of each layer's effective weight, W reshaped to (out, in * k * k) as SNGAN does."""
    with torch.no_grad():
        return torch.stack([torch.linalg.matrix_norm(m.weight.flatten(1), ord=2) for m in weight_layers(net)])


def power_iterations(net: nn.Module, steps: int = 20) -> None:
    """Training-mode forwards: each runs one power iteration per layer."""
    net.train()
    with torch.no_grad():
        for _ in range(steps):
            net(torch.randn(2, 3, 16, 16))


@pytest.mark.parametrize("name", sorted(DISCRIMINATORS))
def test_every_weight_of_any_discriminator_is_normalised(name):
    assert set(OPTIONS) == set(DISCRIMINATORS)
    torch.manual_seed(0)
    # Small initial weights (every parameter N(0, 0.002)), so that an un-normalised layer is far from sigma 1.
    small = dict(init="d2l", init_std=0.002, **OPTIONS[name])
    net = build_discriminator(name, 16, 3, spectral_norm=True, **small)
    plain = build_discriminator(name, 16, 3, **small)
    assert len(weight_layers(net)) == len(weight_layers(plain)) > 0
    assert (largest_singular_values(plain) < 0.1).all()
    power_iterations(net)
    sigma = largest_singular_values(net)
    # The power iteration estimates sigma from below, so W / estimate is >= 1; close after a few steps.
    assert (sigma > 0.999).all() and (sigma < 1.06).all(), sigma


def test_the_initialisation_is_kept_and_cannot_be_silently_undone():
    torch.manual_seed(0)
    net = build_discriminator("dcgan", 16, 3, width=8, batch_norm=False, spectral_norm=True, init_std=0.05)
    originals = [m.parametrizations.weight.original for m in weight_layers(net)]
    # The net initialised its layers before the spectral norm was added: N(0, 0.05) is in place.
    assert torch.cat([w.flatten() for w in originals]).std().item() == pytest.approx(0.05, rel=0.1)
    # Initialising again afterwards reaches the trainable weights (filling `layer.weight` in place
    # would only fill a temporary computed from them), and the spectral norm stays on.
    before = [w.clone() for w in originals]
    init_weights(net, std=0.5)
    assert all(not torch.equal(a, b) for a, b in zip(before, originals))
    assert torch.cat([w.flatten() for w in originals]).std().item() == pytest.approx(0.5, rel=0.1)
    power_iterations(net)
    sigma = largest_singular_values(net)
    assert (sigma > 0.999).all() and (sigma < 1.06).all(), sigma


def test_bad_spectral_norm_settings_are_one_clear_error():
    with pytest.raises(TypeError, match="spectral_norm must be true or false, got 'yes'"):
        build_discriminator("dcgan", 16, 3, spectral_norm="yes")
    with pytest.raises(ValueError, match="Sequential has no conv or linear layer"):
        add_spectral_norm(nn.Sequential(nn.Flatten(), nn.Tanh()))
    with pytest.raises(ValueError, match="already has a parametrized weight"):
        add_spectral_norm(build_discriminator("sngan", 16, 3, width=8, spectral_norm=True))
