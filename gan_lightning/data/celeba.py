"""CelebA faces (the classic DCGAN face set) in torchvision's layout under root/celeba/:
img_align_celeba/*.jpg or img_align_celeba.zip, plus list_eval_partition.txt for the splits."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from torchvision.datasets import CelebA

from gan_lightning.data.archives import zip_file_names
from gan_lightning.data.base import ImageDataModule
from gan_lightning.data.cache import file_stamp
from gan_lightning.data.errors import corrupt_source
from gan_lightning.data.image import CROPS, ZipMember

SPLITS = {"train": "0", "valid": "1", "test": "2"}


def read_partition(path: Path) -> list[tuple[str, str]]:
    """(image name, split digit) for each line "000001.jpg 0" of list_eval_partition.txt.

    Every line must have that form: a file cut short by an interrupted copy ends in a partial line,
    and a silently skipped line would drop its image from the split.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise corrupt_source(path, f"is not a text file ({error})") from error
    entries = []
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in SPLITS.values():
            raise corrupt_source(path, f"is corrupt: line {number} is {line[:80]!r}, not '<image name> <0, 1 or 2>'")
        entries.append((parts[0], parts[1]))
    if not entries:
        raise corrupt_source(path, "lists no image")
    return entries


class CelebADataModule(ImageDataModule):
    """202,599 aligned 178x218 faces, center-cropped to a square and resized (64x64 by default).

    split="all" uses every image (as the PyTorch DCGAN tutorial does); "train", "valid" or "test"
    select by list_eval_partition.txt. crop="center" cuts the largest centered square first;
    crop="stretch" squeezes the whole image instead."""

    name = "celeba"
    # img_align_celeba.zip on Google Drive (torchvision's file id); the list files sit beside it.
    url = f"https://drive.google.com/uc?id={CelebA.file_list[0][0]}"
    folder_name = CelebA.base_folder  # celeba
    partition_file = "list_eval_partition.txt"

    def __init__(self, *, split: str = "all", crop: str = "center", **kwargs) -> None:
        """Arguments of ImageDataModule, with this dataset's defaults, plus its own."""
        super().__init__(**kwargs)
        if split not in ("all", *SPLITS):
            raise ValueError(f"split must be 'all', 'train', 'valid' or 'test', got {split!r}")
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        self.split = split
        self.crop = crop

    @property
    def base(self) -> Path:
        return self.root / self.folder_name

    def source_options(self) -> tuple:
        return (self.split,)

    def find_source(self) -> Path | None:
        if self.split != "all" and not (self.base / self.partition_file).is_file():
            return None
        folder, archive = self.base / "img_align_celeba", self.base / "img_align_celeba.zip"
        if folder.is_dir():
            return folder
        if archive.is_file():
            return archive
        return None

    def expected_location(self) -> str:
        base = self.base.resolve()
        where = f"{base / 'img_align_celeba'}/*.jpg (or {base / 'img_align_celeba.zip'})"
        return where if self.split == "all" else f"{where} and {base / self.partition_file}"

    def download_source(self) -> None:
        # Google Drive needs torchvision's confirm-token handling; it verifies the md5s itself.
        try:
            CelebA(str(self.root), split="all", target_type=[], download=True)
        except Exception as error:  # network errors surface as many types (URLError, gdown's, ...)
            raise self.not_found(f"torchvision's CelebA download failed: {type(error).__name__}: {error}") from error

    def source_stamp(self, source: Path) -> Any:
        stamp = super().source_stamp(source)
        if self.split != "all":
            stamp = (stamp, file_stamp(self.base / self.partition_file))
        return stamp

    def _wanted(self) -> set[str] | None:
        """File names in the chosen split, or None for all."""
        if self.split == "all":
            return None
        return {name for name, split in read_partition(self.base / self.partition_file) if split == SPLITS[self.split]}

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        wanted = self._wanted()
        if source.is_dir():
            names = sorted(p.name for p in source.iterdir() if p.is_file())
            items = [(name, str(source / name)) for name in names if wanted is None or name in wanted]
        else:
            members = zip_file_names(source)
            items = [
                (name, ZipMember(str(source), name)) for name in members if wanted is None or Path(name).name in wanted
            ]
        return items, len(items)
