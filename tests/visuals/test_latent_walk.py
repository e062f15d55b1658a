"""Spherical interpolation (Shoemake 1985) and seeded latent walks."""

import math

import pytest
import torch

from gan_lightning.visuals.latent_walk import slerp, walk_latents


def test_slerp_moves_at_constant_speed_along_the_great_circle():
    start = torch.tensor([1.0, 0.0, 0.0])
    end = torch.tensor([0.0, 0.0, 1.0])  # 90 degrees apart
    points = slerp(start, end, torch.linspace(0, 1, 7))
    assert torch.allclose(points[0], start) and torch.allclose(points[-1], end)
    assert torch.allclose(points.norm(dim=1), torch.ones(7), atol=1e-6)  # on the sphere, not through it
    # Point k of 7 is at angle k * 15 degrees: (cos, 0, sin).
    angles = torch.arange(7) * math.pi / 12
    expected = torch.stack([angles.cos(), torch.zeros(7), angles.sin()], dim=1)
    assert torch.allclose(points, expected, atol=1e-6)


def test_slerp_of_parallel_vectors_is_the_straight_line():
    start = torch.tensor([1.0, 2.0])
    points = slerp(start, 3 * start, torch.tensor([0.0, 0.5, 1.0]))
    assert torch.allclose(points, torch.stack([start, 2 * start, 3 * start]))


def test_walks_are_seeded_and_join_two_gaussian_latents():
    walks = walk_latents(num_walks=3, steps=5, latent_dim=16, seed=7)
    assert walks.shape == (3, 5, 16)
    assert torch.equal(walks, walk_latents(3, 5, 16, seed=7))
    assert not torch.equal(walks, walk_latents(3, 5, 16, seed=8))
    ends = torch.randn(3, 2, 16, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(walks[:, 0], ends[:, 0], atol=1e-6) and torch.allclose(walks[:, -1], ends[:, 1], atol=1e-6)
    # Every point lies in the plane of its walk's two ends.
    for walk, (a, b) in zip(walks, ends):
        basis = torch.linalg.qr(torch.stack([a, b], dim=1).double()).Q
        residual = walk.double().T - basis @ (basis.T @ walk.double().T)
        assert residual.abs().max() < 1e-5


def test_a_walk_needs_two_ends():
    with pytest.raises(ValueError, match="at least 2 steps"):
        walk_latents(2, 1, 8, seed=0)
