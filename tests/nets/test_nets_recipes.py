"""The nets match the layer lists of their public sources, written out by hand below: d2l.ai's DCGAN
chapter, the MATLAB WGAN-GP example, the @IT CIFAR-10 article's simple nets and PyTorch-GAN's MNIST
DCGAN; the project stem follows Radford, Metz and Chintala 2015 (arXiv:1511.06434)."""

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from gan_lightning.nets import build_discriminator, build_generator


def describe(module: nn.Module) -> list[str]:
    """The leaf layers of `module` in forward order (reshapes left out), as short strings."""
    out = []
    for m in module.modules():
        if list(m.children()) or isinstance(m, (nn.Unflatten, nn.Flatten)):
            continue
        if isinstance(m, nn.ConvTranspose2d):
            out.append(
                f"ConvT({m.in_channels},{m.out_channels},k{m.kernel_size[0]},s{m.stride[0]},"
                f"p{m.padding[0]},op{m.output_padding[0]},bias={m.bias is not None})"
            )
        elif isinstance(m, nn.Conv2d):
            out.append(
                f"Conv({m.in_channels},{m.out_channels},k{m.kernel_size[0]},s{m.stride[0]},"
                f"p{m.padding[0]},bias={m.bias is not None})"
            )
        elif isinstance(m, nn.Linear):
            out.append(f"Linear({m.in_features},{m.out_features},bias={m.bias is not None})")
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out.append(f"{type(m).__name__}({m.num_features},eps={m.eps},momentum={m.momentum})")
        elif isinstance(m, nn.GroupNorm):
            out.append(f"GroupNorm({m.num_groups},{m.num_channels})")
        elif isinstance(m, nn.LeakyReLU):
            out.append(f"LeakyReLU({m.negative_slope})")
        elif isinstance(m, nn.Dropout2d):
            out.append(f"Dropout2d({m.p})")
        elif isinstance(m, nn.Upsample):
            out.append(f"Upsample(x{m.scale_factor},{m.mode})")
        else:
            out.append(type(m).__name__)
    return out


