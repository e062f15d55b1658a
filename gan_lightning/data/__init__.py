"""One LightningDataModule per dataset on one shared base (ImageDataModule): find or download the
source, decode it once into a uint8 cache, serve uint8 batches, normalise and flip on the device."""

from gan_lightning.data.base import ImageDataModule, uint8_to_float
from gan_lightning.data.celeba import CelebADataModule
from gan_lightning.data.cifar10 import CIFAR10DataModule
from gan_lightning.data.demo import DemoDataModule
from gan_lightning.data.errors import (
    CacheNotFoundError,
    ChecksumMismatchError,
    CorruptSourceError,
    DatasetNotFoundError,
    NoImagesError,
)
from gan_lightning.data.flowers import FlowersDataModule
from gan_lightning.data.folder import FolderDataModule
from gan_lightning.data.image import convert_image
from gan_lightning.data.mnist import FashionMNISTDataModule, MNISTDataModule
from gan_lightning.data.pokemon import PokemonDataModule
from gan_lightning.data.sampler import ResumableDistributedSampler

__all__ = [
    "ImageDataModule",
    "PokemonDataModule",
    "FlowersDataModule",
    "CIFAR10DataModule",
    "MNISTDataModule",
    "FashionMNISTDataModule",
    "CelebADataModule",
    "FolderDataModule",
    "DemoDataModule",
    "DatasetNotFoundError",
    "ChecksumMismatchError",
    "CorruptSourceError",
    "NoImagesError",
    "CacheNotFoundError",
    "ResumableDistributedSampler",
    "convert_image",
    "uint8_to_float",
]
