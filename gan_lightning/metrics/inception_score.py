"""Inception Score (Salimans et al. 2016, arXiv:1606.03498): exp(E_x KL(p(y|x) || p(y))) over the Inception
classifier's 1008 classes, mean and std over 10 splits of the samples.

The computation is torch-fidelity's own (`isc_features_to_metric`, on the logits without bias as its
calculate_metrics(isc=True) uses), so the values equal torch-fidelity's on the same logits."""

import torch

IS_SPLITS = 10
IS_SEED = 2020  # torch-fidelity's default: the samples are shuffled with this seed before splitting


def inception_score(logits: torch.Tensor, splits: int = IS_SPLITS, seed: int = IS_SEED) -> tuple[float, float]:
    """(mean, std) of the Inception Score of `logits` (N, classes) over `splits` equal splits."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    if logits.ndim != 2 or len(logits) < splits:
        raise ValueError(f"Inception Score needs at least {splits} samples (one per split); got {len(logits)}")
    out = isc_features_to_metric(logits.detach().float().cpu(), splits=splits, shuffle=True, rng_seed=seed)
    return out[KEY_METRIC_ISC_MEAN], out[KEY_METRIC_ISC_STD]
