"""The model and datamodule of a config file, built exactly as scripts/fit.py builds them.

Every script that takes a config (fit, evaluate, fid, benchmark, parity) goes through the one
LightningCLI parser of `gan_lightning.cli.GANCLI`: the same class paths, the same links (image size and
channels given once, under `data:`), the same defaults, validation and error messages. A run folder's
`config.yaml` (the resolved config fit.py saves) is a config file like any other.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from jsonargparse import Namespace

from gan_lightning.cli import GANCLI
from gan_lightning.data import ImageDataModule
from gan_lightning.gans import GANModule


class _ModelAndDataOnly(GANCLI):
    """GANCLI that stops once the model and datamodule exist: no run folder, no trainer, no loggers."""

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_trainer(self, **kwargs) -> None:
        return None


def build_from_config(config: str | Path, *overrides: str) -> tuple[GANModule, ImageDataModule, Namespace]:
    """(model, datamodule, resolved config) of `config` with fit.py-style `overrides` (e.g. "--data.root", "DIR").

    A bad key or value exits with the parser's message and status 2, as fit.py does. The global RNG is
    seeded from the config's `seed_everything`, as fit.py does, so the nets get the same initial weights.
    """
    with warnings.catch_warnings():
        # LightningCLI warns when args are given while sys.argv holds the calling script's own arguments.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        cli = _ModelAndDataOnly(args=["--config", str(config), *overrides])
    return cli.model, cli.datamodule, cli.config
