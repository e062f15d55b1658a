"""The "standard CNN" generator and discriminator of SNGAN (Miyato et al. 2018, arXiv:1802.05957,
Table 3 / Appendix B), for CIFAR-10 (M = 32) and STL-10 (M = 48).

Layer for layer as in Table 3 with `width` = 64 (the table's channel counts):
- G: z -> dense -> (M/8) x (M/8) x 8w; three 4x4 stride-2 deconvs with batch norm and ReLU to 4w,
  2w, w channels; a 3x3 stride-1 conv to the image; tanh.
- D: 3x3 stride-1 / 4x4 stride-2 conv pairs with w, 2w, 4w channels, a 3x3 conv with 8w, each
  followed by LeakyReLU(0.1) (the table's slope), then dense -> 1 raw score.
Layers keep their biases (the paper's Chainer links have them). The discriminator has no
normalisation of its own: SNGAN's is the spectral norm, set with `discriminator_options:
{spectral_norm: true}` (gan_lightning.nets.spectral_norm) like on any other discriminator.
The table lists no normalisation after the generator's dense layer, so there is none (Chainer-GAN-lib's
DCGANGenerator, pfnet-research/chainer-gan-lib, adds batch norm and ReLU there).
Weights start Glorot-uniform with zero biases (`init: glorot`, the nets' default), as Mimicry's SNGAN
nets do (kwotsin/mimicry, torch_mimicry/nets/sngan: nn.init.xavier_uniform_).
"""

from collections import OrderedDict

from torch import nn

from gan_lightning.nets.base import Discriminator, Generator
from gan_lightning.nets.init import init_weights

LEAKY_SLOPE = 0.1  # "The slopes of all lReLU functions in the networks are set to 0.1" (Table 3)


def _bottom_width(image_size: int, owner: str) -> int:
    """M / 8: the side of the map the nets grow from / shrink to (4 for CIFAR-10, 6 for STL-10)."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size % 8:
        raise ValueError(f"{owner}: image_size={image_size!r} is not supported; use a multiple of 8 (32, 48, 64, ...)")
    return image_size // 8


def _up_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """4x4 stride-2 transposed conv (doubles H, W), batch norm, ReLU."""
    conv = nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1)
    return nn.Sequential(OrderedDict(conv=conv, norm=nn.BatchNorm2d(out_channels), act=nn.ReLU()))


class SNGANGenerator(Generator):
    """z (B, latent_dim) -> images (B, channels, image_size, image_size) in [-1, 1]."""

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
        bottom = _bottom_width(image_size, type(self).__name__)

        self.net = nn.Sequential(
            OrderedDict(
                project=nn.Linear(latent_dim, 8 * width * bottom * bottom),  # dense -> M_g x M_g x 512
                reshape=nn.Unflatten(1, (8 * width, bottom, bottom)),
                up1=_up_block(8 * width, 4 * width),  # 4x4 stride 2 deconv, BN, 256, ReLU
                up2=_up_block(4 * width, 2 * width),  # ... 128
                up3=_up_block(2 * width, width),  # ... 64
                to_image=nn.Conv2d(width, channels, 3, 1, 1),  # 3x3 stride 1 conv, 3, tanh
                tanh=nn.Tanh(),
            )
        )
        init_weights(self, init, init_std)


class SNGANDiscriminator(Discriminator):
    """images (B, channels, image_size, image_size) -> raw scores (B,)."""

    def __init__(self, image_size: int, channels: int, width: int = 64, init: str = "glorot", init_std: float = 0.02):
        super().__init__(image_size, channels, width=width)
        bottom = _bottom_width(image_size, type(self).__name__)

        # (out channels, kernel, stride): 3x3 s1 then 4x4 s2 at w, 2w, 4w; a last 3x3 s1 at 8w.
        convs = [(w, k, s) for w in (width, 2 * width, 4 * width) for k, s in ((3, 1), (4, 2))] + [(8 * width, 3, 1)]
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = channels
        for i, (c_out, kernel, stride) in enumerate(convs, start=1):
            layers[f"conv{i}"] = nn.Sequential(
                OrderedDict(conv=nn.Conv2d(c_in, c_out, kernel, stride, 1), act=nn.LeakyReLU(LEAKY_SLOPE))
            )
            c_in = c_out
        layers["flatten"] = nn.Flatten()
        layers["to_score"] = nn.Linear(c_in * bottom * bottom, 1)
        self.net = nn.Sequential(layers)
        init_weights(self, init, init_std)
