"""Precision, recall, density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
Generative Models", arXiv:2002.09797), on the same Inception pool3 features as FID, with k = 5, as StudioGAN
reports them.

Each real sample gets a ball reaching its k-th nearest real neighbour (each fake one, for recall, its k-th
nearest fake neighbour):
- precision: share of fakes inside some real ball; recall: share of reals inside some fake ball
  (Kynkäänniemi et al. 2019, arXiv:1904.06991);
- density: real balls containing a fake, counted with multiplicity, / (k * fakes) (can exceed 1);
- coverage: share of reals whose ball contains a fake.

Written here rather than taken from the `prdc` package (not a dependency; numpy + scikit-learn, full distance
matrices in memory) so that the four share one pass over the distances, chunked, on any device. Comparisons
are strict (<), as the authors' code (github.com/clovaai/generative-evaluation-prdc) has them.
"""

import torch

PRDC_K = 5


def kth_neighbour_distances(features: torch.Tensor, k: int, chunk: int = 4096) -> torch.Tensor:
    """Distance of each row to its k-th nearest other row (the (k+1)-th smallest, the row itself being 0)."""
    if len(features) <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} samples; got {len(features)}")
    return torch.cat([torch.cdist(part, features).kthvalue(k + 1, dim=1).values for part in features.split(chunk)])


def precision_recall_density_coverage(
    real: torch.Tensor, fake: torch.Tensor, k: int = PRDC_K, chunk: int = 4096
) -> dict[str, float]:
    """{"precision", "recall", "density", "coverage"} of `fake` (M, D) against `real` (N, D), in float64."""
    real, fake = real.double(), fake.double().to(real.device)
    real_radii = kth_neighbour_distances(real, k, chunk)
    fake_radii = kth_neighbour_distances(fake, k, chunk)
    in_real_balls = torch.zeros(len(fake), dtype=torch.long, device=real.device)  # per fake: how many real balls
    real_covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)  # per real: a fake in its ball
    real_recalled = torch.zeros(len(real), dtype=torch.bool, device=real.device)  # per real: in some fake ball
    for start in range(0, len(real), chunk):
        rows = slice(start, start + chunk)
        distances = torch.cdist(real[rows], fake)  # (reals of this chunk, M)
        inside = distances < real_radii[rows, None]
        in_real_balls += inside.sum(0)
        real_covered[rows] = inside.any(1)
        real_recalled[rows] = (distances < fake_radii[None, :]).any(1)
    return {
        "precision": (in_real_balls > 0).double().mean().item(),
        "recall": real_recalled.double().mean().item(),
        "density": in_real_balls.double().sum().item() / (k * len(fake)),
        "coverage": real_covered.double().mean().item(),
    }
