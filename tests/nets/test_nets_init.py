"""init_weights gives conv/linear weights N(0, std), zero biases, and norm scales N(1, std)."""

import pytest
import torch
from torch import nn

from gan_lightning.nets import build_discriminator, build_generator, init_weights


def test_init_weights_statistics_on_large_layers():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(256, 256, 4), nn.BatchNorm2d(4096), nn.Linear(1000, 1000), nn.GroupNorm(1, 4096))
    for p in net.parameters():
        nn.init.constant_(p, 5.0)  # make sure every value below comes from init_weights
    init_weights(net, std=0.02)
    conv, norm, linear, group = net
    for w in (conv.weight, linear.weight):  # ~1M values each: std within 1%
        assert abs(w.mean().item()) < 1e-3
        assert w.std().item() == pytest.approx(0.02, rel=0.01)
    for n in (norm, group):  # 4096 values: std within 5%
        assert n.weight.mean().item() == pytest.approx(1.0, abs=2e-3)
        assert n.weight.std().item() == pytest.approx(0.02, rel=0.05)
        assert torch.count_nonzero(n.bias) == 0
    assert torch.count_nonzero(conv.bias) == 0 and torch.count_nonzero(linear.bias) == 0


def test_init_weights_respects_std_and_rejects_nonpositive():
    torch.manual_seed(0)
    layer = nn.Linear(1000, 1000)
    init_weights(layer, std=0.1)
    assert layer.weight.std().item() == pytest.approx(0.1, rel=0.01)
    with pytest.raises(ValueError, match="init_std"):
        init_weights(layer, std=0.0)


def test_every_net_is_initialised_on_construction():
    torch.manual_seed(0)
    g = build_generator("dcgan", 100, 64, 3)
    w = g.net.up1.conv.weight  # 512 * 256 * 4 * 4 = 2M values
    assert w.std().item() == pytest.approx(0.02, rel=0.01)
    assert g.net.up1.norm.weight.mean().item() == pytest.approx(1.0, abs=5e-3)  # not PyTorch's default (all 1.0)
    assert g.net.up1.norm.weight.std().item() > 0.01
    # PyTorch's default conv init would give std 1/sqrt(3 * fan_in) ~ 0.0036 here; init_std is honoured.
    g = build_generator("dcgan", 100, 64, 3, init_std=0.05)
    assert g.net.up1.conv.weight.std().item() == pytest.approx(0.05, rel=0.01)

    for net in (
        build_generator("wgan_gp", 100, 64, 3),
        build_discriminator("wgan_gp", 64, 3),
        build_generator("upsample", 100, 28, 1),
        build_discriminator("dropout", 28, 1),
        build_discriminator("dcgan", 64, 3),
    ):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and m.weight.numel() > 100_000:
                assert m.weight.std().item() == pytest.approx(0.02, rel=0.02), type(net).__name__
            if getattr(m, "bias", None) is not None:
                assert torch.count_nonzero(m.bias) == 0, type(net).__name__
