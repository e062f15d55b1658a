"""Each generated sample beside its nearest real images: does the generator copy its training set?

Distances are Euclidean between Inception-v3 pool3 features, the space FID is computed in (the
standard TF-Inception weights, found as FID finds them), as in the memorisation checks of BigGAN
(Brock et al. 2019, arXiv:1809.11096, appendix); with no weights on this machine, between pixels.
On a small dataset a sample identical to its nearest real image is a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gan_lightning.images import make_grid
from gan_lightning.metrics.inception import build_inception, to_fid_input
from gan_lightning.metrics.weights import resolve_fid_weights
from gan_lightning.visuals.panels import as_float_images, side_by_side, to_rgb_array


@dataclass
class FeatureSpace:
    """A name for people and a map from uint8 (B, C, H, W) images to (B, D) float features."""

    name: str
    embed: Callable[[Tensor], Tensor]


def inception_space(weights_path: str | None = None, device: str = "cpu") -> FeatureSpace | None:
    """Inception pool3 (2048-d) features with the FID weights, or None when no weights file is found."""
    path = resolve_fid_weights(weights_path, download=False, warn=False)
    if path is None:
        return None
    network = build_inception(path, ["2048"]).to(device)

    @torch.no_grad()
    def embed(images: Tensor) -> Tensor:
        (features,) = network(to_fid_input(images).to(device))
        return features.double().cpu()

    return FeatureSpace("Inception pool3 features", embed)


def pixel_space() -> FeatureSpace:
    """Raw pixels (0-255) as features: the fallback without Inception weights."""
    return FeatureSpace("pixels", lambda images: images.flatten(1).double())


def embed_all(space: FeatureSpace, images: Tensor, batch_size: int) -> Tensor:
    """Features of uint8 (N, C, H, W) `images`, computed `batch_size` at a time."""
    return torch.cat([space.embed(chunk) for chunk in images.split(batch_size)])


def nearest(queries: Tensor, pool: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(distances, indices), each (Q, k): the k rows of `pool` nearest each row of `queries`, nearest first."""
    distances = torch.cdist(queries.double(), pool.double())
    found = distances.topk(min(k, pool.shape[0]), dim=1, largest=False)
    return found.values, found.indices


def neighbours_figure(
    samples: Tensor, reals: Tensor, space: FeatureSpace, k: int = 5, batch_size: int = 64
) -> tuple[np.ndarray, Tensor]:
    """A figure: the uint8 `samples` in a column, each beside its `k` nearest `reals` (uint8) in `space`.

    Returns (uint8 (H, W, 3) figure, (N, k) indices into `reals`).
    """
    if samples.shape[1:] != reals.shape[1:]:
        raise ValueError(f"samples {tuple(samples.shape[1:])} and real images {tuple(reals.shape[1:])} differ in shape")
    _, indices = nearest(embed_all(space, samples, batch_size), embed_all(space, reals, batch_size), k)
    left = to_rgb_array(make_grid(as_float_images(samples), nrow=1))
    right = to_rgb_array(make_grid(as_float_images(reals[indices.flatten()]), nrow=indices.shape[1]))
    figure = side_by_side([("samples", left), (f"nearest real images ({space.name})", right)])
    return figure, indices
