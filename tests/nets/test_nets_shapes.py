"""Every registered net, at every size it offers, with 1 and 3 channels, gives the documented shapes."""

import pytest
import torch

from gan_lightning.nets import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator

# The sizes each net offers: 64 for the d2l nets and the MATLAB WGAN-GP example, 32 for the @IT CIFAR-10
# article's simple nets, 28 and 32 for PyTorch-GAN's MNIST DCGAN; SNGAN: 32 CIFAR-10, 48 STL-10.
SIZES = {
    "dcgan": (16, 32, 64),
    "wgan_gp": (16, 32, 64),
    "upsample": (16, 28, 32),
    "dropout": (16, 28, 32),
    "sngan": (16, 32, 48),
}
LATENT = 16
BATCH = 3


def test_every_registered_net_has_sizes_listed_here():
    assert set(GENERATORS) | set(DISCRIMINATORS) == set(SIZES)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_output_shape_and_range(name, channels):
    torch.manual_seed(0)
    for size in SIZES[name]:
        g = build_generator(name, latent_dim=LATENT, image_size=size, channels=channels)
        for training in (True, False):
            g.train(training)
            with torch.no_grad():
                x = g(torch.randn(BATCH, LATENT) * 3)
            assert x.shape == (BATCH, channels, size, size), (name, size, training)
            assert x.min() >= -1 and x.max() <= 1  # tanh


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(DISCRIMINATORS))
def test_discriminator_output_shape(name, channels):
    torch.manual_seed(0)
    for size in SIZES[name]:
        d = build_discriminator(name, image_size=size, channels=channels)
        with torch.no_grad():
            y = d(torch.rand(BATCH, channels, size, size) * 2 - 1)
        assert y.shape == (BATCH,), (name, size)


@pytest.mark.parametrize(
    "options",
    [
        dict(stem="project"),
        dict(batch_norm=False),
        dict(stem="project", batch_norm=False),
        dict(width=8),
    ],
)
def test_dcgan_generator_variants_shapes(options):
    for size in (16, 32, 64):
        g = build_generator("dcgan", LATENT, size, 3, **options)
        with torch.no_grad():
            assert g(torch.randn(BATCH, LATENT)).shape == (BATCH, 3, size, size)


@pytest.mark.parametrize(
    "options",
    [
        dict(batch_norm=False),
        dict(first_layer_batch_norm=False),
        dict(activation="relu"),
        dict(width=8),
    ],
)
def test_dcgan_discriminator_variants_shapes(options):
    for size in (16, 32, 64):
        d = build_discriminator("dcgan", size, 3, **options)
        with torch.no_grad():
            assert d(torch.randn(BATCH, 3, size, size)).shape == (BATCH,)


def test_power_of_two_nets_also_work_at_128():
    with torch.no_grad():
        for name in ("dcgan", "wgan_gp"):
            g = build_generator(name, LATENT, 128, 3, width=4)
            d = build_discriminator(name, 128, 3, width=4)
            x = g(torch.randn(2, LATENT))
            assert x.shape == (2, 3, 128, 128)
            assert d(x).shape == (2,)


def test_generator_and_discriminator_compose_and_backpropagate():
    """G's output feeds D directly and gradients reach G's first layer (no detached paths)."""
    for g_name, d_name, size in [("dcgan", "dcgan", 32), ("wgan_gp", "wgan_gp", 32), ("upsample", "dropout", 28)]:
        g = build_generator(g_name, LATENT, size, 1)
        d = build_discriminator(d_name, size, 1)
        d(g(torch.randn(BATCH, LATENT))).sum().backward()
        first = next(p for p in g.parameters() if p.dim() > 1)
        assert first.grad is not None and first.grad.abs().sum() > 0, g_name
