"""A folder of the user's own images: `--data.root` IS the folder; flat or class subfolders, recursive."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gan_lightning.data.base import ImageDataModule
from gan_lightning.data.cache import iter_files
from gan_lightning.data.errors import DatasetNotFoundError, NoImagesError
from gan_lightning.data.image import CROPS


class FolderDataModule(ImageDataModule):
    """Every file under root is tried as an image; the ones that don't decode are skipped with one
    warning that counts them. Nothing is downloaded."""

    name = "folder"

    def __init__(self, *, crop: str = "stretch", **kwargs) -> None:
        """Arguments of ImageDataModule, with this dataset's defaults, plus its own."""
        super().__init__(**kwargs)
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        self.crop = crop

    def find_source(self) -> Path | None:
        return self.root if self.root.is_dir() else None

    def expected_location(self) -> str:
        return f"a folder of images at {self.root.resolve()}"

    def not_found(self, reason: str) -> DatasetNotFoundError:
        return DatasetNotFoundError(
            f"The image folder {self.root.resolve()} does not exist. Point --data.root at a folder holding "
            "your images (PNG, JPEG, ...), flat or in class subfolders."
        )

    def download_source(self) -> None:
        raise self.not_found("nothing to download")

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        files = list(iter_files(source))
        if not files:
            raise NoImagesError(
                f"The image folder {source.resolve()} is empty. Put image files (PNG, JPEG, ...) in it, flat or "
                "in class subfolders."
            )
        return ((str(p.relative_to(source)), str(p)) for p in files), len(files)
