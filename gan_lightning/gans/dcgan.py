"""DCGAN-style GANs: a discriminator trained with a choice of loss.

DCGAN: Radford et al. 2015, arXiv:1511.06434; hinge loss and spectral norm: Miyato et al. 2018, arXiv:1802.05957.
"""

from typing import Literal

import torch
from torch import Tensor

from gan_lightning.gans.base import GANModule
from gan_lightning.gans.losses import LOSSES, PROBABILITY_LOSSES


class DCGANModule(GANModule):
    """One discriminator update per real minibatch and a loss picked by name (`losses.LOSSES`):

    - "bce" (default): binary cross-entropy on logits, non-saturating generator loss. The recipes'
      sigmoid followed by BCE, computed on logits: the same loss without the overflow of
      log(sigmoid(x)) for confident discriminators. D_x and D_G_z are probabilities, sigmoid(D).
    - "hinge": the hinge loss of SNGAN and BigGAN. D_x and D_G_z are raw scores.
    - "lsgan": least squares (LSGAN). D_x and D_G_z are raw scores (targets 1 real, 0 fake).
    """

    def __init__(self, loss: Literal["bce", "hinge", "lsgan"] = "bce", **kwargs) -> None:
        """
        Args:
            loss: "bce" | "hinge" | "lsgan"; everything else as in GANModule.
        """
        if loss not in LOSSES:
            raise ValueError(f"loss: unknown loss {loss!r}; valid: {', '.join(LOSSES)}")
        super().__init__(**kwargs)
        self.discriminator_loss_fn, self.generator_loss_fn = LOSSES[loss]
        self.logs_probabilities = loss in PROBABILITY_LOSSES

    def _statistic(self, outputs: Tensor) -> Tensor:
        """Mean D output as logged: a probability for logit losses, the raw score otherwise."""
        outputs = outputs.detach().float()
        return (torch.sigmoid(outputs) if self.logs_probabilities else outputs).mean()

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        out_real, out_fake = self.discriminator(real), self.discriminator(fake)
        loss = self.discriminator_loss_fn(out_real, out_fake)
        return {
            "loss_d": loss.total,
            "loss_d_real": loss.real,
            "loss_d_fake": loss.fake,
            "D_x": self._statistic(out_real),
            "D_G_z1": self._statistic(out_fake),
        }

    def generator_loss(self, fake: Tensor) -> dict[str, Tensor]:
        out_fake = self.discriminator(fake)
        return {"loss_g": self.generator_loss_fn(out_fake), "D_G_z2": self._statistic(out_fake)}
