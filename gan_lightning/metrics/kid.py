"""Kernel Inception Distance (Bińkowski et al. 2018, arXiv:1801.01401): the unbiased MMD² estimate with the
cubic polynomial kernel k(x, y) = (x·y / d + 1)^3, averaged over random subsets. Unbiased, so unlike FID it
does not grow as the sample shrinks: the number to compare on small datasets.

The computation is torch-fidelity's own (`kid_features_to_metric`), with its defaults, so the values equal
torch-fidelity's `calculate_metrics(kid=True)` on the same features."""

import torch

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_SEED = 2020  # torch-fidelity's default rng_seed: the same subsets as its calculate_metrics


def kid_subset_size(subset_size: int, n_real: int, n_fake: int) -> int:
    """The subset size actually used: at most the smaller set (torch-fidelity refuses larger subsets)."""
    return min(subset_size, n_real, n_fake)


def kernel_inception_distance(
    real: torch.Tensor,
    fake: torch.Tensor,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = KID_SEED,
) -> tuple[float, float]:
    """(mean, std) of KID over `subsets` random subsets of min(subset_size, n_real, n_fake) of each set."""
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    size = kid_subset_size(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError(f"KID needs at least 2 real and 2 generated images; got {len(real)} and {len(fake)}")
    # torch-fidelity's argument order: generated first, real second (its subsets are drawn in that order).
    out = kid_features_to_metric(
        fake.detach().float().cpu(),
        real.detach().float().cpu(),
        kid_subsets=subsets,
        kid_subset_size=size,
        rng_seed=seed,
        verbose=False,
    )
    return out[KEY_METRIC_KID_MEAN], out[KEY_METRIC_KID_STD]
