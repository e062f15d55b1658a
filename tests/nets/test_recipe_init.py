"""Each recipe's nets, built from its shipped config, start where its original's nets start.

The originals are the nets and initialisation code of each source, written out as the source
prints them (gan_lightning.benchmarks.reference_loops). Both are built, and every parameter
tensor of the config's nets is compared with the original's tensor at the same place in forward
order: same shape, and statistically the same distribution (mean, standard deviation, and the
share of values beyond 1.8 standard deviations, which tells a uniform from a normal).
"""

import math
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from gan_lightning.benchmarks import reference_loops as originals
from gan_lightning.nets import build_discriminator, build_generator

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def config_nets(name: str) -> tuple[nn.Module, nn.Module]:
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    model, data = config["model"]["init_args"], config["data"]["init_args"]
    is_wgan = config["model"]["class_path"].endswith("WGANGPModule")
    g_name = model.get("generator", "wgan_gp" if is_wgan else "dcgan")
    d_name = model.get("discriminator", "wgan_gp" if is_wgan else "dcgan")
    size, channels = data["image_size"], data["channels"]
    generator = build_generator(g_name, model["latent_dim"], size, channels, **model.get("generator_options", {}))
    discriminator = build_discriminator(d_name, size, channels, **model.get("discriminator_options", {}))
    return generator, discriminator


def d2l(image_size: int, channels: int) -> tuple[nn.Module, nn.Module]:
    net_g, net_d = originals.d2l_nets(image_size, channels)
    originals.d2l_init(net_d, net_g)
    return net_g, net_d


def pytorch_gan() -> tuple[nn.Module, nn.Module]:
    generator, discriminator = originals.PyTorchGANGenerator(32, 100, 1), originals.PyTorchGANDiscriminator(32, 1)
    generator.apply(originals.pytorch_gan_weights_init_normal)
    discriminator.apply(originals.pytorch_gan_weights_init_normal)
    return generator, discriminator


ORIGINALS = {
    "pokemon": lambda: d2l(64, 3),
    "fashion_mnist": lambda: d2l(32, 1),
    "mnist": pytorch_gan,
    "cifar10": originals.it_cifar10_nets,
    "flowers": originals.matlab_wgan_gp_nets,
    "celeba": originals.dcgan_tutorial_nets,
}


def assert_same_distribution(ours: torch.Tensor, theirs: torch.Tensor, where: str) -> None:
    assert ours.shape == theirs.shape, where
    ours, theirs = ours.detach().double().flatten(), theirs.detach().double().flatten()
    if ours.numel() == 1:  # one value (a last layer's bias): zero in both, or drawn in both
        assert (ours.item() == 0) == (theirs.item() == 0), f"{where}: {ours.item()} vs {theirs.item()}"
        return
    if theirs.std() == 0 or ours.std() == 0:  # constants: zeros, ones
        assert torch.equal(ours, theirs), f"{where}: {ours[:4].tolist()} vs {theirs[:4].tolist()}"
        return
    n, s = ours.numel(), theirs.std().item()
    assert abs(ours.mean() - theirs.mean()).item() < 6 * s / math.sqrt(n) + 1e-9, f"{where}: means differ"
    assert ours.std().item() == pytest.approx(s, rel=6 / math.sqrt(2 * n) + 0.01), f"{where}: stds differ"
    if n >= 100:
        # Beyond 1.8 standard deviations: ~7.2% of a normal, none of a uniform (whose edge is at 1.73).
        tail = lambda t: ((t - t.mean()).abs() > 1.8 * t.std()).double().mean().item()
        assert abs(tail(ours) - tail(theirs)) < 5 * math.sqrt(0.072 * 0.928 / n) + 0.01, f"{where}: shapes differ"


def parameters_by_kind(net: nn.Module) -> dict[str, list[torch.Tensor]]:
    """Parameters in forward order, grouped as conv/linear weights and biases and norm scales and shifts."""
    kinds: dict[str, list[torch.Tensor]] = {}
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            kind = "linear" if isinstance(layer, nn.Linear) else "conv"
        elif isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d | nn.GroupNorm):
            kind = "norm"
        else:
            continue
        for name in ("weight", "bias"):
            if getattr(layer, name, None) is not None:
                kinds.setdefault(f"{kind}.{name}", []).append(getattr(layer, name))
    return kinds


@pytest.mark.parametrize("recipe", sorted(ORIGINALS))
def test_recipe_nets_start_from_the_originals_initialisation(recipe):
    torch.manual_seed(0)
    ours = config_nets(recipe)
    torch.manual_seed(1)
    theirs = ORIGINALS[recipe]()
    for role, net, reference in zip(("generator", "discriminator"), ours, theirs):
        ours_kinds, their_kinds = parameters_by_kind(net), parameters_by_kind(reference)
        assert sorted(ours_kinds) == sorted(their_kinds), f"{recipe} {role}: {sorted(ours_kinds)}"
        for kind, tensors in ours_kinds.items():
            expected = their_kinds[kind]
            assert len(tensors) == len(expected), f"{recipe} {role} {kind}: {len(tensors)} vs {len(expected)} tensors"
            for i, (a, b) in enumerate(zip(tensors, expected)):
                assert_same_distribution(a, b, f"{recipe} {role} {kind}[{i}]")
