"""GAN losses as plain functions of the discriminator's raw outputs (logits or scores).

A discriminator loss returns its total and its parts on real and on generated images (logged as
train/loss_d, train/loss_d_real, train/loss_d_fake); a generator loss returns one scalar. Outputs
are taken in float32, so bf16 autocast runs compute the same losses. To add a loss: write its two
functions here and give them a name in LOSSES (DCGANModule's `loss:` choice).
"""

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class DiscriminatorLoss(NamedTuple):
    total: Tensor
    real: Tensor
    fake: Tensor


def bce_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> DiscriminatorLoss:
    """Binary cross-entropy on logits: -log sigmoid(D(x)) and -log(1 - sigmoid(D(G(z)))).

    The total is the mean of the two parts, as in d2l's DCGAN chapter (which the recipes follow).
    """
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return DiscriminatorLoss((real + fake) / 2, real, fake)


def bce_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))) (Goodfellow et al.
    2014, arXiv:1406.2661, section 3), i.e. -log sigmoid(D(G(z)))."""
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def hinge_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> DiscriminatorLoss:
    """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))): Lim and Ye 2017 (arXiv:1705.02894), the loss
    of SNGAN (Miyato et al. 2018, arXiv:1802.05957) and BigGAN."""
    real = F.relu(1 - real_scores.float()).mean()
    fake = F.relu(1 + fake_scores.float()).mean()
    return DiscriminatorLoss(real + fake, real, fake)


def hinge_generator_loss(fake_scores: Tensor) -> Tensor:
    """-mean D(G(z))."""
    return -fake_scores.float().mean()


def least_squares_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> DiscriminatorLoss:
    """LSGAN (Mao et al. 2017, arXiv:1611.04076, eq. 2 with a = 0, b = c = 1):
    1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2)."""
    real = 0.5 * (real_scores.float() - 1).square().mean()
    fake = 0.5 * fake_scores.float().square().mean()
    return DiscriminatorLoss(real + fake, real, fake)


def least_squares_generator_loss(fake_scores: Tensor) -> Tensor:
    """1/2 mean((D(G(z)) - 1)^2)."""
    return 0.5 * (fake_scores.float() - 1).square().mean()


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> DiscriminatorLoss:
    """mean D(G(z)) - mean D(x) (Arjovsky et al. 2017, arXiv:1701.07875); parts -mean D(x), mean D(G(z)).
    WGAN-GP adds the gradient penalty on top (see `gradient_norm`)."""
    real = -real_scores.float().mean()
    fake = fake_scores.float().mean()
    return DiscriminatorLoss(real + fake, real, fake)


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """-mean D(G(z))."""
    return -fake_scores.float().mean()


def gradient_norm(scores: Tensor, inputs: Tensor, scaler: "torch.amp.GradScaler | None" = None) -> Tensor:
    """Per-sample L2 norm of d(scores)/d(inputs), differentiable (create_graph) for the penalty.

    Under fp16 autocast the gradient would underflow, so this follows PyTorch's AMP gradient-penalty
    recipe: scale the scores by the GradScaler's factor, take the gradient, divide the factor out
    (`scaler.scale(1)` is that factor as a device tensor: no host sync). An overflow makes the
    penalty inf, and the scaler then skips the step as for any other inf gradient. bf16 and fp32
    need no scaling. The norm is taken in float32.
    """
    outputs = scores.sum() if scaler is None else scaler.scale(scores.sum())
    (grad,) = torch.autograd.grad(outputs, inputs, create_graph=True)
    if scaler is not None:
        grad = grad / scaler.scale(torch.ones((), device=grad.device))
    return grad.float().flatten(1).norm(2, dim=1)


#: DCGANModule's `loss:` choices: (discriminator loss, generator loss).
LOSSES: dict[str, tuple[Callable[[Tensor, Tensor], DiscriminatorLoss], Callable[[Tensor], Tensor]]] = {
    "bce": (bce_discriminator_loss, bce_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "lsgan": (least_squares_discriminator_loss, least_squares_generator_loss),
}

#: Losses whose discriminator outputs a logit: D_x and D_G_z are logged as sigmoid(output), the
#: probability of "real". The others' outputs are scores with no probability reading (hinge: a margin
#: around 0; LSGAN: a regression towards 1 for real, 0 for fake), so they are logged raw.
PROBABILITY_LOSSES = frozenset({"bce"})
