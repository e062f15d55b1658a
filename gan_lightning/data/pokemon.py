"""The Pokemon sprites of d2l.ai's DCGAN chapter: pokemon.zip or the extracted pokemon/<class>/*.

https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gan_lightning.data.archives import zip_file_names
from gan_lightning.data.base import ImageDataModule
from gan_lightning.data.cache import iter_files
from gan_lightning.data.image import ZipMember
from gan_lightning.files import file_digest


class PokemonDataModule(ImageDataModule):
    """Images are read straight out of the zip (no extraction). Labels are unused."""

    name = "pokemon"
    url = "http://d2l-data.s3-accelerate.amazonaws.com/pokemon.zip"
    sha1 = "c065c0e2593b8b161a2d7873e42418bf6a21106c"
    archive_name = "pokemon.zip"
    folder_name = "pokemon"

    def expected_location(self) -> str:
        root = self.root.resolve()
        return f"{root / self.archive_name} (or the extracted {root / self.folder_name}/<class>/*.png)"

    def download_source(self) -> None:
        self.fetch(self.url, self.root / self.archive_name, ("sha1", self.sha1))

    def check_source(self, source: Path) -> None:
        # A file the user placed by hand is used even when its SHA-1 differs (a re-zip or a
        # stand-in set); a download with a wrong SHA-1 never gets here (download() deletes it).
        if source.is_file() and (digest := file_digest(source, "sha1")) != self.sha1:
            warnings.warn(
                f"{source} has SHA-1 {digest}, not d2l's {self.sha1}: it is not d2l's original pokemon.zip. "
                "Using it as is.",
                stacklevel=3,
            )

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        if source.is_dir():
            files = list(iter_files(source))
            return ((str(p.relative_to(source.parent)), str(p)) for p in files), len(files)
        names = zip_file_names(source)
        return ((name, ZipMember(str(source), name)) for name in names), len(names)
