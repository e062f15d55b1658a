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
    generator when kept, batch norm as its `sample_batch_norm` says) from seeded_noise. Under DDP each rank
    makes its contiguous share and every rank gets all of them, in sample order (a collective: all ranks call
    it). Samples are drawn in the batches one device draws (0..batch_size-1, ...) whatever the rank count, so
    a generator that samples with batch statistics gives the same images on any number of ranks."""
    noise, share = seeded_noise(num, module.latent_dim, seed), my_share(num)
    batches = (module.sample(noise[batch])[part] for batch, part in batches_of_share(share, batch_size, num))
    rank, _ = rank_and_world_size()
    features = extract_features(
        extractor,
        batches,
        total=share.stop - share.start,
        desc=f"{num} generated images",
        progress=progress and rank == 0,
    )
    return {layer: gather_rows(values) for layer, values in features.items()}


def batches_of_share(share: slice, batch_size: int, num: int) -> list[tuple[slice, slice]]:
    """(one device's batch, the part of it in `share`) for each batch that overlaps `share` (a rank's contiguous
    block of the `num` sample indices): slice(3, 12), batch_size 5, num 21 -> ([0:5], [3:5]), ([5:10], [0:5]),
    ([10:15], [0:2]). A rank draws a batch its share only partly covers whole and keeps its part."""
    starts = range(share.start // batch_size * batch_size, share.stop, batch_size)
    pairs = [(slice(a, min(a + batch_size, num)), slice(max(share.start, a) - a, min(share.stop, a + batch_size) - a))
             for a in starts]  # fmt: skip
    return [(batch, part) for batch, part in pairs if part.stop > part.start]