def conv_output_shapes(net: nn.Module, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Per-sample output shape of every conv / transposed conv, in forward order."""
    shapes = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return shapes


def bn(c, momentum=0.1, kind="BatchNorm2d"):
    return f"{kind}({c},eps=1e-05,momentum={momentum})"


# --- d2l.ai's DCGAN chapter: 64x64, latent 100, n_G = n_D = 64 ---------------------------------
D2L_G = [
    "ConvT(100,512,k4,s1,p0,op0,bias=False)",
    bn(512),
    "ReLU",
    "ConvT(512,256,k4,s2,p1,op0,bias=False)",
    bn(256),
    "ReLU",
    "ConvT(256,128,k4,s2,p1,op0,bias=False)",
    bn(128),
    "ReLU",
    "ConvT(128,64,k4,s2,p1,op0,bias=False)",
    bn(64),
    "ReLU",
    "ConvT(64,3,k4,s2,p1,op0,bias=False)",
    "Tanh",
]
D2L_G_SHAPES = [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]
D2L_D = [
    "Conv(3,64,k4,s2,p1,bias=False)",
    bn(64),
    "LeakyReLU(0.2)",
    "Conv(64,128,k4,s2,p1,bias=False)",
    bn(128),
    "LeakyReLU(0.2)",
    "Conv(128,256,k4,s2,p1,bias=False)",
    bn(256),
    "LeakyReLU(0.2)",
    "Conv(256,512,k4,s2,p1,bias=False)",
    bn(512),
    "LeakyReLU(0.2)",
    "Conv(512,1,k4,s1,p0,bias=False)",
]
D2L_D_SHAPES = [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (1, 1, 1)]


def test_d2l_generator_matches_recipe():
    g = build_generator("dcgan", latent_dim=100, image_size=64, channels=3)
    assert describe(g) == D2L_G
    g.eval()
    assert conv_output_shapes(g, torch.randn(2, 100)) == D2L_G_SHAPES


def test_d2l_discriminator_matches_recipe():
    d = build_discriminator("dcgan", image_size=64, channels=3)
    assert describe(d) == D2L_D
    assert conv_output_shapes(d, torch.randn(2, 3, 64, 64)) == D2L_D_SHAPES


def test_d2l_parameter_counts():
    g = build_generator("dcgan", 100, 64, 3)
    d = build_discriminator("dcgan", 64, 3)
    # Transposed conv weights are in*out*4*4 (no biases); each BatchNorm has gamma and beta.
    g_expected = (100 * 512 + 512 * 256 + 256 * 128 + 128 * 64 + 64 * 3) * 16 + 2 * (512 + 256 + 128 + 64)
    d_expected = (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512 * 1) * 16 + 2 * (64 + 128 + 256 + 512)
    assert sum(p.numel() for p in g.parameters()) == g_expected == 3_576_704
    assert sum(p.numel() for p in d.parameters()) == d_expected


def test_paper_variant_has_no_batch_norm_on_the_first_discriminator_layer():
    d = build_discriminator("dcgan", 64, 3, first_layer_batch_norm=False)
    assert describe(d) == [D2L_D[0], D2L_D[2]] + D2L_D[3:]


def test_relu_exercise_swaps_the_discriminator_activation():
    d = build_discriminator("dcgan", 64, 3, activation="relu")
    assert describe(d) == [s.replace("LeakyReLU(0.2)", "ReLU") for s in D2L_D]


def test_channels_and_latent_flow_into_first_and_last_layers():
    g = build_generator("dcgan", latent_dim=64, image_size=64, channels=1)
    d = build_discriminator("dcgan", image_size=64, channels=1)
    assert describe(g)[0] == "ConvT(64,512,k4,s1,p0,op0,bias=False)"
    assert describe(g)[-2] == "ConvT(64,1,k4,s2,p1,op0,bias=False)"
    assert describe(d)[0] == "Conv(1,64,k4,s2,p1,bias=False)"


# --- project-and-reshape stem (Radford, Metz and Chintala 2015, arXiv:1511.06434) --------------
def test_project_stem_is_linear_with_batch_norm_then_reshape():
    g = build_generator("dcgan", 100, 64, 3, stem="project")
    assert describe(g) == ["Linear(100,8192,bias=False)", bn(8192, kind="BatchNorm1d"), "ReLU"] + D2L_G[3:]
    g.eval()
    assert conv_output_shapes(g, torch.randn(2, 100)) == D2L_G_SHAPES[1:]


# --- the @IT CIFAR-10 article's "simple version" nets, 32x32, no batch norm, no biases ---------
SIMPLE_D = [
    "Conv(3,64,k4,s2,p1,bias=False)",
    "LeakyReLU(0.2)",
    "Conv(64,128,k4,s2,p1,bias=False)",
    "LeakyReLU(0.2)",
    "Conv(128,256,k4,s2,p1,bias=False)",
    "LeakyReLU(0.2)",
    "Conv(256,1,k4,s1,p0,bias=False)",  # the source's Sigmoid is in the loss (BCE with logits)
]
SIMPLE_G = [
    "ConvT(100,512,k4,s1,p0,op0,bias=False)",
    "ReLU",
    "ConvT(512,256,k4,s2,p1,op0,bias=False)",
    "ReLU",
    "ConvT(256,128,k4,s2,p1,op0,bias=False)",
    "ReLU",
    "ConvT(128,3,k4,s2,p1,op0,bias=False)",
    "Tanh",
]


def test_simple_cifar_nets_match_recipe():
    d = build_discriminator("dcgan", 32, 3, width=64, batch_norm=False)
    g = build_generator("dcgan", 100, 32, 3, width=128, batch_norm=False)
    assert describe(d) == SIMPLE_D
    assert describe(g) == SIMPLE_G
    assert conv_output_shapes(d, torch.randn(2, 3, 32, 32)) == [(64, 16, 16), (128, 8, 8), (256, 4, 4), (1, 1, 1)]
    assert conv_output_shapes(g, torch.randn(2, 100)) == [(512, 4, 4), (256, 8, 8), (128, 16, 16), (3, 32, 32)]


# --- the MATLAB WGAN-GP example's nets, 64x64, numFilters 64 -----------------------------------
CRITIC = [
    "Conv(3,64,k5,s2,p2,bias=True)",
    "LeakyReLU(0.2)",
    "Conv(64,128,k5,s2,p2,bias=True)",
    "GroupNorm(1,128)",
    "LeakyReLU(0.2)",
    "Conv(128,256,k5,s2,p2,bias=True)",
    "GroupNorm(1,256)",
    "LeakyReLU(0.2)",
    "Conv(256,512,k5,s2,p2,bias=True)",
    "GroupNorm(1,512)",
    "LeakyReLU(0.2)",
    "Conv(512,1,k4,s1,p0,bias=True)",  # MATLAB's sigmoidLayer left out: a critic's score is unbounded
]
WGAN_G = [
    "Linear(100,8192,bias=True)",  # projectAndReshape to 4x4x512
    "ConvT(512,256,k5,s1,p0,op0,bias=True)",
    "ReLU",
    "ConvT(256,128,k5,s2,p2,op1,bias=True)",
    "ReLU",
    "ConvT(128,64,k5,s2,p2,op1,bias=True)",
    "ReLU",
    "ConvT(64,3,k5,s2,p2,op1,bias=True)",
    "Tanh",
]


def test_wgan_gp_critic_matches_recipe():
    d = build_discriminator("wgan_gp", 64, 3)
    assert describe(d) == CRITIC
    assert conv_output_shapes(d, torch.randn(2, 3, 64, 64)) == [
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
        (512, 4, 4),
        (1, 1, 1),
    ]


def test_wgan_gp_generator_matches_recipe():
    g = build_generator("wgan_gp", 100, 64, 3)
    assert describe(g) == WGAN_G
    assert conv_output_shapes(g, torch.randn(2, 100)) == [(256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]


def test_wgan_gp_nets_at_32_drop_the_widest_stage():
    d = build_discriminator("wgan_gp", 32, 3)
    g = build_generator("wgan_gp", 100, 32, 3)
    assert describe(d) == CRITIC[:8] + ["Conv(256,1,k4,s1,p0,bias=True)"]
    assert describe(g) == [
        "Linear(100,4096,bias=True)",
        "ConvT(256,128,k5,s1,p0,op0,bias=True)",
        "ReLU",
        "ConvT(128,64,k5,s2,p2,op1,bias=True)",
        "ReLU",
        "ConvT(64,3,k5,s2,p2,op1,bias=True)",
        "Tanh",
    ]


def test_critic_norm_is_exactly_matlab_layer_normalization():
    """MATLAB layerNormalizationLayer: per sample, mean/var over (C, H, W), per-channel scale/offset."""
    torch.manual_seed(0)
    d = build_discriminator("wgan_gp", 32, 3)
    norm = d.net.down2.norm
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
        x = torch.randn(4, 128, 8, 8) * 3 + 1
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        expected = (x - mean) / torch.sqrt(var + 1e-5) * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(norm(x), expected, rtol=1e-4, atol=1e-4)


def test_critic_scores_each_sample_on_its_own_and_supports_double_backward():
    """No batch coupling (what the per-sample gradient penalty assumes) and create_graph works."""
    torch.manual_seed(0)
    d = build_discriminator("wgan_gp", 32, 3)
    x = torch.randn(4, 3, 32, 32)
    other = x.clone()
    other[1:] = torch.randn(3, 3, 32, 32)
    torch.testing.assert_close(d(x)[0], d(other)[0])
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    penalty.backward()  # the penalty reaches every weight (biases of the last conv drop out of grad)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters() if p.dim() > 1)


# --- PyTorch-GAN's MNIST DCGAN: upsample generator and dropout discriminator -------------------
def keras_bn(c):
    return bn(c, momentum=0.2)  # Keras momentum 0.8 (weight of the old statistic) in PyTorch terms


MNIST_G = [
    "Linear(100,6272,bias=True)",  # 128 * 7 * 7
    bn(128),  # the source gives this first BatchNorm2d no 0.8
    "Upsample(x2.0,nearest)",
    "Conv(128,128,k3,s1,p1,bias=True)",
    keras_bn(128),
    "LeakyReLU(0.2)",
    "Upsample(x2.0,nearest)",
    "Conv(128,64,k3,s1,p1,bias=True)",
    keras_bn(64),
    "LeakyReLU(0.2)",
    "Conv(64,1,k3,s1,p1,bias=True)",
    "Tanh",
]
MNIST_D = [
    "Conv(1,16,k3,s2,p1,bias=True)",
    "LeakyReLU(0.2)",
    "Dropout2d(0.25)",
    "Conv(16,32,k3,s2,p1,bias=True)",
    "LeakyReLU(0.2)",
    "Dropout2d(0.25)",
    keras_bn(32),
    "Conv(32,64,k3,s2,p1,bias=True)",
    "LeakyReLU(0.2)",
    "Dropout2d(0.25)",
    keras_bn(64),
    "Conv(64,128,k3,s2,p1,bias=True)",
    "LeakyReLU(0.2)",
    "Dropout2d(0.25)",
    keras_bn(128),
    "Linear(512,1,bias=True)",  # 28 -> 14 -> 7 -> 4 -> 2 (conv k3 s2 p1): 128 * 2 * 2; no sigmoid
]


def test_mnist_generator_matches_recipe():
    g = build_generator("upsample", 100, 28, 1)
    assert describe(g) == MNIST_G
    g.eval()
    assert conv_output_shapes(g, torch.randn(2, 100)) == [(128, 14, 14), (64, 28, 28), (1, 28, 28)]


def test_mnist_generator_at_32_starts_from_8x8():
    assert describe(build_generator("upsample", 100, 32, 3))[0] == f"Linear(100,{128 * 8 * 8},bias=True)"


@pytest.mark.parametrize("size", [28, 32])
def test_dropout_discriminator_matches_recipe(size):
    d = build_discriminator("dropout", size, 1)
    assert describe(d) == MNIST_D  # 32 -> 16 -> 8 -> 4 -> 2 as well
    d.eval()
    assert conv_output_shapes(d, torch.randn(2, 1, size, size))[-1] == (128, 2, 2)


def batch_norms(net: nn.Module) -> list[tuple[int, float, float]]:
    return [(m.num_features, m.eps, m.momentum) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]


def test_mnist_config_normalises_as_pytorch_gans_code():
    """configs/mnist.yaml's nets have PyTorch-GAN's BatchNorm2d(c, 0.8) (eps 0.8, momentum 0.1), layer for layer."""
    from gan_lightning.benchmarks.reference_loops import PyTorchGANDiscriminator, PyTorchGANGenerator

    config = yaml.safe_load((Path(__file__).parents[2] / "configs" / "mnist.yaml").read_text())["model"]["init_args"]
    g = build_generator(config["generator"], 100, 32, 1, **config["generator_options"])
    d = build_discriminator(config["discriminator"], 32, 1, **config["discriminator_options"])
    assert batch_norms(g) == batch_norms(PyTorchGANGenerator(32, 100, 1))
    assert batch_norms(d) == batch_norms(PyTorchGANDiscriminator(32, 1))
    assert [eps for _, eps, _ in batch_norms(d)] == [0.8, 0.8, 0.8]


def test_upsample_and_dropout_nets_reject_an_unknown_batch_norm():
    with pytest.raises(ValueError, match="batch_norm_style=.tf.*keras.*pytorch_gan"):
        build_generator("upsample", 100, 32, 1, batch_norm_style="tf")
    with pytest.raises(ValueError, match="batch_norm_style=.tf.*keras.*pytorch_gan"):
        build_discriminator("dropout", 32, 1, batch_norm_style="tf")


# --- Across all nets ---------------------------------------------------------------------------
ALL_DISCRIMINATORS = [("dcgan", 64, {}), ("dcgan", 32, {"batch_norm": False}), ("wgan_gp", 64, {}), ("dropout", 28, {})]


@pytest.mark.parametrize("name,size,options", ALL_DISCRIMINATORS)
def test_discriminators_output_raw_unbounded_scores(name, size, options):
    d = build_discriminator(name, size, 3, **options).eval()
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
    last = [m for m in d.modules() if not list(m.children())][-1]
    assert isinstance(last, (nn.Conv2d, nn.Linear))
    seen = []
    last.register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        last.weight.mul_(1e4)
        y = d(torch.randn(8, 3, size, size))
    torch.testing.assert_close(y, seen[0].flatten())  # the score IS the last layer's output
    assert (y < 0).any() and (y.abs() > 1).any()  # not squashed into (0, 1)


@pytest.mark.parametrize(
    "options", [{}, {"batch_norm": False}, {"stem": "project"}, {"stem": "project", "batch_norm": False}]
)
def test_dcgan_nets_have_no_biases(options):
    g = build_generator("dcgan", 100, 32, 3, **options)
    layers = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    assert layers and all(m.bias is None for m in layers)
    d_options = {k: v for k, v in options.items() if k != "stem"}
    d = build_discriminator("dcgan", 32, 3, **d_options)
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(m.bias is None for m in layers)


# --- SNGAN "standard CNN" (Miyato et al. 2018, Table 3), CIFAR-10: M = 32, M_g = 4, z in R^128 --
SNGAN_G = [
    "Linear(128,8192,bias=True)",  # dense -> M_g x M_g x 512
    "ConvT(512,256,k4,s2,p1,op0,bias=True)",
    bn(256),
    "ReLU",
    "ConvT(256,128,k4,s2,p1,op0,bias=True)",
    bn(128),
    "ReLU",
    "ConvT(128,64,k4,s2,p1,op0,bias=True)",
    bn(64),
    "ReLU",
    "Conv(64,3,k3,s1,p1,bias=True)",
    "Tanh",
]
SNGAN_G_SHAPES = [(256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 32, 32)]
SNGAN_D = [
    "Conv(3,64,k3,s1,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Conv(64,64,k4,s2,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Conv(64,128,k3,s1,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Conv(128,128,k4,s2,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Conv(128,256,k3,s1,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Conv(256,256,k4,s2,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Conv(256,512,k3,s1,p1,bias=True)",
    "LeakyReLU(0.1)",
    "Linear(8192,1,bias=True)",  # dense -> 1 on the M/8 x M/8 x 512 map
]
SNGAN_D_SHAPES = [(64, 32, 32), (64, 16, 16), (128, 16, 16), (128, 8, 8), (256, 8, 8), (256, 4, 4), (512, 4, 4)]


def test_sngan_standard_cnn_matches_table_3():
    g = build_generator("sngan", latent_dim=128, image_size=32, channels=3)
    d = build_discriminator("sngan", image_size=32, channels=3)
    assert describe(g) == SNGAN_G
    assert describe(d) == SNGAN_D
    g.eval()
    assert conv_output_shapes(g, torch.randn(2, 128)) == SNGAN_G_SHAPES
    assert conv_output_shapes(d, torch.randn(2, 3, 32, 32)) == SNGAN_D_SHAPES
    assert d(torch.randn(2, 3, 32, 32)).shape == (2,)


def test_sngan_standard_cnn_at_stl10_size():
    # STL-10 in the paper: M = 48, M_g = 6.
    g = build_generator("sngan", latent_dim=128, image_size=48, channels=3)
    d = build_discriminator("sngan", image_size=48, channels=3)
    assert g.net.project.out_features == 6 * 6 * 512
    assert g.eval()(torch.randn(2, 128)).shape == (2, 3, 48, 48)
    assert d.net.to_score.in_features == 6 * 6 * 512
    with pytest.raises(ValueError, match="image_size=20.*multiple of 8"):
        build_discriminator("sngan", image_size=20, channels=3)
