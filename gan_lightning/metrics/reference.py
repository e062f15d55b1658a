"""Reference features: the Inception features of a dataset's real images, computed once and cached on disk.

The cache holds the features themselves (float32, for KID and precision/recall/density/coverage) and their
float64 mean and covariance (for FID), keyed by what determines them: the extractor's weights, the layer and
the exact images. It is written at the first evaluation, not before training starts.
"""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from pytorch_lightning.utilities import rank_zero_warn

from gan_lightning.files import atomic_write
from gan_lightning.metrics.distributed import broadcast_from_rank_zero, gather_rows, my_share, rank_and_world_size
from gan_lightning.metrics.frechet import feature_statistics
from gan_lightning.metrics.inception import extract_features, extractor_fingerprint, tensor_bytes

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 1 held torchmetrics' feature sums only


@dataclass
class Reference:
    """The real images' features (float32, CPU) and their float64 mean and covariance."""

    features: torch.Tensor
    mean: torch.Tensor
    cov: torch.Tensor

    def __len__(self) -> int:
        return len(self.features)


def reference_count(num_images: int, max_images: int | None) -> int:
    """How many real images the reference uses: all, or `max_images` of them."""
    return num_images if max_images is None else min(num_images, max_images)


def reference_cache_path(datamodule, layer: str, max_images: int | None) -> Path:
    """The one place the cache file is named: `<data cache>/fid/<dataset key>-inception<layer>-n<count>.pt`.
    The dataset key (gan_lightning.data) already names the dataset, its source files, split, size and channels."""
    count = reference_count(len(datamodule.images()), max_images)
    return Path(datamodule.cache_dir) / "fid" / f"{datamodule.cache_key}-inception{layer}-n{count}.pt"


def statistics_subset(num_images: int, max_images: int | None) -> torch.Tensor:
    """Indices of the real images the reference uses: all, or a fixed-seed random `max_images` of them
    (in order). Not the first `max_images`: datasets made of class folders are stored sorted by class,
    and the first 50,000 of MNIST's shared copy hold no 8s or 9s."""
    if max_images is None or max_images >= num_images:
        return torch.arange(num_images)
    return torch.randperm(num_images, generator=torch.Generator().manual_seed(0))[:max_images].sort().values


def images_fingerprint(images: torch.Tensor) -> str:
    """sha256 of shape and of up to 64 evenly spaced images: tells e.g. MNIST from Fashion-MNIST (same shape)
    without hashing the whole dataset."""
    picks = torch.linspace(0, len(images) - 1, min(len(images), 64)).long()
    digest = hashlib.sha256(str(tuple(images.shape)).encode())
    digest.update(tensor_bytes(images[picks.to(images.device)]))
    return digest.hexdigest()


def read_reference_cache(cache_file: Path, key: dict) -> Reference | None:
    """The cached reference if `cache_file` exists and was made with the same `key`, else None."""
    if not cache_file.is_file():
        return None
    try:
        cached = torch.load(cache_file, map_location="cpu", weights_only=True)
    except Exception as err:
        rank_zero_warn(f"ignoring unreadable FID reference cache {cache_file} ({err}); recomputing it")
        return None
    stale = [name for name, value in key.items() if cached.get(name) != value]
    if stale:
        log.info("FID reference cache %s does not match (%s); recomputing", cache_file, ", ".join(stale))
        return None
    return Reference(cached["features"], cached["mean"], cached["cov"])


def load_or_compute_reference(
    extractor: torch.nn.Module,
    layer: str,
    images_uint8: torch.Tensor,
    cache_file: Path,
    batch_size: int = 250,
    max_images: int | None = None,
    progress: bool = True,
) -> Reference | None:
    """The reference of `images_uint8` (N, 1 or 3, H, W), or of a fixed random `max_images` of them
    (statistics_subset), from `cache_file` when it was made with the same extractor, layer and images, else
    computed and cached (written atomically).

    Under DDP every rank calls this (it holds collectives): rank 0 reads the cache and tells the others whether
    it is valid; if not, each rank extracts the features of its contiguous share of the images, and rank 0
    gathers them and writes the cache. Rank 0 returns the reference, the other ranks None: the scores are
    computed on rank 0."""
    images = images_uint8[statistics_subset(len(images_uint8), max_images)]
    if images.ndim != 4 or len(images) < 2:
        raise ValueError(
            f"real FID images must be (N >= 2, C, H, W); got {tuple(images_uint8.shape)}, max_images={max_images}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rank, _ = rank_and_world_size()
    key = {
        "format": CACHE_FORMAT,
        "extractor": extractor_fingerprint(extractor),
        "layer": layer,
        "num_images": len(images),
        "image_shape": list(images.shape[1:]),
        "images": images_fingerprint(images),
    }
    # Rank 0 alone reads the cache (file IO, no collective); its verdict is every rank's.
    cached = read_reference_cache(Path(cache_file), key) if rank == 0 else None
    if not broadcast_from_rank_zero(cached is None):
        return cached
    share = images[my_share(len(images))]
    features = extract_features(
        extractor,
        share.split(batch_size),
        total=len(share),
        desc=f"FID reference: {len(images)} real images",
        progress=progress and rank == 0,
    )[layer]
    features = gather_rows(features)
    if rank != 0:  # the rest is rank 0's file IO and arithmetic, no collective: the others may go on
        return None
    features = features.cpu()
    mean, cov = feature_statistics(features)
    with atomic_write(cache_file) as tmp:
        torch.save({**key, "features": features, "mean": mean, "cov": cov}, tmp)
    return Reference(features, mean, cov)
