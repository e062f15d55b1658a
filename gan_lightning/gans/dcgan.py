"""DCGAN: binary cross-entropy on logits, non-saturating generator loss (RECIPES §1, §3, §5)."""

import torch
import torch.nn.functional as F
from torch import Tensor

from gan_lightning.gans.base import GANModule


class DCGANModule(GANModule):
    """Standard GAN losses; D(x) and D(G(z)) are logged as probabilities.

    The recipes' sigmoid followed by BCE is computed as BCE on logits: the same loss, without the
    overflow of log(sigmoid(x)) for confident discriminators. d2l's loss_D is the mean of its real
    and fake parts, as here.
    """

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        logits_real, logits_fake = self.discriminator(real), self.discriminator(fake)
        loss_real = F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
        loss_fake = F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
        return {
            "loss_d": (loss_real + loss_fake) / 2,
            "loss_d_real": loss_real,
            "loss_d_fake": loss_fake,
            "D_x": torch.sigmoid(logits_real.detach()).mean(),
            "D_G_z1": torch.sigmoid(logits_fake.detach()).mean(),
        }

    def generator_loss(self, fake: Tensor) -> dict[str, Tensor]:
        logits = self.discriminator(self._format(fake))
        return {
            # Non-saturating loss: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
            "loss_g": F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)),
            "D_G_z2": torch.sigmoid(logits.detach()).mean(),
        }
