"""The registry: names, options, error messages, has_batch_norm."""

import json

import pytest
import torch

from gan_lightning.nets import (
    DISCRIMINATORS,
    GENERATORS,
    build_discriminator,
    build_generator,
    has_batch_norm,
    net_options,
)


def test_registry_names():
    assert sorted(GENERATORS) == ["dcgan", "sngan", "upsample", "wgan_gp"]
    assert sorted(DISCRIMINATORS) == ["dcgan", "dropout", "sngan", "wgan_gp"]


def test_options_and_defaults_are_plain_json_values():
    assert net_options(GENERATORS["dcgan"]) == {
        "width": 64,
        "batch_norm": True,
        "stem": "conv_transpose",
        "init": "dcgan",
        "init_std": 0.02,
    }
    assert net_options(DISCRIMINATORS["dcgan"]) == {
        "width": 64,
        "batch_norm": True,
        "first_layer_batch_norm": True,
        "activation": "leaky_relu",
        "init": "dcgan",
        "init_std": 0.02,
    }
    assert net_options(GENERATORS["wgan_gp"]) == {"width": 64, "init": "glorot", "init_std": 0.02}
    assert net_options(DISCRIMINATORS["wgan_gp"]) == {"width": 64, "init": "glorot", "init_std": 0.02}
    assert net_options(GENERATORS["upsample"]) == {"init": "dcgan", "init_std": 0.02, "batch_norm_style": "keras"}
    assert net_options(DISCRIMINATORS["dropout"]) == {"init": "dcgan", "init_std": 0.02, "batch_norm_style": "keras"}
    for cls in [*GENERATORS.values(), *DISCRIMINATORS.values()]:
        options = net_options(cls)
        assert json.loads(json.dumps(options)) == options


def test_nets_remember_their_sizes():
    g = build_generator("dcgan", 32, 64, 1)
    d = build_discriminator("wgan_gp", 32, 3)
    assert (g.latent_dim, g.image_size, g.channels) == (32, 64, 1)
    assert (d.image_size, d.channels) == (32, 3)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown generator 'stylegan'.*dcgan, sngan, upsample, wgan_gp"):
        build_generator("stylegan", 100, 64, 3)
    with pytest.raises(ValueError, match="unknown discriminator 'critic'.*dcgan, dropout, sngan, wgan_gp"):
        build_discriminator("critic", 64, 3)


def test_unknown_option_names_option_and_class():
    with pytest.raises(TypeError, match="'depth'.*'dcgan'.*DCGANGenerator.*width, batch_norm, stem, init, init_std"):
        build_generator("dcgan", 100, 64, 3, depth=4)
    critic_options = "valid options: width, init, init_std, spectral_norm"
    with pytest.raises(TypeError, match=f"'batch_norm'.*WGANGPCritic.*{critic_options}"):
        build_discriminator("wgan_gp", 64, 3, batch_norm=True)
    with pytest.raises(TypeError, match="'spectral_norm'.*DCGANGenerator"):  # discriminators only
        build_generator("dcgan", 100, 64, 3, spectral_norm=True)
    with pytest.raises(TypeError, match="'width'.*UpsampleGenerator"):
        build_generator("upsample", 100, 28, 1, width=64)


@pytest.mark.parametrize(
    "build,name,size,hint",
    [
        (build_generator, "dcgan", 28, "power of two"),
        (build_generator, "dcgan", 8, "power of two"),
        (build_generator, "wgan_gp", 48, "power of two"),
        (build_discriminator, "dcgan", 28, "power of two"),
        (build_discriminator, "wgan_gp", 100, "power of two"),
        (build_generator, "upsample", 30, "multiple of 4"),
    ],
)
def test_unsupported_image_size_says_which_sizes_work(build, name, size, hint):
    args = (name, 100, size, 3) if build is build_generator else (name, size, 3)
    with pytest.raises(ValueError, match=f"image_size={size}.*{hint}"):
        build(*args)


def test_bad_option_values():
    with pytest.raises(ValueError, match="stem='dense'.*'conv_transpose', 'project'"):
        build_generator("dcgan", 100, 64, 3, stem="dense")
    with pytest.raises(ValueError, match="activation='elu'.*'leaky_relu', 'relu'"):
        build_discriminator("dcgan", 64, 3, activation="elu")
    with pytest.raises(ValueError, match="width must be a positive integer"):
        build_discriminator("wgan_gp", 64, 3, width=0)
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        build_discriminator("dropout", 28, 0)


def test_wrong_input_shapes_are_reported():
    g = build_generator("dcgan", 100, 32, 3)
    with pytest.raises(ValueError, match=r"expected z of shape \(B, 100\), got \(2, 64\)"):
        g(torch.randn(2, 64))
    with pytest.raises(ValueError, match=r"expected z of shape \(B, 100\), got \(2, 100, 1, 1\)"):
        g(torch.randn(2, 100, 1, 1))
    d = build_discriminator("wgan_gp", 32, 3)
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\), got \(2, 3, 64, 64\)"):
        d(torch.randn(2, 3, 64, 64))


def test_has_batch_norm():
    assert has_batch_norm(build_discriminator("dcgan", 64, 3))
    assert has_batch_norm(build_discriminator("dcgan", 64, 3, first_layer_batch_norm=False))
    assert not has_batch_norm(build_discriminator("dcgan", 64, 3, batch_norm=False))
    assert not has_batch_norm(build_discriminator("wgan_gp", 64, 3))  # GroupNorm is not batch norm
    assert has_batch_norm(build_discriminator("dropout", 28, 1))
    assert has_batch_norm(build_generator("dcgan", 100, 64, 3, stem="project"))  # BatchNorm1d counts
    assert not has_batch_norm(build_generator("wgan_gp", 100, 64, 3))
