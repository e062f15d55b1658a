"""ImageDataModule: the shared base of every dataset.

A subclass only says where its files are and how to list the images in them. The base does the
rest: find or download the source, decode it once into a uint8 cache, serve uint8 batches from
memory with a resumable sharded sampler, and turn them into [-1, 1] floats (with optional random
flips) on the training device.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader, Dataset

from gan_lightning.data.cache import (
    FORMAT_VERSION,
    file_stamp,
    fingerprint,
    is_valid_cache,
    iter_files,
    read_cache,
    write_cache,
)
from gan_lightning.data.download import DownloadFailed, download
from gan_lightning.data.errors import CacheNotFoundError, DatasetNotFoundError
from gan_lightning.data.sampler import ResumableDistributedSampler, mix_seed


def default_cache_dir() -> Path:
    """$GAN_LIGHTNING_CACHE, else $XDG_CACHE_HOME/gan_lightning, else ~/.cache/gan_lightning.
    Not under `root`, which may be read-only (a shared data folder)."""
    if os.environ.get("GAN_LIGHTNING_CACHE"):
        return Path(os.environ["GAN_LIGHTNING_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gan_lightning"


class CachedImages(Dataset):
    """The in-memory uint8 images; __getitems__ lets the DataLoader fetch a whole batch with one
    tensor gather instead of B __getitem__ calls and a collate."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        return self.images[torch.as_tensor(indices)]


class ResumableDataLoader(DataLoader):
    """A DataLoader that tells Lightning it resumes mid-epoch exactly (Lightning warns otherwise).

    The position itself lives in the DataModule's state_dict, which Lightning restores before it
    asks for the loader; the sampler then starts at the checkpointed batch. So this loader has no
    state of its own to save."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass


def _batch_as_is(batch: torch.Tensor) -> torch.Tensor:
    """collate_fn: __getitems__ already returns the stacked batch (module-level so workers can pickle it)."""
    return batch


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range of a tanh generator: x / 127.5 - 1."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def check_split(split: str) -> str:
    """A dataset split name ("train", "test" or "all"), or a clear ValueError."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return split


