"""Metrics of a generator against one dataset: the part training's callback and scripts/evaluate.py share, so
that both give the same number for the same samples and reference.

One Inception pass per image set (real images once, then cached; each generator's samples once) feeds every
metric asked for. Under DDP every method here is a collective: the samples are split over the ranks, the
scores are computed on rank 0 and broadcast, so every rank returns rank 0's values.
"""

import time

import torch

from gan_lightning.metrics.distributed import broadcast_from_rank_zero, gather_rows, my_share, rank_and_world_size
from gan_lightning.metrics.generated import generated_features
from gan_lightning.metrics.inception import (
    LOGITS,
    NETWORK,
    RESIZE,
    build_inception,
    classifier_head_problem,
    extract_features,
)
from gan_lightning.metrics.reference import (
    Reference,
    load_or_compute_reference,
    reference_cache_path,
    reference_count,
    statistics_subset,
)
from gan_lightning.metrics.scores import ScoreSettings, score


class Evaluator:
    """The feature network, the reference of one dataset (loaded at the first evaluation) and the metrics."""

    def __init__(
        self,
        extractor: torch.nn.Module,
        names: list[str],
        layer: str = "2048",
        real_max_images: int | None = 50_000,
        batch_size: int = 250,
        settings: ScoreSettings | None = None,
        weights: str | None = None,
    ) -> None:
        """`extractor`: a torch-fidelity feature extractor giving `layer` (and the logits when IS is asked for);
        `weights` names its weights file in the protocol."""
        self.extractor = extractor
        self.names = list(names)
        self.layer = layer
        self.real_max_images = real_max_images
        self.batch_size = batch_size
        self.settings = settings or ScoreSettings()
        self.weights = weights or type(extractor).__name__
        self.head_problem = classifier_head_problem(extractor) if "is" in names else None
        self.reference: Reference | None = None
        self.reference_info: dict | None = None

    @classmethod
    def from_weights(cls, weights_path: str, names: list[str], layer: str = "2048", **kwargs) -> "Evaluator":
        """With torch-fidelity's Inception loaded from `weights_path`, giving what `names` need in one pass."""
        extractor = build_inception(weights_path, [layer] + ([LOGITS] if "is" in names else []))
        return cls(extractor, names, layer, weights=weights_path, **kwargs)

    def to(self, device: torch.device | str) -> "Evaluator":
        self.extractor = self.extractor.to(device)
        return self

    @property
    def reference_loaded(self) -> bool:
        """Whether load_reference ran (on every rank; only rank 0 holds the features)."""
        return self.reference_info is not None

    def reference_is_cached(self, datamodule) -> bool:
        """Whether the reference's cache file exists (a cheap look, for the cost estimate; not validated)."""
        return reference_cache_path(datamodule, self.layer, self.real_max_images).is_file()

    def load_reference(self, datamodule, progress: bool = True) -> float:
        """Load (or compute and cache) the reference of `datamodule`'s images; returns the seconds it took."""
        start = time.perf_counter()
        images = datamodule.images()
        self.reference = load_or_compute_reference(
            self.extractor,
            self.layer,
            images,
            reference_cache_path(datamodule, self.layer, self.real_max_images),
            self.batch_size,
            self.real_max_images,
            progress,
        )
        self.reference_info = {
            "dataset": datamodule.name,
            "reference_split": getattr(datamodule, "split", "all (the dataset has one split)"),
            "n_real": reference_count(len(images), self.real_max_images),
        }
        return time.perf_counter() - start

    @torch.no_grad()
    def evaluate_generator(self, module: torch.nn.Module, num: int, seed: int, progress: bool = True) -> dict:
        """{"metrics", "unavailable", "protocol"} of `num` samples of `module` (latents seeded with `seed`)."""
        fake = generated_features(module, self.extractor, num, seed, self.batch_size, progress)
        return self._scores(fake, {"n_fake": num, "latent_seed": seed})

    @torch.no_grad()
    def evaluate_images(self, images: torch.Tensor, max_images: int | None, progress: bool = True) -> dict:
        """The same for real images (e.g. another split of the dataset): a fixed random `max_images` of them."""
        picked = images[statistics_subset(len(images), max_images)]
        share = picked[my_share(len(picked))]
        rank, _ = rank_and_world_size()
        features = extract_features(
            self.extractor, share.split(self.batch_size), len(share), f"{len(picked)} images", progress and rank == 0
        )
        return self._scores({k: gather_rows(v) for k, v in features.items()}, {"n_fake": len(picked)})

    def _scores(self, fake: dict[str, torch.Tensor], protocol: dict) -> dict:
        if self.reference_info is None:
            raise RuntimeError("Evaluator: call load_reference(datamodule) before evaluating")
        result = None
        # Rank 0 alone scores: score() is local arithmetic with no collective, so the other ranks simply wait in
        # the broadcast below. An error on rank 0 is broadcast too and raised on every rank, rather than
        # leaving the others waiting for a value that never comes.
        if rank_and_world_size()[0] == 0:
            try:
                values, unavailable, details = score(
                    self.names, self.reference, fake, self.layer, self.settings, self.head_problem
                )
                result = {
                    "metrics": values,
                    "unavailable": unavailable,
                    "protocol": {**self.protocol(), **protocol, **details},
                }
            except ValueError as error:
                result = {"error": str(error)}
        result = broadcast_from_rank_zero(result)
        if "error" in result:
            raise ValueError(result["error"])
        return result

    def protocol(self) -> dict:
        """How the numbers were made, beside the numbers."""
        layer = f"{self.layer}-d" + (" (pool3)" if self.layer == "2048" else " (an early tap: a quick check, not FID)")
        return {**(self.reference_info or {}), "network": NETWORK, "features": layer, "resize": RESIZE,
                "weights": self.weights}  # fmt: skip
