"""Images laid out for people: captioned panels side by side, and tensors as uint8 (H, W, 3) arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gan_lightning.images import save_png
from gan_lightning.visuals.text import caption_above, text_scale

GAP = 8  # white pixels between panels


def to_rgb_array(grid: Tensor) -> np.ndarray:
    """uint8 (C, H, W) tensor (e.g. from gan_lightning.images.make_grid), grey or RGB -> uint8 (H, W, 3)."""
    array = grid.permute(1, 2, 0).numpy()
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def as_uint8_images(images: Tensor) -> Tensor:
    """Generator output in [-1, 1] -> uint8, rounded as the grid PNGs round it."""
    return images.float().clamp(-1, 1).add(1).mul(127.5).add(0.5).clamp(0, 255).to(torch.uint8)


def as_float_images(images: Tensor) -> Tensor:
    """uint8 images (a dataset's) -> floats in [-1, 1], the range make_grid takes."""
    return images.float() / 127.5 - 1


def side_by_side(panels: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Each (caption, uint8 (H, W, 3) image) captioned, then placed left to right on white, tops aligned."""
    scale = text_scale(min(image.shape[1] for _, image in panels))
    captioned = [caption_above(image, caption, scale) for caption, image in panels]
    height = max(image.shape[0] for image in captioned)
    width = sum(image.shape[1] for image in captioned) + GAP * (len(captioned) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for image in captioned:
        canvas[: image.shape[0], x : x + image.shape[1]] = image
        x += image.shape[1] + GAP
    return canvas


def save_figure(figure: np.ndarray, path: str | Path) -> None:
    """Write a uint8 (H, W, 3) figure as a PNG, atomically."""
    save_png(torch.from_numpy(np.ascontiguousarray(figure)).permute(2, 0, 1).contiguous(), path)
