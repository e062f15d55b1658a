"""What every generator and discriminator here shares: its sizes, checked when built, and a forward that
checks its input's shape before running `self.net` (so a wrong size fails with a message, not deep
inside a conv). Subclasses build `self.net`; they stay plain nn.Modules."""

import torch
from torch import nn

from gan_lightning.nets.shapes import check_images, check_latent, check_positive_int


class Generator(nn.Module):
    """z (B, latent_dim) -> images (B, channels, image_size, image_size) through `self.net`."""

    net: nn.Module

    def __init__(self, latent_dim: int, image_size: int, channels: int, **positive: int) -> None:
        """Checks latent_dim, channels and the `positive` integers (width, ...); the image size rule is
        each net's own."""
        super().__init__()
        for label, value in dict(latent_dim=latent_dim, channels=channels, **positive).items():
            check_positive_int(value, label, type(self).__name__)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_latent(z, self.latent_dim, type(self).__name__)
        return self.net(z)


class Discriminator(nn.Module):
    """images (B, channels, image_size, image_size) -> one raw score per image through `self.net`."""

    net: nn.Module

    def __init__(self, image_size: int, channels: int, **positive: int) -> None:
        super().__init__()
        for label, value in dict(channels=channels, **positive).items():
            check_positive_int(value, label, type(self).__name__)
        self.image_size, self.channels = image_size, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.channels, self.image_size, type(self).__name__)
        return self.net(x).flatten()  # (B, 1, ...) -> (B,)
