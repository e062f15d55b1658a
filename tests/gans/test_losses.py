"""The losses against hand computations on critics whose gradients are known in closed form."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_lightning.gans import DCGANModule, WGANGPModule, losses


class LinearCritic(nn.Module):
    """D(x) = <w, x> + b: its input gradient is w for every x, so ||grad|| = ||w|| exactly."""

    def __init__(self, shape: tuple[int, ...], scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(0)) * scale)
        self.bias = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):
        return (x * self.weight).flatten(1).sum(1) + self.bias


@pytest.mark.parametrize("scale", [0.01, 0.5])
def test_gradient_penalty_matches_hand_computation(scale):
    module = WGANGPModule(image_size=16, channels=3, latent_dim=8, gp_weight=10.0)
    module.discriminator = LinearCritic((3, 16, 16), scale)
    real = torch.rand(6, 3, 16, 16) * 2 - 1
    fake = torch.rand(6, 3, 16, 16) * 2 - 1
    stats = module.discriminator_loss(real, fake)

    w, b = module.discriminator.weight.detach().double(), 0.3
    norm = w.norm().item()
    d_real = ((real.double() * w).flatten(1).sum(1) + b).mean().item()
    d_fake = ((fake.double() * w).flatten(1).sum(1) + b).mean().item()
    expected_penalty = 10.0 * (norm - 1) ** 2
    assert stats["gradient_penalty"].item() == pytest.approx(expected_penalty, rel=1e-5)
    assert stats["grad_norm"].item() == pytest.approx(norm, rel=1e-5)
    assert stats["loss_d_unregularized"].item() == pytest.approx(d_fake - d_real, rel=1e-4, abs=1e-5)
    assert stats["wasserstein_distance"].item() == pytest.approx(d_real - d_fake, rel=1e-4, abs=1e-5)
    assert stats["loss_d"].item() == pytest.approx(d_fake - d_real + expected_penalty, rel=1e-4, abs=1e-5)
    assert stats["D_x"].item() == pytest.approx(d_real, rel=1e-4, abs=1e-5)


def test_gradient_penalty_is_differentiable_into_the_critic():
    module = WGANGPModule(image_size=16, channels=3, latent_dim=8)
    module.discriminator = LinearCritic((3, 16, 16), 0.5)
    real, fake = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16)
    module.discriminator_loss(real, fake)["gradient_penalty"].backward()
    w = module.discriminator.weight.detach()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    expected = 20 * (w.norm() - 1) * w / w.norm()
    torch.testing.assert_close(module.discriminator.weight.grad, expected, rtol=1e-4, atol=1e-6)


def test_dcgan_losses_and_probabilities():
    module = DCGANModule(image_size=16, channels=3, latent_dim=8)
    module.discriminator = LinearCritic((3, 16, 16), 0.05)
    real, fake = torch.rand(5, 3, 16, 16), -torch.rand(5, 3, 16, 16)
    stats = module.discriminator_loss(real, fake)
    with torch.no_grad():
        logit_real, logit_fake = module.discriminator(real), module.discriminator(fake)
    # -log sigmoid(l) and -log(1 - sigmoid(l)), written out.
    expected_real = torch.mean(-torch.log(1 / (1 + torch.exp(-logit_real.double()))))
    expected_fake = torch.mean(-torch.log(1 - 1 / (1 + torch.exp(-logit_fake.double()))))
    assert stats["loss_d_real"].item() == pytest.approx(expected_real.item(), rel=1e-5)
    assert stats["loss_d_fake"].item() == pytest.approx(expected_fake.item(), rel=1e-5)
    assert stats["loss_d"].item() == pytest.approx((expected_real + expected_fake).item() / 2, rel=1e-5)
    assert stats["D_x"].item() == pytest.approx(torch.sigmoid(logit_real).mean().item(), rel=1e-5)
    assert stats["D_G_z1"].item() == pytest.approx(torch.sigmoid(logit_fake).mean().item(), rel=1e-5)
    g = module.generator_loss(fake)
    assert g["loss_g"].item() == pytest.approx(F.softplus(-logit_fake).mean().item(), rel=1e-5)
    assert 0 < g["D_G_z2"].item() < 1


def test_wgan_generator_loss_is_minus_mean_score():
    module = WGANGPModule(image_size=16, channels=3, latent_dim=8)
    module.discriminator = LinearCritic((3, 16, 16), 0.1)
    fake = torch.rand(7, 3, 16, 16)
    out = module.generator_loss(fake)
    with torch.no_grad():
        expected = -module.discriminator(fake).mean().item()
    assert out["loss_g"].item() == pytest.approx(expected, rel=1e-5)
    assert out["D_G_z2"].item() == pytest.approx(-expected, rel=1e-5)
    assert math.isfinite(out["loss_g"].item())


def test_gradient_norm_under_a_grad_scaler_is_the_unscaled_norm():
    # PyTorch's AMP gradient-penalty recipe (fp16 "16-mixed" on GPUs): scale, differentiate, unscale.
    from gan_lightning.gans.losses import gradient_norm

    critic = LinearCritic((3, 16, 16), 0.05)
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    plain = gradient_norm(critic(x), x)
    scaled = gradient_norm(critic(x), x, scaler)
    torch.testing.assert_close(scaled, plain)
    torch.testing.assert_close(plain, critic.weight.detach().norm().expand(4), rtol=1e-5, atol=0)
    scaled.sum().backward()  # still differentiable into the critic
    assert critic.weight.grad is not None and torch.isfinite(critic.weight.grad).all()


def test_a_batch_norm_critic_is_warned_about():
    with pytest.warns(UserWarning, match="BatchNorm"):
        WGANGPModule(image_size=16, channels=3, latent_dim=8, discriminator="dcgan")


# Hand computations on fixed discriminator outputs: real [2, 0.5, -1], fake [-2, 0, 1.5].
REAL_OUT = torch.tensor([2.0, 0.5, -1.0])
FAKE_OUT = torch.tensor([-2.0, 0.0, 1.5])


def test_hinge_loss_by_hand():
    d = losses.hinge_discriminator_loss(REAL_OUT, FAKE_OUT)
    # relu(1 - [2, 0.5, -1]) = [0, 0.5, 2]; relu(1 + [-2, 0, 1.5]) = [0, 1, 2.5]
    assert d.real.item() == pytest.approx(2.5 / 3)
    assert d.fake.item() == pytest.approx(3.5 / 3)
    assert d.total.item() == pytest.approx(2.0)
    assert losses.hinge_generator_loss(FAKE_OUT).item() == pytest.approx(0.5 / 3)  # -mean(-0.5 / 3 * 3)


def test_least_squares_loss_by_hand():
    d = losses.least_squares_discriminator_loss(REAL_OUT, FAKE_OUT)
    # 1/2 mean([1, 0.25, 4]); 1/2 mean([4, 0, 2.25]); G: 1/2 mean([9, 1, 0.25])
    assert d.real.item() == pytest.approx(0.5 * 5.25 / 3)
    assert d.fake.item() == pytest.approx(0.5 * 6.25 / 3)
    assert d.total.item() == pytest.approx(0.5 * 11.5 / 3)
    assert losses.least_squares_generator_loss(FAKE_OUT).item() == pytest.approx(0.5 * 10.25 / 3)


def test_bce_loss_by_hand():
    d = losses.bce_discriminator_loss(torch.tensor([0.0, math.log(3)]), torch.tensor([0.0, -math.log(3)]))
    # sigmoid(0) = 1/2, sigmoid(log 3) = 3/4: real part mean(-log 1/2, -log 3/4); fake the same by symmetry
    expected = (math.log(2) + math.log(4 / 3)) / 2
    assert d.real.item() == pytest.approx(expected)
    assert d.fake.item() == pytest.approx(expected)
    assert d.total.item() == pytest.approx(expected)  # the mean of the two parts (d2l)
    # non-saturating G loss: -log sigmoid(D(G(z))) = mean(log 2, log 4)
    assert losses.bce_generator_loss(torch.tensor([0.0, -math.log(3)])).item() == pytest.approx(math.log(8) / 2)


def test_wasserstein_loss_by_hand():
    d = losses.wasserstein_critic_loss(REAL_OUT, FAKE_OUT)
    assert d.real.item() == pytest.approx(-0.5) and d.fake.item() == pytest.approx(-0.5 / 3)
    assert d.total.item() == pytest.approx(-0.5 / 3 - 0.5)
    assert losses.wasserstein_generator_loss(FAKE_OUT).item() == pytest.approx(0.5 / 3)


class FixedOutputs(nn.Module):
    """A 'discriminator' that answers REAL_OUT for images > 0 and FAKE_OUT for images < 0."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.scale * torch.where(x.flatten(1)[:, 0] > 0, REAL_OUT[: len(x)], FAKE_OUT[: len(x)])


