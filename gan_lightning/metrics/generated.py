"""Inception features of a generator's samples, made the same way by training and by scripts/evaluate.py."""

import torch

from gan_lightning.metrics.distributed import gather_rows, my_share, rank_and_world_size
from gan_lightning.metrics.inception import extract_features


def seeded_noise(num: int, latent_dim: int, seed: int) -> torch.Tensor:
    """The latents of samples 0..num-1, drawn on the CPU with `seed`: the same on every device and rank count,
    and the same as GANModule.sample_seeded draws."""
    return torch.randn(num, latent_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def generated_features(
    module: torch.nn.Module,
    extractor: torch.nn.Module,
    num: int,
    seed: int,
    batch_size: int,
    progress: bool = True,
) -> dict[str, torch.Tensor]:
    """Features (extract_features' layers) of `num` samples of `module`'s generator (its `sample`: the EMA
    generator when kept, in eval mode) from seeded_noise. Under DDP each rank makes its contiguous share and
    every rank gets all of them, in sample order (a collective: all ranks call it)."""
    noise = seeded_noise(num, module.latent_dim, seed)[my_share(num)]
    batches = (module.sample(chunk) for chunk in noise.split(batch_size))
    rank, _ = rank_and_world_size()
    features = extract_features(
        extractor, batches, total=len(noise), desc=f"{num} generated images", progress=progress and rank == 0
    )
    return {layer: gather_rows(values) for layer, values in features.items()}