class ImageDataModule(pl.LightningDataModule):
    """Base of all image datamodules. Subclasses set `name` and implement find_source,
    expected_location, list_images and (when downloadable) download_source.

    batch_size is the per-process batch of ONE discriminator update; a training step receives
    `batches_per_step` such batches concatenated (the model's n_critic: the CLI links the two).
    drop_last=False also trains on each epoch's last partial batch, as a plain
    DataLoader(shuffle=True) does (the recipes whose originals keep it set it in their config).
    """

    name: str = "images"
    url: str | None = None  # where the source is downloaded from (also named in error messages)
    crop: str = "stretch"

    def __init__(
        self,
        root: str = "data",
        image_size: int = 64,
        channels: int = 3,
        batch_size: int = 64,
        num_workers: int = 0,
        random_flip: bool = False,
        download: bool = True,
        cache_dir: str | None = None,
        seed: int = 0,
        batches_per_step: int = 1,
        drop_last: bool = True,
    ) -> None:
        super().__init__()
        if image_size < 1:
            raise ValueError(f"image_size must be a positive number of pixels, got {image_size}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be 0 or more, got {num_workers}")
        if batches_per_step < 1:
            raise ValueError(f"batches_per_step must be at least 1, got {batches_per_step}")
        self.save_hyperparameters()
        self.root = Path(root).expanduser()
        self.image_size = image_size
        self.channels = channels
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.random_flip = random_flip
        self.download = download
        self.seed = seed
        self.batches_per_step = batches_per_step
        self.drop_last = drop_last
        self.cache_dir = Path(cache_dir).expanduser().resolve() if cache_dir else default_cache_dir().resolve()
        self._cache_key: str | None = None
        self._images: torch.Tensor | None = None
        self._sampler: ResumableDistributedSampler | None = None
        # resume state: the epoch and how many of its loader batches training steps consumed
        self._epoch = 0
        self._consumed = 0
        self._resume_pending = False
        self._loader_batch_size = batch_size
        self._world_size = 1

    # ----- what a subclass provides -----------------------------------------------------------

    #: What a download leaves under root, and what unpacking it gives (for the default find_source).
    archive_name: str | None = None
    folder_name: str | None = None

    def find_source(self) -> Path | None:
        """The archive or extracted folder under root, or None when it is not there."""
        if self.archive_name is None and self.folder_name is None:
            raise NotImplementedError
        if self.archive_name and (archive := self.root / self.archive_name).is_file():
            return archive
        if self.folder_name and (folder := self.root / self.folder_name).is_dir():
            return folder
        return None

    def expected_location(self) -> str:
        """Where the files are expected, for error messages (exact paths)."""
        raise NotImplementedError

    def download_source(self) -> None:
        """Fetch the source into root; raise DatasetNotFoundError (via self.fetch) when impossible."""
        raise self.not_found(f"{type(self).__name__} has no download")

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        """(name, openable item) pairs in a stable order, and their count (None when unknown)."""
        raise NotImplementedError

    def source_options(self) -> tuple:
        """Subclass options that change which images are cached (e.g. the split)."""
        return ()

    def check_source(self, source: Path) -> None:
        """Called once before decoding a new cache (e.g. to warn about a checksum)."""

    def source_stamp(self, source: Path) -> Any:
        """Cheap fingerprint of the source: size and mtime of the archive, or of every file."""
        if source.is_dir():
            return [(str(p.relative_to(source)),) + file_stamp(p)[1:] for p in iter_files(source)]
        return file_stamp(source)

    # ----- locating, downloading, caching -----------------------------------------------------

    def not_found(self, reason: str) -> DatasetNotFoundError:
        """The one error for a dataset that is neither under root nor downloadable."""
        lines = [
            f"The {self.name} dataset was not found under {self.root.resolve()} and was not downloaded ({reason}).",
            f"  Expected: {self.expected_location()}",
        ]
        if self.url:
            lines += [
                f"  Download URL: {self.url}",
                "  To place it by hand: on a machine with internet access download the URL above, copy the "
                "file to the expected path, and run again with --data.root pointing at its folder.",
            ]
        return DatasetNotFoundError("\n".join(lines))

    def fetch(self, url: str, dest: Path, checksum: tuple[str, str] | None = None) -> Path:
        """download() that turns a network failure into DatasetNotFoundError."""
        try:
            return download(url, dest, checksum)
        except DownloadFailed as error:
            raise self.not_found(str(error)) from error

    def _locate(self, allow_download: bool) -> Path:
        source = self.find_source()
        if source is not None:
            return source
        if not allow_download:
            raise self.not_found("call prepare_data() first to download it")
        if not self.download:
            raise self.not_found("download=False; pass --data.download true to fetch it")
        self.download_source()
        source = self.find_source()
        if source is None:
            raise self.not_found("the download finished but its files are not where expected")
        return source

    def _key_for(self, source: Path) -> str:
        digest = fingerprint(
            self.name,
            self.source_stamp(source),
            self.source_options(),
            self.image_size,
            self.channels,
            self.crop,
            FORMAT_VERSION,
        )
        return f"{self.name}-{self.image_size}px-{self.channels}ch-{digest}"

    @property
    def cache_key(self) -> str:
        """Filename-safe and unique to (dataset, source fingerprint, options, size, channels);
        also names caches derived from the data, such as FID statistics of the real images."""
        if self._cache_key is None:
            self._cache_key = self._key_for(self._locate(allow_download=False))
        return self._cache_key

    @property
    def cache_path(self) -> Path:
        return self.cache_dir / f"{self.cache_key}.npy"

    def prepare_data(self) -> None:
        """Find or download the source and decode it once into the cache (once per node)."""
        source = self._locate(allow_download=True)
        self._cache_key = self._key_for(source)
        if is_valid_cache(self.cache_path):
            return
        items, total = self.list_images(source)  # first: an archive that cannot be listed gets no checksum warning
        self.check_source(source)
        write_cache(self.cache_path, items, self.image_size, self.channels, self.crop, total, source=str(source))

    def setup(self, stage: str | None = None) -> None:
        """Memory-map the cache (every rank; only local rank 0 ran prepare_data)."""
        if self._images is not None:
            return
        if not is_valid_cache(self.cache_path):
            if self.trainer is not None and self.trainer.world_size > 1:
                raise CacheNotFoundError(
                    f"No decoded cache at {self.cache_path}. prepare_data() writes it once per node (local "
                    "rank 0); every rank on the node must see the same cache_dir."
                )
            self.prepare_data()
        self._images = read_cache(self.cache_path)

    def images(self) -> torch.Tensor:
        """The whole cached dataset, uint8 (N, C, H, W) on the CPU (e.g. for FID statistics)."""
        if self._images is None:
            self.setup()
        assert self._images is not None
        return self._images

    # ----- serving batches --------------------------------------------------------------------

    def train_dataloader(self) -> DataLoader:
        """uint8 batches of batches_per_step * batch_size images (and, with drop_last=False, a last
        partial batch of a multiple of batches_per_step images)."""
        images = self.images()
        trainer = self.trainer
        loader_batch = self.batches_per_step * self.batch_size
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        dataset = CachedImages(images)
        if self._resume_pending:
            sampler = ResumableDistributedSampler.resuming(
                dataset, loader_batch, world, rank, self.seed, self._epoch, self._consumed,
                self._loader_batch_size, self._world_size, self.drop_last, self.batches_per_step,
            )  # fmt: skip
            if sampler.resharded:
                rank_zero_warn(
                    f"Resuming with {world} ranks x {loader_batch} images per loader batch, but the checkpoint "
                    f"was written with {self._world_size} x {self._loader_batch_size}: the resumed epoch "
                    "continues at the same fraction, not with exactly the same images."
                )
        else:
            epoch = trainer.current_epoch if trainer else self._epoch
            sampler = ResumableDistributedSampler(
                dataset, loader_batch, world, rank, self.seed, epoch, 0, self.drop_last, self.batches_per_step
            )
        self._resume_pending = False
        if sampler.batches_per_epoch == 0:
            raise ValueError(
                f"{self.name} has {len(images)} images, fewer than one batch of {loader_batch} per rank on "
                f"{world} rank(s); lower --data.batch_size."
            )
        self._epoch, self._consumed = sampler.start_epoch, sampler.start_batch
        self._loader_batch_size, self._world_size = loader_batch, world
        self._sampler = sampler
        used = sampler.total_size
        batches = f"{sampler.batches_per_epoch} batches of {loader_batch}"
        if sampler.last_batch_size != loader_batch:
            batches = f"{sampler.batches_per_epoch - 1} batches of {loader_batch} and one of {sampler.last_batch_size}"
        leftover = len(images) - used
        rank_zero_info(
            f"{self.name}: each epoch uses {used} of {len(images)} images ({batches} per rank x {world} rank(s))"
            + (f"; the {leftover} left over differ each epoch because of the shuffle." if leftover else ".")
        )
        pin = trainer is not None and trainer.strategy.root_device.type == "cuda"
        return ResumableDataLoader(
            dataset,
            batch_size=loader_batch,
            sampler=sampler,
            drop_last=self.drop_last,
            num_workers=self.num_workers,
            collate_fn=_batch_as_is,
            pin_memory=pin,
            persistent_workers=self.num_workers > 0,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """On the training device: uint8 -> float [-1, 1], then (random_flip) mirror a random half.

        Lightning calls this once per batch that enters a training step, so it also counts the
        consumed batches for exact resume. The flips come from a generator seeded with
        (seed, epoch, batch index, rank) on the batch's device: reproducible, identical after a
        resume, and without a host sync. Batches that aren't uint8 images pass through untouched.
        """
        if not (isinstance(batch, torch.Tensor) and batch.dtype == torch.uint8):
            return batch
        images = uint8_to_float(batch)
        if self.trainer is not None and not self.trainer.training:
            return images
        epoch = self._sampler.epoch if self._sampler is not None else self._epoch
        if epoch != self._epoch:
            self._epoch, self._consumed = epoch, 0
        index = self._consumed
        self._consumed += 1
        if self.random_flip:
            rank = self._sampler.rank if self._sampler is not None else 0
            generator = torch.Generator(device=images.device).manual_seed(mix_seed(self.seed, epoch, index, rank))
            flip = torch.rand(images.shape[0], generator=generator, device=images.device) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
        return images

    def state_dict(self) -> dict[str, Any]:
        """What exact resume needs: the epoch and the loader batches training steps consumed in it."""
        return {
            "epoch": self._epoch,
            "batches_consumed": self._consumed,
            "loader_batch_size": self._loader_batch_size,
            "world_size": self._world_size,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """The next train_dataloader() continues at the checkpointed batch."""
        self._epoch = int(state_dict["epoch"])
        self._consumed = int(state_dict["batches_consumed"])
        self._loader_batch_size = int(state_dict.get("loader_batch_size", self._loader_batch_size))
        self._world_size = int(state_dict.get("world_size", self._world_size))
        self._resume_pending = True
