"""Walks through latent space: images along spherical paths between seeded latent vectors.

Smooth changes along a walk, rather than sharp jumps, are the DCGAN paper's evidence that the
generator has not memorised its training set (Radford et al. 2015, arXiv:1511.06434, section 6.1).
The path is spherical (slerp, Shoemake 1985), not straight: Gaussian latents concentrate near a
sphere, and a straight line between two of them passes through improbably short vectors
(White 2016, "Sampling Generative Networks", arXiv:1609.04468).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gan_lightning.gans import GANModule


def slerp(start: Tensor, end: Tensor, weights: Tensor) -> Tensor:
    """Spherical interpolation of two (D,) vectors: for each t in `weights`, Shoemake's
    sin((1-t)w)/sin(w) * start + sin(tw)/sin(w) * end, w the angle between them. For vectors of equal
    norm this is the point a fraction t along the great-circle arc. Returns (len(weights), D); falls
    back to a straight line for (anti)parallel vectors, where the arc is not defined."""
    start, end = start.double(), end.double()
    weights = weights.double()[:, None]
    cos_angle = torch.dot(start, end) / (start.norm() * end.norm())
    angle = torch.arccos(cos_angle.clamp(-1.0, 1.0))
    if torch.sin(angle).abs() < 1e-6:
        return ((1 - weights) * start + weights * end).float()
    return ((torch.sin((1 - weights) * angle) * start + torch.sin(weights * angle) * end) / torch.sin(angle)).float()


def walk_latents(num_walks: int, steps: int, latent_dim: int, seed: int) -> Tensor:
    """(num_walks, steps, latent_dim): walk i goes from one seeded N(0, I) latent to another in `steps` steps."""
    if steps < 2:
        raise ValueError(f"a latent walk needs at least 2 steps (its two ends), got {steps}")
    if num_walks < 1:
        raise ValueError(f"the number of walks must be at least 1, got {num_walks}")
    ends = torch.randn(num_walks, 2, latent_dim, generator=torch.Generator().manual_seed(seed))
    weights = torch.linspace(0, 1, steps)
    return torch.stack([slerp(start, end, weights) for start, end in ends])


def walk_images(module: GANModule, num_walks: int, steps: int, seed: int, batch_size: int = 256) -> Tensor:
    """(num_walks, steps, C, H, W) images in [-1, 1] along seeded walks (EMA generator when kept)."""
    latents = walk_latents(num_walks, steps, module.latent_dim, seed)
    flat = latents.reshape(num_walks * steps, -1)
    images = torch.cat([module.sample(chunk).cpu() for chunk in flat.split(batch_size)])
    return images.reshape(num_walks, steps, *images.shape[1:])
