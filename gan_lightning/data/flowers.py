"""TensorFlow's flower photos (http://download.tensorflow.org/example_images/flower_photos.tgz):
flower_photos.tgz or flower_photos/<class>/*."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gan_lightning.data.archives import tar_files
from gan_lightning.data.base import ImageDataModule
from gan_lightning.data.cache import iter_files


class FlowersDataModule(ImageDataModule):
    """5 classes of flower photos; random horizontal flips on by default, as in the MATLAB example."""

    name = "flowers"
    url = "http://download.tensorflow.org/example_images/flower_photos.tgz"
    # TensorFlow publishes no checksum for flower_photos.tgz, so the download is not verified.
    archive_name = "flower_photos.tgz"
    folder_name = "flower_photos"

    def __init__(self, *, random_flip: bool = True, **kwargs) -> None:
        """Arguments of ImageDataModule, with this dataset's defaults, plus its own."""
        super().__init__(random_flip=random_flip, **kwargs)

    def expected_location(self) -> str:
        root = self.root.resolve()
        return f"{root / self.archive_name} (or the extracted {root / self.folder_name}/<class>/*.jpg)"

    def download_source(self) -> None:
        self.fetch(self.url, self.root / self.archive_name)

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        if source.is_dir():
            files = list(iter_files(source))
            return ((str(p.relative_to(source.parent)), str(p)) for p in files), len(files)
        return tar_files(source), None
