"""Generators, discriminators and critics as plain nn.Modules, looked up by name from configs.

    build_generator("dcgan", latent_dim=100, image_size=64, channels=3, width=64)
    build_discriminator("wgan_gp", image_size=64, channels=3)

Options are plain JSON-able values (they come from YAML configs and live in checkpoints).
"""

import contextlib
import inspect
from collections.abc import Iterator

from torch import nn

from gan_lightning.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_lightning.nets.init import BATCH_NORMS, INIT_SCHEMES, init_weights
from gan_lightning.nets.upsample_dropout import DropoutDiscriminator, UpsampleGenerator
from gan_lightning.nets.wgan_gp import WGANGPCritic, WGANGPGenerator

GENERATORS: dict[str, type[nn.Module]] = {
    "dcgan": DCGANGenerator,
    "wgan_gp": WGANGPGenerator,
    "upsample": UpsampleGenerator,
}
DISCRIMINATORS: dict[str, type[nn.Module]] = {
    "dcgan": DCGANDiscriminator,
    "wgan_gp": WGANGPCritic,
    "dropout": DropoutDiscriminator,
}

# Arguments every net of a kind takes; everything else in its signature is an option.
_REQUIRED = {"latent_dim", "image_size", "channels"}


def net_options(cls: type[nn.Module]) -> dict[str, object]:
    """The options `cls` accepts, with their defaults."""
    params = inspect.signature(cls.__init__).parameters
    return {n: p.default for n, p in params.items() if n != "self" and n not in _REQUIRED}


def _build(kind: str, registry: dict[str, type[nn.Module]], name: str, args: dict, options: dict) -> nn.Module:
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; valid names: {', '.join(sorted(registry))}")
    cls = registry[name]
    valid = net_options(cls)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for {kind} {name!r} ({cls.__name__}); "
            f"valid options: {', '.join(valid) or 'none'}"
        )
    return cls(**args, **options)


def build_generator(name: str, latent_dim: int, image_size: int, channels: int, **options) -> nn.Module:
    """Build the generator registered as `name`; raises ValueError/TypeError on bad names/options."""
    args = dict(latent_dim=latent_dim, image_size=image_size, channels=channels)
    return _build("generator", GENERATORS, name, args, options)


def build_discriminator(name: str, image_size: int, channels: int, **options) -> nn.Module:
    """Build the discriminator or critic registered as `name`."""
    return _build("discriminator", DISCRIMINATORS, name, dict(image_size=image_size, channels=channels), options)


def has_batch_norm(module: nn.Module) -> bool:
    """True if `module` holds any batch norm layer (a WGAN-GP critic should not: the gradient
    penalty is per sample, and batch norm makes each sample's score depend on the batch)."""
    return any(isinstance(m, BATCH_NORMS) for m in module.modules())


SAMPLE_BATCH_NORM = ("running", "batch")


@contextlib.contextmanager
def sampling_mode(net: nn.Module, batch_norm: str = "running") -> Iterator[nn.Module]:
    """`net` set up to draw samples (dropout off), then restored as it was.

    batch_norm "running": eval mode, batch norm uses its running statistics, so a sample does not
    depend on the rest of its batch. "batch": batch norm normalises with the statistics of the
    sampled batch, as in training (d2l and PyTorch-GAN sample that way), and the running
    statistics are left untouched.
    """
    if batch_norm not in SAMPLE_BATCH_NORM:
        raise ValueError(f"batch_norm must be one of {SAMPLE_BATCH_NORM}; got {batch_norm!r}")
    modes = {m: m.training for m in net.modules()}
    norms = [m for m in net.modules() if isinstance(m, BATCH_NORMS)]
    tracking = [m.track_running_stats for m in norms]
    net.eval()
    if batch_norm == "batch":
        for norm in norms:
            norm.train()
            norm.track_running_stats = False  # train mode without updating the running statistics
    try:
        yield net
    finally:
        for norm, track in zip(norms, tracking):
            norm.track_running_stats = track
        for module, training in modes.items():
            module.training = training


__all__ = [
    "DCGANGenerator",
    "DCGANDiscriminator",
    "WGANGPGenerator",
    "WGANGPCritic",
    "UpsampleGenerator",
    "DropoutDiscriminator",
    "GENERATORS",
    "DISCRIMINATORS",
    "build_generator",
    "build_discriminator",
    "net_options",
    "has_batch_norm",
    "init_weights",
    "INIT_SCHEMES",
    "sampling_mode",
    "SAMPLE_BATCH_NORM",
]
