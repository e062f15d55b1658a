"""Fréchet Inception Distance of two feature sets (Heusel et al. 2017, arXiv:1706.08500)."""

import torch


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (divided by n - 1, as TTUR, pytorch-fid and torchmetrics) in float64."""
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors (N, D); got shape {tuple(features.shape)}")
    x = features.double()
    return x.mean(0), torch.cov(x.T)


def frechet_distance(mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), in float64.

    tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of S1 S2 (S1 S2 is similar to the
    positive semi-definite S1^(1/2) S2 S1^(1/2)): the formulation torchmetrics' FrechetInceptionDistance uses,
    which needs no matrix square root and stays fast when the covariances are singular (fewer samples than
    dimensions), where scipy.linalg.sqrtm crawls."""
    mean1, cov1, mean2, cov2 = (t.double() for t in (mean1, cov1, mean2.to(mean1.device), cov2.to(mean1.device)))
    trace_sqrt = torch.linalg.eigvals(cov1 @ cov2).sqrt().real.sum()
    return float((mean1 - mean2).square().sum() + cov1.trace() + cov2.trace() - 2 * trace_sqrt)