@pytest.mark.parametrize(
    "loss, d_x, d_g_z",
    [
        ("bce", torch.sigmoid(REAL_OUT).mean().item(), torch.sigmoid(FAKE_OUT).mean().item()),
        ("hinge", 0.5, -0.5 / 3),
        ("lsgan", 0.5, -0.5 / 3),
    ],
)
def test_dcgan_module_uses_the_chosen_loss_and_logs_probabilities_only_for_bce(loss, d_x, d_g_z):
    module = DCGANModule(image_size=16, channels=3, latent_dim=8, loss=loss)
    module.discriminator = FixedOutputs()
    real, fake = torch.ones(3, 3, 16, 16), -torch.ones(3, 3, 16, 16)
    stats, g = module.discriminator_loss(real, fake), module.generator_loss(fake)
    d_fn, g_fn = losses.LOSSES[loss]
    expected = d_fn(REAL_OUT, FAKE_OUT)
    assert stats["loss_d"].item() == pytest.approx(expected.total.item())
    assert stats["loss_d_real"].item() == pytest.approx(expected.real.item())
    assert stats["loss_d_fake"].item() == pytest.approx(expected.fake.item())
    assert g["loss_g"].item() == pytest.approx(g_fn(FAKE_OUT).item())
    assert stats["D_x"].item() == pytest.approx(d_x)
    assert stats["D_G_z1"].item() == pytest.approx(d_g_z) and g["D_G_z2"].item() == pytest.approx(d_g_z)
    assert module.hparams.loss == loss  # saved with the checkpoint, so load_gan rebuilds the same module


def test_unknown_loss_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown loss 'wasserstein'; valid: bce, hinge, lsgan"):
        DCGANModule(image_size=16, channels=3, loss="wasserstein")
