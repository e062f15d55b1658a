"""init_weights: each scheme is the initialisation its source writes, checked on large layers against
the source's definition (PyTorch DCGAN tutorial, d2l.ai, MATLAB's Glorot defaults, PyTorch's own)."""

import math

import pytest
import torch
from torch import nn

from gan_lightning.nets import INIT_SCHEMES, build_discriminator, build_generator, init_weights

SENTINEL = 5.0


def mixed_net() -> nn.Sequential:
    """Every kind of layer the nets use, large enough for tight statistics, all set to SENTINEL."""
    net = nn.Sequential(
        nn.Conv2d(256, 256, 4),  # 1M weights, 256 biases
        nn.ConvTranspose2d(256, 128, 4),
        nn.BatchNorm2d(4096),
        nn.BatchNorm1d(4096),
        nn.Linear(1000, 1000),
        nn.GroupNorm(1, 4096),
    )
    for p in net.parameters():
        nn.init.constant_(p, SENTINEL)
    return net


def assert_normal(t: torch.Tensor, mean: float, std: float) -> None:
    assert t.mean().item() == pytest.approx(mean, abs=4 * std / math.sqrt(t.numel()) + 1e-6)
    assert t.std().item() == pytest.approx(std, rel=5 / math.sqrt(t.numel()) + 0.005)


def untouched(t: torch.Tensor) -> bool:
    return bool((t == SENTINEL).all())


def test_dcgan_is_the_pytorch_dcgan_tutorial_weights_init():
    # weights_init: Conv* weights N(0, 0.02); BatchNorm* weight N(1, 0.02), bias 0; nothing else.
    torch.manual_seed(0)
    net = mixed_net()
    init_weights(net, "dcgan")
    conv, convt, bn2, bn1, linear, group = net
    assert_normal(conv.weight, 0.0, 0.02)
    assert_normal(convt.weight, 0.0, 0.02)
    for bn in (bn2, bn1):
        assert_normal(bn.weight, 1.0, 0.02)
        assert torch.count_nonzero(bn.bias) == 0
    assert untouched(conv.bias) and untouched(convt.bias)
    assert all(untouched(p) for p in [*linear.parameters(), *group.parameters()])


def test_d2l_draws_every_parameter_from_normal_0_002():
    # d2l: for w in net.parameters(): nn.init.normal_(w, 0, 0.02), batch norm scale and shift too.
    torch.manual_seed(0)
    net = mixed_net()
    init_weights(net, "d2l")
    for name, p in net.named_parameters():
        if p.numel() >= 1000:
            assert_normal(p, 0.0, 0.02)
        assert not untouched(p), name
    assert_normal(torch.cat([net[2].weight, net[3].weight]), 0.0, 0.02)  # BN scale around 0, not 1


def test_glorot_is_matlab_default_initialisation():
    # MATLAB's "glorot": U(-b, b), b = sqrt(6 / (numIn + numOut)), with k*k*channels for both fans of a
    # conv or transposed conv; biases "zeros"; layer/batch norm scale "ones", offset "zeros".
    torch.manual_seed(0)
    net = mixed_net()
    init_weights(net, "glorot")
    conv, convt, bn2, bn1, linear, group = net
    for layer, fans in ((conv, 16 * (256 + 256)), (convt, 16 * (256 + 128)), (linear, 1000 + 1000)):
        bound = math.sqrt(6 / fans)
        assert layer.weight.abs().max().item() <= bound
        assert layer.weight.abs().max().item() > 0.99 * bound
        assert_normal(layer.weight, 0.0, bound / math.sqrt(3))  # the uniform's mean and std
        assert torch.count_nonzero(layer.bias) == 0
    for norm in (bn2, bn1, group):
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        assert torch.count_nonzero(norm.bias) == 0


def test_pytorch_leaves_the_layers_as_built():
    net = mixed_net()
    init_weights(net, "pytorch")
    assert all(untouched(p) for p in net.parameters())


def test_std_is_honoured_and_bad_choices_are_rejected():
    torch.manual_seed(0)
    layer = nn.Linear(1000, 1000)
    init_weights(layer, "d2l", std=0.1)
    assert layer.weight.std().item() == pytest.approx(0.1, rel=0.01)
    with pytest.raises(ValueError, match="init_std"):
        init_weights(layer, "dcgan", std=0.0)
    with pytest.raises(ValueError, match="init must be one of dcgan, d2l, glorot, pytorch; got 'xavier'"):
        init_weights(layer, "xavier")


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_every_net_takes_the_init_option(scheme):
    torch.manual_seed(0)
    nets = [
        build_generator("dcgan", 100, 64, 3, init=scheme),
        build_discriminator("dcgan", 64, 3, init=scheme),
        build_generator("wgan_gp", 100, 64, 3, init=scheme),
        build_discriminator("wgan_gp", 64, 3, init=scheme),
        build_generator("upsample", 100, 28, 1, init=scheme),
        build_discriminator("dropout", 28, 1, init=scheme),
    ]
    expected_norm_scale = {"dcgan": 1.0, "d2l": 0.0, "glorot": 1.0, "pytorch": 1.0}[scheme]
    for net in nets:
        convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        big = max(convs, key=lambda m: m.weight.numel())
        fan_in = big.weight[0].numel()  # PyTorch's fan_in: size(1) * k * k
        expected_std = {
            "dcgan": 0.02,
            "d2l": 0.02,
            "glorot": math.sqrt(2 / (big.weight.shape[0] * big.weight[0, 0].numel() + fan_in)),
            "pytorch": 1 / math.sqrt(3 * fan_in),  # kaiming_uniform_(a=sqrt(5)): U(+-1/sqrt(fan_in))
        }[scheme]
        assert big.weight.std().item() == pytest.approx(expected_std, rel=0.05), (type(net).__name__, scheme)
        scales = [m.weight for m in net.modules() if isinstance(m, nn.BatchNorm2d | nn.GroupNorm)]
        if scales:
            assert torch.cat(scales).mean().item() == pytest.approx(expected_norm_scale, abs=0.01)
