"""Lightning modules: the shared GAN base and the two model families."""

from gan_lightning.gans.base import GANModule
from gan_lightning.gans.dcgan import DCGANModule
from gan_lightning.gans.nonfinite import NonFiniteLossError
from gan_lightning.gans.wgan_gp import WGANGPModule

__all__ = ["GANModule", "DCGANModule", "WGANGPModule", "NonFiniteLossError"]
