"""CIFAR-10 (RECIPES.md, recipe 3) in torchvision's layouts: cifar-10-python.tar.gz or the
extracted cifar-10-batches-py/data_batch_{1..5}.

The pickles are parsed here rather than through torchvision.datasets.CIFAR10, which refuses any
file whose md5 differs from the official one (a re-packed or test-built archive). The download
uses torchvision's URL and md5 with our download(), which keeps a corrupt file out of place.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torchvision.datasets import CIFAR10

from gan_lightning.data.base import ImageDataModule, check_split
from gan_lightning.data.cache import file_stamp

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def cifar_arrays(batch_file: Any, name: str) -> Iterator[tuple[str, np.ndarray]]:
    """(name#row, HWC uint8 array) for each image of one CIFAR python batch file."""
    entry = pickle.load(batch_file, encoding="latin1")
    data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    for row, pixels in enumerate(data):
        yield f"{name}#{row}", pixels


class CIFAR10DataModule(ImageDataModule):
    """The 50,000 training images; split="test" the 10,000 test images, "all" both."""

    name = "cifar10"
    url = CIFAR10.url
    md5 = CIFAR10.tgz_md5
    archive_name = CIFAR10.filename  # cifar-10-python.tar.gz
    folder_name = CIFAR10.base_folder  # cifar-10-batches-py

    def __init__(self, *, image_size: int = 32, split: Literal["train", "test", "all"] = "train", **kwargs) -> None:
        """Arguments of ImageDataModule, with this dataset's defaults, plus its own."""
        super().__init__(image_size=image_size, **kwargs)
        self.split = check_split(split)

    @property
    def batch_names(self) -> list[str]:
        return {"train": TRAIN_BATCHES, "test": ["test_batch"], "all": [*TRAIN_BATCHES, "test_batch"]}[self.split]

    def source_options(self) -> tuple:
        return (self.split,)

    def find_source(self) -> Path | None:
        folder, archive = self.root / self.folder_name, self.root / self.archive_name
        if all((folder / name).is_file() for name in self.batch_names):
            return folder
        if archive.is_file():
            return archive
        return None

    def expected_location(self) -> str:
        return (
            f"{self.root.resolve() / self.archive_name} (or the extracted "
            f"{self.root.resolve() / self.folder_name}/{{{','.join(self.batch_names)}}})"
        )

    def download_source(self) -> None:
        self.fetch(self.url, self.root / self.archive_name, ("md5", self.md5))

    def source_stamp(self, source: Path) -> Any:
        if source.is_dir():
            return [file_stamp(source / name) for name in self.batch_names]
        return super().source_stamp(source)

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        return self._iter_arrays(source), None

    def _iter_arrays(self, source: Path) -> Iterator[tuple[str, np.ndarray]]:
        if source.is_dir():
            for name in self.batch_names:
                with open(source / name, "rb") as f:
                    yield from cifar_arrays(f, name)
            return
        wanted = {f"{self.folder_name}/{name}": name for name in self.batch_names}
        found: dict[str, bytes] = {}
        with tarfile.open(source, mode="r|*") as stream:
            for member in stream:
                if member.isfile() and member.name in wanted:
                    found[wanted[member.name]] = stream.extractfile(member).read()
        missing = [name for name in self.batch_names if name not in found]
        if missing:
            raise ValueError(
                f"{source} lacks {', '.join(missing)} under {self.folder_name}/; is it CIFAR-10's python archive?"
            )
        for name in self.batch_names:  # always in data_batch_1..5 order, whatever the archive order
            yield from cifar_arrays(io.BytesIO(found[name]), name)
