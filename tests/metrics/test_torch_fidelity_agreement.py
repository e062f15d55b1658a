"""Our FID, KID and IS equal torch-fidelity's calculate_metrics on the same images (0.5% relative): with a
small network registered with torch-fidelity (all three, IS included, on identical logits), and with the
converted TF-Inception weights (FID and KID; the converted file has no classifier, so no IS)."""

import pytest
import torch
import torch_fidelity
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from gan_lightning.data import DemoDataModule
from gan_lightning.data.base import CachedImages
from gan_lightning.metrics.evaluation import Evaluator
from gan_lightning.metrics.scores import ScoreSettings
from tests.conftest import needs_fid_helper
from tests.metrics.conftest import SMALL, SmallExtractor, random_images

THEIR_KEYS = {
    "fid": "frechet_inception_distance",
    "kid": "kernel_inception_distance_mean",
    "kid_std": "kernel_inception_distance_std",
    "is": "inception_score_mean",
    "is_std": "inception_score_std",
}


class Images(CachedImages):
    """uint8 (N, 3, H, W) one image at a time (no batch fetch): what torch-fidelity's loader collates."""

    __getitems__ = None


def demo_data(tmp_path, num_images: int) -> DemoDataModule:
    data = DemoDataModule(image_size=16, num_images=num_images, cache_dir=str(tmp_path / "cache"))
    data.prepare_data()
    data.setup()
    return data


def ours_and_theirs(evaluator: Evaluator, data: DemoDataModule, fake: torch.Tensor, network: str, **extra) -> tuple:
    """Our metrics of `fake` against `data`, and torch-fidelity's on the same images with the network it
    knows as `network`, on the layer our evaluator uses (and the logits for IS when ours asks for them)."""
    evaluator.load_reference(data, progress=False)
    ours = evaluator.evaluate_images(fake, max_images=None, progress=False)["metrics"]
    settings, isc = evaluator.settings, "is" in evaluator.names
    theirs = torch_fidelity.calculate_metrics(
        input1=Images(fake),
        input2=Images(data.images()),
        fid=True,
        kid=True,
        isc=isc,
        feature_extractor=network,
        feature_layer_fid=evaluator.layer,
        feature_layer_kid=evaluator.layer,
        **({"feature_layer_isc": "logits_unbiased"} if isc else {}),
        cuda=False,
        batch_size=evaluator.batch_size,
        kid_subsets=settings.kid_subsets,
        kid_subset_size=settings.kid_subset_size,
        verbose=False,
        cache=False,
        **extra,
    )
    return ours, {key: theirs[their_key] for key, their_key in THEIR_KEYS.items() if their_key in theirs}


def test_fid_kid_and_is_equal_torch_fidelity_on_a_registered_network(tmp_path):
    if SMALL not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(SMALL, SmallExtractor)
    data = demo_data(tmp_path, 60)
    fake = random_images(50, seed=1, size=16)
    settings = ScoreSettings(kid_subsets=20, kid_subset_size=25)
    evaluator = Evaluator(SmallExtractor(), ["fid", "kid", "is"], "feat", None, batch_size=16, settings=settings)
    ours, theirs = ours_and_theirs(evaluator, data, fake, SMALL)
    assert set(ours) == set(theirs) == set(THEIR_KEYS)
    assert ours["fid"] > 0.1 and ours["kid"] > 0 and ours["is"] > 1.05  # far from the values of equal sets
    for key in THEIR_KEYS:
        assert ours[key] == pytest.approx(theirs[key], rel=5e-3), key


@needs_fid_helper
def test_fid_and_kid_with_the_converted_inception_equal_torch_fidelity(tmp_path, converted_weights):
    """The 64-d tap keeps the CPU time small; the extractor, its resize and our image handling are the ones
    the 2048-d FID uses."""
    weights = str(converted_weights[0])
    data = demo_data(tmp_path, 12)
    fake = random_images(12, seed=1, size=16)
    settings = ScoreSettings(kid_subsets=10, kid_subset_size=6)
    evaluator = Evaluator.from_weights(weights, ["fid", "kid"], "64", real_max_images=None, batch_size=12)
    evaluator.settings = settings
    ours, theirs = ours_and_theirs(evaluator, data, fake, "inception-v3-compat", feature_extractor_weights_path=weights)
    assert set(ours) == set(theirs) == {"fid", "kid", "kid_std"}
    assert ours["fid"] > 1 and ours["kid"] > 0
    for key in ours:
        assert ours[key] == pytest.approx(theirs[key], rel=5e-3), key
