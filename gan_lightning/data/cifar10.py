"""CIFAR-10 (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html) in torchvision's layouts:
cifar-10-python.tar.gz or the extracted cifar-10-batches-py/data_batch_{1..5}.

The pickles are parsed here rather than through torchvision.datasets.CIFAR10, which refuses any
file whose md5 differs from the official one (a re-packed or test-built archive). The download
uses torchvision's URL and md5 with our download(), which keeps a corrupt file out of place.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torchvision.datasets import CIFAR10

from gan_lightning.data.archives import tar_files
from gan_lightning.data.base import ImageDataModule, check_split
from gan_lightning.data.cache import file_stamp
from gan_lightning.data.errors import corrupt_source

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_ROW_BYTES = 3 * 32 * 32


def cifar_pixels(batch: bytes) -> np.ndarray:
    """The (N, 32, 32, 3) uint8 images of one CIFAR python batch file's bytes: a pickled dict whose
    "data" holds N rows of 3072 bytes in CHW order (https://www.cs.toronto.edu/~kriz/cifar.html).
    Raises ValueError saying why when the bytes are not such a batch (truncated, corrupt, another file)."""
    try:
        data = np.asarray(pickle.loads(batch, encoding="latin1")["data"], dtype=np.uint8)
    except Exception as error:  # damaged pickles fail every way: UnpicklingError, EOFError, MemoryError, ...
        raise ValueError(f"{type(error).__name__}: {error}") from error
    if data.ndim != 2 or data.shape[1] != CIFAR_ROW_BYTES:
        raise ValueError(f"its data has shape {data.shape}, not rows of {CIFAR_ROW_BYTES} bytes")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


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
            batches = ((name, (source / name).read_bytes()) for name in self.batch_names)  # one file at a time
        else:
            wanted = {f"{self.folder_name}/{name}": name for name in self.batch_names}
            found = {wanted[member]: data for member, data in tar_files(source) if member in wanted}
            missing = [name for name in self.batch_names if name not in found]
            if missing:
                names = ", ".join(missing)
                problem = f"lacks {names} under {self.folder_name}/: it is incomplete, or not CIFAR-10's python archive"
                raise corrupt_source(source, problem)
            batches = ((name, found.pop(name)) for name in self.batch_names)
        for name, batch in batches:  # always in data_batch_1..5 order, whatever the archive order
            try:
                images = cifar_pixels(batch)
            except ValueError as error:
                if source.is_dir():
                    raise corrupt_source(source / name, f"is not a CIFAR-10 python batch ({error})") from error
                problem = f"is corrupt: its member {self.folder_name}/{name} is not a CIFAR-10 python batch ({error})"
                raise corrupt_source(source, problem) from error
            for row, pixels in enumerate(images):
                yield f"{name}#{row}", pixels
