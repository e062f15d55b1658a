"""The DCGAN generator and discriminator: the d2l nets (d2l.ai's DCGAN chapter,
https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html) and the "simple" nets of the
@IT CIFAR-10 article ("Deep Learning Workshop: generating images with DCGAN on CIFAR-10 in
PyTorch", 2020-11-27).

Sizes follow from image_size: a 4x4 map is doubled (G) or halved (D) once per stage.
`width` is the channel count of the stage next to the image; each stage further from the
image doubles it. For 64x64 and width 64 this is d2l's n_G = n_D = 64 exactly
(G: 512, 256, 128, 64; D: 64, 128, 256, 512). The @IT CIFAR-10 article's 32x32 simple
generator (512, 256, 128) is width 128 with batch_norm False; its simple discriminator
(64, 128, 256) is width 64.
"""

from collections import OrderedDict

from torch import nn

from gan_lightning.nets.base import Discriminator, Generator
from gan_lightning.nets.init import init_weights
from gan_lightning.nets.shapes import (
    check_choice,
    count_doublings,
)

STEMS = ("conv_transpose", "project")
ACTIVATIONS = ("leaky_relu", "relu")


def up_block(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    """d2l's G_block: ConvTranspose2d(k4, s2, p1, no bias) [+ BatchNorm2d] + ReLU; doubles H, W."""
    layers = OrderedDict(conv=nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False))
    if batch_norm:
        layers["norm"] = nn.BatchNorm2d(out_channels)
    layers["act"] = nn.ReLU()
    return nn.Sequential(layers)


def down_block(in_channels: int, out_channels: int, batch_norm: bool, activation: str) -> nn.Sequential:
    """d2l's D_block: Conv2d(k4, s2, p1, no bias) [+ BatchNorm2d] + LeakyReLU(0.2) or ReLU; halves H, W."""
    layers = OrderedDict(conv=nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False))
    if batch_norm:
        layers["norm"] = nn.BatchNorm2d(out_channels)
    layers["act"] = nn.LeakyReLU(0.2) if activation == "leaky_relu" else nn.ReLU()
    return nn.Sequential(layers)


class DCGANGenerator(Generator):
    """z (B, latent_dim) -> images (B, channels, image_size, image_size) in [-1, 1].

    stem "conv_transpose": z as a latent_dim x 1 x 1 map, ConvTranspose2d(k4, s1, p0) to 4x4
    (d2l). stem "project": Linear to 4*4*C features, BatchNorm1d over those features, ReLU,
    reshape to C x 4 x 4 (the project-and-reshape stem of Radford, Metz and Chintala 2015,
    arXiv:1511.06434, with the flat projection batch-normalised). Then stride-2 up blocks, a
    last ConvTranspose2d to `channels` and tanh. No biases anywhere (batch norm makes them
    redundant; the @IT CIFAR-10 article's simple net has none either).
    """

    def __init__(
        self,
        latent_dim: int,
        image_size: int,
        channels: int,
        width: int = 64,
        batch_norm: bool = True,
        stem: str = "conv_transpose",
        init: str = "dcgan",
        init_std: float = 0.02,
    ):
        super().__init__(latent_dim, image_size, channels, width=width)
        check_choice(stem, "stem", STEMS, type(self).__name__)
        n_up = count_doublings(image_size, type(self).__name__)  # 4 -> image_size in n_up doublings

        # Hidden widths from the 4x4 stem to the last hidden stage: 8w, 4w, 2w, w at 64x64.
        widths = [width * 2**i for i in reversed(range(n_up))]
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        stem_layers: OrderedDict[str, nn.Module] = OrderedDict()
        if stem == "conv_transpose":
            stem_layers["reshape"] = nn.Unflatten(1, (latent_dim, 1, 1))
            stem_layers["conv"] = nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False)
            if batch_norm:
                stem_layers["norm"] = nn.BatchNorm2d(widths[0])
            stem_layers["act"] = nn.ReLU()
        else:
            stem_layers["project"] = nn.Linear(latent_dim, widths[0] * 4 * 4, bias=False)
            if batch_norm:
                stem_layers["norm"] = nn.BatchNorm1d(widths[0] * 4 * 4)
            stem_layers["act"] = nn.ReLU()
            stem_layers["reshape"] = nn.Unflatten(1, (widths[0], 4, 4))
        layers["stem"] = nn.Sequential(stem_layers)
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
            layers[f"up{i}"] = up_block(c_in, c_out, batch_norm)
        layers["to_image"] = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False)
        layers["tanh"] = nn.Tanh()
        self.net = nn.Sequential(layers)
        init_weights(self, init, init_std)


class DCGANDiscriminator(Discriminator):
    """images (B, channels, image_size, image_size) -> raw logits (B,).

    Stride-2 down blocks from the image to a 4x4 map, then Conv2d(k4) to one logit, no biases.
    No sigmoid: the DCGAN module uses BCE-with-logits, the same loss as sigmoid + BCE (what
    d2l and the @IT CIFAR-10 article compute) but numerically stable for confident outputs.
    first_layer_batch_norm: d2l keeps BN on the first block; the DCGAN paper omits it.
    batch_norm=False removes every BN (the @IT CIFAR-10 article's simple version).
    """

    def __init__(
        self,
        image_size: int,
        channels: int,
        width: int = 64,
        batch_norm: bool = True,
        first_layer_batch_norm: bool = True,
        activation: str = "leaky_relu",
        init: str = "dcgan",
        init_std: float = 0.02,
    ):
        super().__init__(image_size, channels, width=width)
        check_choice(activation, "activation", ACTIVATIONS, type(self).__name__)
        n_down = count_doublings(image_size, type(self).__name__)

        widths = [channels] + [width * 2**i for i in range(n_down)]  # 3, 64, 128, 256, 512 at 64x64
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
            norm = batch_norm and (first_layer_batch_norm or i > 1)
            layers[f"down{i}"] = down_block(c_in, c_out, norm, activation)
        layers["to_logit"] = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)
        self.net = nn.Sequential(layers)
        init_weights(self, init, init_std)
