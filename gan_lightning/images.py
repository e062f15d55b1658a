"""Generated images as files: a batch in [-1, 1] to a uint8 grid, and a grid to a PNG."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import Tensor

from gan_lightning.files import atomic_write


def make_grid(images: Tensor, nrow: int) -> Tensor:
    """Images in [-1, 1] (B, C, H, W) -> one uint8 (C, H, W) grid on the CPU, 2 pixels between cells."""
    grid = torchvision.utils.make_grid(images.float().cpu(), nrow=nrow, padding=2, normalize=True, value_range=(-1, 1))
    return grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def save_png(image: Tensor, path: str | Path) -> None:
    """Write a uint8 (C, H, W) image as a PNG, atomically (a crash never leaves half a file)."""
    with atomic_write(path) as tmp:
        torchvision.io.write_png(image, str(tmp))
