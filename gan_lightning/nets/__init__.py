"""Generators, discriminators and critics as plain nn.Modules, looked up by name from configs.

    build_generator("dcgan", latent_dim=100, image_size=64, channels=3, width=64)
    build_discriminator("wgan_gp", image_size=64, channels=3)

Options are plain JSON-able values (they come from YAML configs and live in checkpoints).
"""

import inspect

from torch import nn

from gan_lightning.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_lightning.nets.init import BATCH_NORMS, INIT_SCHEMES, init_weights
from gan_lightning.nets.sampling import SAMPLE_BATCH_NORM, sampling_mode
from gan_lightning.nets.sngan import SNGANDiscriminator, SNGANGenerator
from gan_lightning.nets.spectral_norm import add_spectral_norm
from gan_lightning.nets.upsample_dropout import DropoutDiscriminator, UpsampleGenerator
from gan_lightning.nets.wgan_gp import WGANGPCritic, WGANGPGenerator

GENERATORS: dict[str, type[nn.Module]] = {
    "dcgan": DCGANGenerator,
    "wgan_gp": WGANGPGenerator,
    "upsample": UpsampleGenerator,
    "sngan": SNGANGenerator,
}
DISCRIMINATORS: dict[str, type[nn.Module]] = {
    "dcgan": DCGANDiscriminator,
    "wgan_gp": WGANGPCritic,
    "dropout": DropoutDiscriminator,
    "sngan": SNGANDiscriminator,
}

# Arguments every net of a kind takes; everything else in its signature is an option.
_REQUIRED = {"latent_dim", "image_size", "channels"}


def net_options(cls: type[nn.Module]) -> dict[str, object]:
    """The options `cls` accepts, with their defaults."""
    params = inspect.signature(cls.__init__).parameters
    return {n: p.default for n, p in params.items() if n != "self" and n not in _REQUIRED}


def _build(
    kind: str, registry: dict[str, type[nn.Module]], name: str, args: dict, options: dict, shared: tuple[str, ...] = ()
) -> nn.Module:
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; valid names: {', '.join(sorted(registry))}")
    cls = registry[name]
    valid = [*net_options(cls), *shared]
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
    """Build the discriminator or critic registered as `name`.

    Every discriminator also takes `spectral_norm: true` (`add_spectral_norm`, applied after the
    net has built and initialised its layers).
    """
    spectral = options.pop("spectral_norm", False)
    if not isinstance(spectral, bool):
        raise TypeError(f"discriminator option spectral_norm must be true or false, got {spectral!r}")
    args = dict(image_size=image_size, channels=channels)
    net = _build("discriminator", DISCRIMINATORS, name, args, options, shared=("spectral_norm",))
    return add_spectral_norm(net) if spectral else net


def has_batch_norm(module: nn.Module) -> bool:
    """True if `module` holds any batch norm layer (a WGAN-GP critic should not: the gradient
    penalty is per sample, and batch norm makes each sample's score depend on the batch)."""
    return any(isinstance(m, BATCH_NORMS) for m in module.modules())


__all__ = [
    "DCGANGenerator",
    "DCGANDiscriminator",
    "WGANGPGenerator",
    "WGANGPCritic",
    "UpsampleGenerator",
    "DropoutDiscriminator",
    "SNGANGenerator",
    "SNGANDiscriminator",
    "GENERATORS",
    "DISCRIMINATORS",
    "build_generator",
    "build_discriminator",
    "net_options",
    "has_batch_norm",
    "init_weights",
    "add_spectral_norm",
    "INIT_SCHEMES",
    "sampling_mode",
    "SAMPLE_BATCH_NORM",
]
