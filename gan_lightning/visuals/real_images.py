"""A run's real images: its dataset, built from the run's resolved config, and seeded subsets of it."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from gan_lightning.errors import UserError

CONFIG_NAME = "config.yaml"


class NoRunConfigError(UserError, FileNotFoundError):
    """A checkpoint or run folder without the resolved config.yaml that says what its data is."""


def run_config_of_checkpoint(ckpt: str | Path) -> Path:
    """The `config.yaml` of the run a checkpoint belongs to: `<run>/checkpoints/x.ckpt` -> `<run>/config.yaml`."""
    ckpt = Path(ckpt)
    for folder in (ckpt.parent, ckpt.parent.parent):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    raise NoRunConfigError(
        f"no {CONFIG_NAME} beside {ckpt} or in its run folder ({ckpt.parent.parent}): the real images come from "
        "the dataset of the run's resolved config, which fit.py saves in the run folder. Copy it there, or "
        "give it with --config."
    )


def dataset_images(config: str | Path, *overrides: str) -> Tensor:
    """All images of a config's dataset, uint8 (N, C, H, W), with fit.py-style `overrides` (`--data.root`, DIR).

    Finds or downloads the data and decodes it into the cache exactly as training does.
    """
    # Here, not at the top: gan_lightning.config builds on the CLI, which imports the callbacks that use this module.
    from gan_lightning.config import build_from_config

    _, datamodule, _ = build_from_config(config, *overrides)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule.images()


def real_subset(images: Tensor, max_images: int | None, seed: int) -> Tensor:
    """All `images`, or a seeded random subset of `max_images` of them (in dataset order)."""
    if max_images is None or max_images >= len(images):
        return images
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:max_images]
    return images[order.sort().values]
