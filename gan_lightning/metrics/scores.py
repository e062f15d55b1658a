"""Every metric of one set of generated images from one Inception pass: FID, KID, Inception Score and
precision/recall/density/coverage, each computed from the features `extract_features` returned."""

from dataclasses import dataclass

import torch

from gan_lightning.metrics.frechet import feature_statistics, frechet_distance
from gan_lightning.metrics.inception import LOGITS
from gan_lightning.metrics.inception_score import IS_SEED, IS_SPLITS, inception_score
from gan_lightning.metrics.kid import KID_SEED, KID_SUBSET_SIZE, KID_SUBSETS, kernel_inception_distance, kid_subset_size
from gan_lightning.metrics.prdc import PRDC_K, precision_recall_density_coverage
from gan_lightning.metrics.reference import Reference, statistics_subset

PRDC = ("precision", "recall", "density", "coverage")
METRICS = ("fid", "kid", "is", *PRDC)  # what --metrics accepts
HAS_STD = {"kid": "kid_std", "is": "is_std"}


@dataclass
class ScoreSettings:
    """The knobs of the metrics that have them (each default is the one the cited papers or torch-fidelity use)."""

    kid_subsets: int = KID_SUBSETS
    kid_subset_size: int = KID_SUBSET_SIZE
    kid_seed: int = KID_SEED
    is_splits: int = IS_SPLITS
    is_seed: int = IS_SEED
    prdc_k: int = PRDC_K


def parse_metrics(text: str) -> list[str]:
    """'fid,kid' -> ['fid', 'kid']; 'all' -> every metric; 'prdc' -> the four; an unknown name is a ValueError."""
    names: list[str] = []
    for name in (part.strip().lower() for part in text.split(",") if part.strip()):
        expanded = list(METRICS) if name == "all" else list(PRDC) if name == "prdc" else [name]
        unknown = [n for n in expanded if n not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)} (or prdc, all)")
        names += [n for n in expanded if n not in names]
    if not names:
        raise ValueError(f"no metric named; choose from {', '.join(METRICS)}")
    return names


def score(
    names: list[str],
    reference: Reference,
    fake: dict[str, torch.Tensor],
    layer: str,
    settings: ScoreSettings,
    head_problem: str | None = None,
) -> tuple[dict[str, float], dict[str, str], dict]:
    """(values, unavailable {metric: reason}, protocol details) of the metrics `names`.

    `fake` is extract_features' output: `layer` (pool features) and, for IS, the logits. `head_problem` says
    why the classifier's logits cannot be used (classifier_head_problem), which makes IS unavailable."""
    pool = fake[layer]
    values: dict[str, float] = {}
    unavailable: dict[str, str] = {}
    details: dict = {}
    if "fid" in names:
        values["fid"] = frechet_distance(reference.mean, reference.cov, *feature_statistics(pool))
    if "kid" in names:
        values["kid"], values["kid_std"] = kernel_inception_distance(
            reference.features, pool, settings.kid_subsets, settings.kid_subset_size, settings.kid_seed
        )
        size = kid_subset_size(settings.kid_subset_size, len(reference), len(pool))
        details |= {"kid_subsets": settings.kid_subsets, "kid_subset_size": size, "kid_seed": settings.kid_seed}
    if "is" in names:
        if head_problem is not None or LOGITS not in fake:
            unavailable["is"] = head_problem or "the extractor was built without the classifier's logits"
        else:
            values["is"], values["is_std"] = inception_score(fake[LOGITS], settings.is_splits, settings.is_seed)
            details |= {"is_splits": settings.is_splits, "is_seed": settings.is_seed}
    if any(name in names for name in PRDC):
        # Naeem et al. compare equal numbers of real and generated samples: a fixed random subset of the reals.
        real = reference.features[statistics_subset(len(reference), len(pool))]
        prdc = precision_recall_density_coverage(real, pool, settings.prdc_k)
        values |= {name: prdc[name] for name in PRDC if name in names}
        details |= {"prdc_k": settings.prdc_k, "prdc_n_real": len(real)}
    return values, unavailable, details
