"""The pictures of a trained generator that the report and scripts/sample.py show, each seeded.

- real vs fake: a grid of real images beside a grid of generated ones, as the PyTorch DCGAN
  tutorial ends (https://pytorch.org/tutorials/beginner/dcgan_faces_tutorial.html);
- latent walks (gan_lightning.visuals.latent_walk): one walk per row, and as animation frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gan_lightning.errors import UserError
from gan_lightning.gans import GANModule
from gan_lightning.gans.loading import load_gan
from gan_lightning.images import make_grid
from gan_lightning.visuals.latent_walk import walk_images
from gan_lightning.visuals.panels import as_float_images, side_by_side, to_rgb_array
from gan_lightning.visuals.real_images import CONFIG_NAME, dataset_images, real_subset


def generated(module: GANModule, num: int, seed: int, batch_size: int = 256) -> Tensor:
    """`num` seeded samples in [-1, 1] on the CPU (EMA generator when kept)."""
    return torch.cat([batch.cpu() for batch in module.sample_seeded(num, seed, batch_size)])


def real_vs_fake_figure(
    module: GANModule, reals: Tensor, num: int, seed: int, nrow: int = 8, caption: str = "generated"
) -> np.ndarray:
    """uint8 (H, W, 3): `num` seeded real images (a random subset of uint8 `reals`) beside `num` samples."""
    if reals.shape[1:] != (module.hparams.channels, module.hparams.image_size, module.hparams.image_size):
        raise ValueError(
            f"the real images are {tuple(reals.shape[1:])} but the generator makes "
            f"{(module.hparams.channels, module.hparams.image_size, module.hparams.image_size)}"
        )
    real = to_rgb_array(make_grid(as_float_images(real_subset(reals, num, seed)), nrow=nrow))
    fake = to_rgb_array(make_grid(generated(module, num, seed), nrow=nrow))
    return side_by_side([("real", real), (caption, fake)])


def walk_grid(walks: Tensor) -> np.ndarray:
    """(num_walks, steps, C, H, W) walk images -> uint8 (H, W, 3) grid, one walk per row."""
    num_walks, steps = walks.shape[:2]
    return to_rgb_array(make_grid(walks.flatten(0, 1), nrow=steps))


def walk_frames(walks: Tensor) -> list[np.ndarray]:
    """One frame per walk step (all walks side by side in a square-ish grid), there and back again."""
    num_walks, steps = walks.shape[:2]
    nrow = math.ceil(math.sqrt(num_walks))
    there = [to_rgb_array(make_grid(walks[:, step], nrow=nrow)) for step in range(steps)]
    return there + there[-2:0:-1]


@dataclass
class GeneratorPictures:
    """The report's pictures that need the generator (and the data): uint8 (H, W, 3) arrays, or why not."""

    real_vs_fake: np.ndarray | None = None
    latent_walk: np.ndarray | None = None
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PictureSettings:
    """How many images the report shows (the `report:` config section sets these), and their seed."""

    real_vs_fake: int = 32
    walks: int = 6
    walk_steps: int = 10
    seed: int = 0
    nrow: int = 8


def generator_pictures(
    module: GANModule, reals: Tensor | None, settings: PictureSettings, why_no_reals: str = "not available"
) -> GeneratorPictures:
    """Real vs fake (when `reals` are given) and latent walks of `module`, seeded by `settings.seed`."""
    pictures = GeneratorPictures()
    if reals is None:
        pictures.missing.append(f"No real vs generated: the run's real images are {why_no_reals}.")
    else:
        pictures.real_vs_fake = real_vs_fake_figure(module, reals, settings.real_vs_fake, settings.seed, settings.nrow)
    walks = walk_images(module, settings.walks, settings.walk_steps, settings.seed)
    pictures.latent_walk = walk_grid(walks)
    return pictures


def pictures_from_files(
    run_dir: Path, ckpt: Path, data_overrides: list[str], settings: PictureSettings, device: str = "cpu"
) -> GeneratorPictures:
    """The pictures of a run folder's generator (from `ckpt`) and data (from its config.yaml with
    fit.py-style `data_overrides`), or as many of them as can be made, with the reasons for the rest."""
    try:
        module = load_gan(ckpt, map_location=device)
    except UserError as error:
        return GeneratorPictures(missing=[f"No generator pictures: {error}"])
    config, reals, why = run_dir / CONFIG_NAME, None, ""
    if not config.is_file():
        why = f"unknown: no {config}"
    else:
        try:
            reals = dataset_images(config, *data_overrides)
        except UserError as error:  # data not found or damaged
            why = f"not available ({error}); pass --data.root DIR if the data has moved"
    return generator_pictures(module, reals, settings, why)
