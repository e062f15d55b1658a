"""Load a trained GAN from a checkpoint without running code from the checkpoint.

`torch.load(weights_only=True)` refuses pickled objects, and the module class is looked up by name in
an allow-list instead of importing whatever class path the file names: a checkpoint from someone
else can hold only tensors and plain data, and can only build the nets this package defines.
"""

import inspect
import pickle
import zipfile
from pathlib import Path

import torch

from gan_lightning.errors import UserError
from gan_lightning.gans.base import GANModule
from gan_lightning.gans.dcgan import DCGANModule
from gan_lightning.gans.wgan_gp import WGANGPModule

MODULES: dict[str, type[GANModule]] = {cls.__name__: cls for cls in (DCGANModule, WGANGPModule)}


class CheckpointError(UserError, ValueError):
    """The file is not a readable gan-lightning checkpoint."""


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu", mmap: bool = False) -> dict:
    """torch.load with weights_only=True, turning every failure into one clear CheckpointError.

    mmap=True maps the tensors instead of reading them: a cheap check of a file before a resume.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; its index is at the end
        raise CheckpointError(
            f"{path} is not a checkpoint: not the zip archive torch.save writes "
            "(a truncated file, or another kind of file)."
        )
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:  # a pickled object outside the allow-list
        # torch's message starts with advice to retry with weights_only=False; name the object instead.
        refused = [line for line in str(error).splitlines() if "GLOBAL" in line or "Unsupported" in line]
        raise CheckpointError(
            f"{path} holds pickled Python objects ({'; '.join(refused)[:300] or 'refused by weights_only'}). "
            "Loading them could run code, so it is refused; a gan-lightning checkpoint holds only tensors and "
            "plain data."
        ) from error
    except Exception as error:  # truncated zip, random bytes, a zip that is not a torch file ...
        raise CheckpointError(
            f"{path} is not a loadable checkpoint ({type(error).__name__}: {str(error).splitlines()[0][:300]}). "
            "It may be truncated or not a checkpoint at all."
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "gan_lightning" not in checkpoint:
        raise CheckpointError(f"{path} is not a gan-lightning checkpoint (no GAN state in it).")
    return checkpoint


def load_gan(path: str | Path, map_location: str | torch.device = "cpu") -> GANModule:
    """The GAN module saved in `path`, with its weights (incl. EMA and fixed noise), in eval mode."""
    checkpoint = read_checkpoint(path, map_location)
    name = checkpoint["gan_lightning"].get("module")
    if name not in MODULES:
        raise CheckpointError(f"{path}: unknown module {name!r}; this version knows {sorted(MODULES)}")
    cls = MODULES[name]
    accepted = _init_parameters(cls)
    hparams = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if k in accepted}
    module = cls(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    module.on_load_checkpoint(checkpoint)
    return module.to(map_location).eval()


def _init_parameters(cls: type) -> set[str]:
    """Every keyword the class's __init__ chain accepts (subclasses forward **kwargs to the base)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and issubclass(klass, GANModule):
            names |= set(inspect.signature(klass.__init__).parameters) - {"self", "kwargs"}
    return names
