"""The upsample + conv generator and the dropout discriminator of the Keras-GAN / PyTorch-GAN style
MNIST DCGAN (eriklindernoren/PyTorch-GAN, implementations/dcgan).

PyTorch-GAN's dcgan is a port of a Keras example that wrote BatchNormalization(momentum=0.8); the port
passes 0.8 as BatchNorm2d's second positional argument, which is `eps`, so it normalises with
eps 0.8 (and PyTorch's default momentum 0.1). `batch_norm_style` picks either:
- "pytorch_gan": eps 0.8, momentum 0.1, what PyTorch-GAN's code does. configs/mnist.yaml uses it:
  its parity run (scripts/parity.py, 300 generator steps, seeds 0 and 1) found the Keras reading
  learning worse than the original (FID 181.1 against 157.8, outside the seeds' spread).
- "keras" (the default): eps at PyTorch's default and the Keras example's momentum 0.8. Keras'
  momentum is the weight of the OLD running statistic; PyTorch's momentum is the weight of the NEW
  batch statistic, so Keras 0.8 is PyTorch momentum 0.2.
The generator's first BatchNorm2d has PyTorch's defaults under both (the source gives it no 0.8).
"""

from collections import OrderedDict

from torch import nn

from gan_lightning.nets.base import Discriminator, Generator
from gan_lightning.nets.init import init_weights
from gan_lightning.nets.shapes import check_positive_int

KERAS_BN_MOMENTUM = 0.2  # Keras momentum 0.8 in PyTorch's convention (see the module docstring)
BATCH_NORM = {"keras": {"momentum": KERAS_BN_MOMENTUM}, "pytorch_gan": {"eps": 0.8}}  # BatchNorm2d kwargs


def batch_norm_kwargs(style: str, owner: str) -> dict[str, float]:
    if style not in BATCH_NORM:
        raise ValueError(f"{owner}: batch_norm_style={style!r} is not one of {sorted(BATCH_NORM)}")
    return BATCH_NORM[style]


class UpsampleGenerator(Generator):
    """z (B, latent_dim) -> images (B, channels, image_size, image_size) in [-1, 1].

    Linear(latent -> 128 * (S/4)^2), reshape, BatchNorm2d, then twice (Upsample x2, Conv3x3,
    BatchNorm2d, LeakyReLU(0.2)) with 128 and 64 filters, Conv3x3 to `channels`, tanh.
    image_size must be a multiple of 4 (28 for MNIST, 32 for CIFAR-10).
    """

    def __init__(
        self,
        latent_dim: int,
        image_size: int,
        channels: int,
        init: str = "dcgan",
        init_std: float = 0.02,
        batch_norm_style: str = "keras",
    ):
        super().__init__(latent_dim, image_size, channels)
        norm = batch_norm_kwargs(batch_norm_style, type(self).__name__)
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 4 or image_size % 4:
            raise ValueError(
                f"{type(self).__name__}: image_size={image_size!r} is not supported; use a multiple of 4 (e.g. 28, 32)"
            )
        start = image_size // 4

        self.net = nn.Sequential(
            OrderedDict(
                project=nn.Linear(latent_dim, 128 * start * start),
                reshape=nn.Unflatten(1, (128, start, start)),
                norm=nn.BatchNorm2d(128),  # PyTorch-GAN gives this one no 0.8: PyTorch defaults
                up1=self.up_block(128, 128, norm),
                up2=self.up_block(128, 64, norm),
                to_image=nn.Conv2d(64, channels, 3, stride=1, padding=1),
                tanh=nn.Tanh(),
            )
        )
        init_weights(self, init, init_std)

    @staticmethod
    def up_block(in_channels: int, out_channels: int, norm: dict[str, float]) -> nn.Sequential:
        return nn.Sequential(
            OrderedDict(
                upsample=nn.Upsample(scale_factor=2),  # nearest neighbour, as in the source
                conv=nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1),
                norm=nn.BatchNorm2d(out_channels, **norm),
                act=nn.LeakyReLU(0.2),
            )
        )


class DropoutDiscriminator(Discriminator):
    """images (B, channels, image_size, image_size) -> raw logits (B,).

    Four blocks Conv3x3 stride 2 padding 1 (16, 32, 64, 128 filters) + LeakyReLU(0.2) +
    Dropout2d(0.25) (+ BatchNorm2d, except in the first block), then Linear to one logit.
    No sigmoid (PyTorch-GAN's has one): the DCGAN module uses BCE-with-logits, the same loss as
    sigmoid + BCE but numerically stable.
    """

    def __init__(
        self,
        image_size: int,
        channels: int,
        init: str = "dcgan",
        init_std: float = 0.02,
        batch_norm_style: str = "keras",
    ):
        check_positive_int(image_size, "image_size", type(self).__name__)  # any size: its Linear adapts
        super().__init__(image_size, channels)
        norm = batch_norm_kwargs(batch_norm_style, type(self).__name__)

        widths = [channels, 16, 32, 64, 128]
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        side = image_size
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
            block: OrderedDict[str, nn.Module] = OrderedDict(
                conv=nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
                act=nn.LeakyReLU(0.2),
                dropout=nn.Dropout2d(0.25),
            )
            if i > 1:
                block["norm"] = nn.BatchNorm2d(c_out, **norm)
            layers[f"down{i}"] = nn.Sequential(block)
            side = (side - 1) // 2 + 1  # conv k3 s2 p1: ceil(side / 2)
        # PyTorch-GAN computes the side as image_size // 16, right for 32 (2) but not for
        # 28 (28 -> 14 -> 7 -> 4 -> 2, not 1); the conv arithmetic above is right for both.
        layers["flatten"] = nn.Flatten()
        layers["to_logit"] = nn.Linear(128 * side * side, 1)
        self.net = nn.Sequential(layers)
        init_weights(self, init, init_std)
