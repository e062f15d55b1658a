"""The WGAN-GP generator and critic of the MATLAB WGAN-GP example (MathWorks Deep Learning Toolbox,
"Train Wasserstein GAN with Gradient Penalty (WGAN-GP)", on flowers).

Layer for layer as in the MATLAB `layersG` / `layersD` lists, with `width` = MATLAB's
numFilters (64). MATLAB layers carry biases by default (projectAndReshapeLayer,
transposedConv2dLayer, convolution2dLayer), and neither net has batch norm, so biases stay.
At 64x64 (the recipe) the stages are exactly MATLAB's; at 32x32 (and 16x16) the stage with
the most channels is dropped, so the stage next to the image always has `width` channels.
"""

from collections import OrderedDict

from torch import nn

from gan_lightning.nets.base import Discriminator, Generator
from gan_lightning.nets.init import init_weights
from gan_lightning.nets.shapes import (
    count_doublings,
)


def same_up_conv(in_channels: int, out_channels: int) -> nn.ConvTranspose2d:
    """MATLAB transposedConv2dLayer(5, C, Stride=2, Cropping="same"): output = 2 x input.

    The full transposed conv gives 2n + 3; padding=2 crops 2 on each side and output_padding=1
    adds one row/column back at the bottom/right, so 2n remain.
    """
    return nn.ConvTranspose2d(in_channels, out_channels, 5, stride=2, padding=2, output_padding=1)


class WGANGPGenerator(Generator):
    """z (B, latent_dim) -> images (B, channels, image_size, image_size) in [-1, 1].

    projectAndReshape (Linear latent -> 4x4x8w, no activation after it, as in MATLAB),
    ConvTranspose2d 5x5 stride 1 (4x4 -> 8x8) with 4w filters, then stride-2 5x5 "same"
    transposed convs with 2w, w and `channels` filters; ReLU between, tanh at the end.
    """

    def __init__(
        self,
        latent_dim: int,
        image_size: int,
        channels: int,
        width: int = 64,
        init: str = "glorot",
        init_std: float = 0.02,
    ):
        super().__init__(latent_dim, image_size, channels, width=width)
        n_stages = count_doublings(image_size, type(self).__name__)  # hidden maps at 4x4, 8x8, ..., image_size/2

        widths = [width * 2**i for i in reversed(range(n_stages))]  # 512, 256, 128, 64 at 64x64
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["project"] = nn.Linear(latent_dim, widths[0] * 4 * 4)
        layers["reshape"] = nn.Unflatten(1, (widths[0], 4, 4))
        # 5x5 transposed conv, stride 1, no cropping: 4x4 -> 8x8.
        layers["up1"] = nn.Sequential(
            OrderedDict(conv=nn.ConvTranspose2d(widths[0], widths[1], 5, stride=1, padding=0), act=nn.ReLU())
        )
        for i, (c_in, c_out) in enumerate(zip(widths[1:], widths[2:]), start=2):
            layers[f"up{i}"] = nn.Sequential(OrderedDict(conv=same_up_conv(c_in, c_out), act=nn.ReLU()))
        layers["to_image"] = same_up_conv(widths[-1], channels)
        layers["tanh"] = nn.Tanh()
        self.net = nn.Sequential(layers)
        init_weights(self, init, init_std)


class WGANGPCritic(Discriminator):
    """images (B, channels, image_size, image_size) -> unbounded scores (B,).

    Conv2d 5x5 stride 2 "same" (padding 2) with w, 2w, 4w, 8w filters, LeakyReLU(0.2), layer
    normalization after every conv but the first, no batch norm (the gradient penalty is per
    sample, and batch norm would couple the samples of a batch), then Conv2d 4x4 to one score.

    MATLAB's layerNormalizationLayer on an image normalises each sample over (C, H, W) and has
    one learnable scale and offset per channel: nn.GroupNorm(1, C) is exactly that
    (nn.LayerNorm would need the spatial size and learn a scale per pixel).

    The MATLAB example ends in a sigmoidLayer; it is left out on purpose: the Wasserstein
    critic estimates a difference of expectations and must output an unbounded score. A
    sigmoid would squash it to (0, 1), saturate, and kill the gradients the penalty and the
    generator rely on.
    """

    def __init__(self, image_size: int, channels: int, width: int = 64, init: str = "glorot", init_std: float = 0.02):
        super().__init__(image_size, channels, width=width)
        n_down = count_doublings(image_size, type(self).__name__)  # image_size -> 4x4

        widths = [channels] + [width * 2**i for i in range(n_down)]  # 3, 64, 128, 256, 512 at 64x64
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
            # Padding 2 on every side gives MATLAB's "same" output size n/2. (MATLAB pads 1 at the
            # top/left and 2 at the bottom/right: a one-pixel shift of the grid, same shapes.)
            block: OrderedDict[str, nn.Module] = OrderedDict(conv=nn.Conv2d(c_in, c_out, 5, stride=2, padding=2))
            if i > 1:
                block["norm"] = nn.GroupNorm(1, c_out)
            block["act"] = nn.LeakyReLU(0.2)
            layers[f"down{i}"] = nn.Sequential(block)
        layers["to_score"] = nn.Conv2d(widths[-1], 1, 4)
        self.net = nn.Sequential(layers)
        init_weights(self, init, init_std)
