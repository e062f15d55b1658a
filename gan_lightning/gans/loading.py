"""Load a trained GAN from a checkpoint without running code from the checkpoint.

`torch.load(weights_only=True)` refuses pickled objects, and the module class is looked up among the
GANModule subclasses already imported in this process (`gan_module_classes`) instead of importing
whatever class path the file names: a checkpoint from someone else can hold only tensors and plain
data, and can only build classes that this package, or code the user chose to import, defines. A
new subclass needs no registration: once its module is imported (scripts/sample.py --import MODULE),
its checkpoints load.
"""

import importlib
import inspect
import pickle
import sys
import zipfile
from pathlib import Path

import torch

from gan_lightning.errors import UserError
from gan_lightning.gans.base import GANModule


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


def gan_module_classes() -> list[type[GANModule]]:
    """Every subclass of GANModule (at any depth) defined in a module imported in this process: the
    package's own (importing this module imports gan_lightning.gans) and those of imported user code."""
    found: list[type[GANModule]] = []
    pending = list(GANModule.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


def module_class(checkpoint: dict, path: str | Path = "checkpoint") -> type[GANModule]:
    """The imported GANModule subclass that wrote `checkpoint`; never imports anything.

    The class path that LightningCLI saves with the hyperparameters (`_class_path`, as written in the
    run's config) is looked up in the modules already imported; a checkpoint written from Python,
    without the CLI, is matched by the class name gan-lightning saves. CheckpointError otherwise,
    saying which module to import if it is trusted.
    """
    known = gan_module_classes()
    class_path = checkpoint.get("hyper_parameters", {}).get("_class_path")
    name = checkpoint["gan_lightning"].get("module")
    if isinstance(class_path, str):
        module_name, _, attribute = class_path.rpartition(".")
        # vars(), not getattr(): a lazy module's __getattr__ could import things.
        cls = vars(sys.modules[module_name]).get(attribute) if module_name in sys.modules else None
        if isinstance(cls, type) and cls in known:
            return cls
        wanted, module_to_import = class_path, module_name
    else:
        by_name = [cls for cls in known if cls.__name__ == name]
        if len(by_name) == 1:
            return by_name[0]
        wanted, module_to_import = repr(name), "MODULE"
    raise CheckpointError(
        f"{path} was written by {wanted}, which is not a GANModule subclass imported here "
        f"(known: {', '.join(sorted(cls.__name__ for cls in known))}). A checkpoint never makes gan-lightning "
        f"import code; if you trust the module that defines it, import it first "
        f"(scripts/sample.py --import {module_to_import})."
    )


def import_gan_modules(names: list[str]) -> None:
    """Import the modules that define a user's own GANModule subclasses (scripts' `--import MODULE`): only
    classes from imported modules can be loaded, and a checkpoint never names what gets imported."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise CheckpointError(f"--import {name}: {error}") from error


def load_gan(path: str | Path, map_location: str | torch.device = "cpu") -> GANModule:
    """The GAN module saved in `path`, with its weights (incl. EMA and fixed noise), in eval mode."""
    checkpoint = read_checkpoint(path, map_location)
    cls = module_class(checkpoint, path)
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
