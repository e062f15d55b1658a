"""sampling_mode and GANModule.sample_batch_norm: which statistics batch norm uses when sampling."""

import pytest
import torch
from torch import nn

from gan_lightning.gans import DCGANModule
from gan_lightning.nets import build_generator, sampling_mode


def trained_generator() -> nn.Module:
    """A generator whose running statistics differ from any batch's (a few train-mode passes)."""
    torch.manual_seed(0)
    net = build_generator("dcgan", 16, 16, 3, width=8, init="d2l")
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(32, 16) * 3 + 1)
    return net


def batch_statistics_output(net: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """What the net computes with every batch norm normalising over the batch itself (by hand)."""
    x = z
    for layer in net.net.modules():
        if isinstance(layer, nn.Sequential) or layer is net.net:
            continue
        if isinstance(layer, nn.BatchNorm2d):
            mean = x.mean(dim=(0, 2, 3), keepdim=True)
            var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
            x = (x - mean) / torch.sqrt(var + layer.eps) * layer.weight[:, None, None] + layer.bias[:, None, None]
        else:
            x = layer(x)
    return x


def test_batch_mode_normalises_over_the_sampled_batch_and_leaves_running_statistics_alone():
    net = trained_generator()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    z = torch.randn(10, 16)
    with torch.no_grad(), sampling_mode(net, "batch"):
        images = net(z)
    torch.testing.assert_close(images, batch_statistics_output(net, z), rtol=1e-4, atol=1e-5)
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed"
    assert net.training  # restored


def test_running_mode_is_eval_mode_and_independent_of_the_batch():
    net = trained_generator()
    z = torch.randn(10, 16)
    with torch.no_grad(), sampling_mode(net, "running"):
        alone = net(z[:1])
        together = net(z)[:1]
        assert not any(m.training for m in net.modules())
    torch.testing.assert_close(alone, together)
    with torch.no_grad(), sampling_mode(net, "batch"):
        assert not torch.allclose(net(z[:2])[:1], net(z)[:1], atol=1e-4)  # depends on its batch
    assert net.training


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="'eval'"), sampling_mode(nn.Linear(2, 2), "eval"):
        pass


@pytest.mark.parametrize("mode", ["batch", "running"])
def test_module_samples_with_its_configured_batch_norm_statistics(mode):
    module = DCGANModule(
        image_size=16,
        channels=3,
        latent_dim=16,
        generator_options={"width": 8},
        discriminator_options={"width": 8},
        sample_batch_norm=mode,
    )
    module.generator.load_state_dict(trained_generator().state_dict())
    z = torch.randn(10, 16)
    with sampling_mode(module.generator, mode), torch.no_grad():
        expected = module.generator(z)
    torch.testing.assert_close(module.sample(z), expected)
    other = {"batch": "running", "running": "batch"}[mode]
    with sampling_mode(module.generator, other), torch.no_grad():
        assert not torch.allclose(module.sample(z), module.generator(z), atol=1e-4)
