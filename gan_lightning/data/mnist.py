"""MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/) and Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747)
in torchvision's layout: <Folder>/raw/*-ubyte or *-ubyte.gz.

The IDX files are parsed here, gzipped or not: torchvision.datasets.MNIST only accepts the
extracted files offline and checks the md5 of the .gz, which any re-compressed copy fails. The
download uses torchvision's mirrors and md5s with our download(), which keeps a corrupt file out
of place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torchvision.datasets import MNIST, FashionMNIST

from gan_lightning.data.archives import read_maybe_gzipped
from gan_lightning.data.base import ImageDataModule, check_split
from gan_lightning.data.cache import file_stamp
from gan_lightning.data.errors import DatasetNotFoundError, corrupt_source


def read_idx_images(path: Path) -> np.ndarray:
    """The (N, H, W) uint8 images of an IDX3 file, gzipped or not (format: http://yann.lecun.com/exdb/mnist/,
    "FILE FORMATS"). A truncated or corrupt file raises CorruptSourceError."""
    data = read_maybe_gzipped(path)
    if len(data) < 16 or data[0:2] != b"\x00\x00" or data[2] != 0x08 or data[3] != 3:
        raise corrupt_source(path, f"is not an IDX file of uint8 images (magic {data[:4].hex()}, expected 00000803)")
    count, height, width = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    expected = 16 + count * height * width
    if len(data) != expected:
        problem = "is truncated" if len(data) < expected else "is corrupt"
        raise corrupt_source(
            path,
            f"{problem}: its header says {count} images of {height}x{width} ({expected} bytes with the header), "
            f"but it holds {len(data)} bytes" + (" once decompressed" if path.suffix == ".gz" else ""),
        )
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, height, width)


class MNISTDataModule(ImageDataModule):
    """The 60,000 training digits; split="test" the 10,000 test digits, "all" both. 32x32 by default
    (a power of two for DCGAN nets; the 28x28 originals are resized), image_size=28 keeps them as is."""

    name = "mnist"
    torchvision_class = MNIST
    split_files = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}

    def __init__(
        self, *, image_size: int = 32, channels: int = 1, split: Literal["train", "test", "all"] = "train", **kwargs
    ) -> None:
        """Arguments of ImageDataModule, with this dataset's defaults, plus its own."""
        super().__init__(image_size=image_size, channels=channels, **kwargs)
        self.split = check_split(split)
        self.mirrors: list[str] = list(self.torchvision_class.mirrors)
        self.url = self.mirrors[0] + self.file_names[0] + ".gz"

    @property
    def raw_folder(self) -> Path:
        return self.root / self.torchvision_class.__name__ / "raw"

    @property
    def file_names(self) -> list[str]:
        return [self.split_files[name] for name in ("train", "test") if self.split in (name, "all")]

    def source_options(self) -> tuple:
        return (self.split,)

    def _find_file(self, name: str) -> Path | None:
        for candidate in (self.raw_folder / name, self.raw_folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
        return None

    def find_source(self) -> Path | None:
        if all(self._find_file(name) for name in self.file_names):
            return self.raw_folder
        return None

    def expected_location(self) -> str:
        return " and ".join(f"{self.raw_folder.resolve() / name}[.gz]" for name in self.file_names)

    def download_source(self) -> None:
        md5s = dict(self.torchvision_class.resources)
        for name in self.file_names:
            if self._find_file(name):
                continue
            archive = f"{name}.gz"
            errors = []
            for mirror in self.mirrors:  # like torchvision: the first mirror that answers wins
                self.url = mirror + archive
                try:
                    self.fetch(self.url, self.raw_folder / archive, ("md5", md5s[archive]))
                    break
                except DatasetNotFoundError as error:
                    errors.append(error)
            else:
                raise errors[-1]

    def source_stamp(self, source: Path) -> Any:
        return [file_stamp(self._find_file(name)) for name in self.file_names]

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        arrays = [(name, read_idx_images(self._find_file(name))) for name in self.file_names]
        total = sum(len(images) for _, images in arrays)
        return self._iter(arrays), total

    @staticmethod
    def _iter(arrays: list[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray]]:
        for name, images in arrays:
            for row, pixels in enumerate(images):
                yield f"{name}#{row}", pixels


class FashionMNISTDataModule(MNISTDataModule):
    """Zalando's Fashion-MNIST: same files and format as MNIST under FashionMNIST/raw/."""

    name = "fashion_mnist"
    torchvision_class = FashionMNIST
