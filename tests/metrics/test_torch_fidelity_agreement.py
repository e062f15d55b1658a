"""Our FID, KID and IS equal torch-fidelity's calculate_metrics on the same images (0.5% relative): with a
small network registered with torch-fidelity (all three, IS included, on identical logits), and with the
converted TF-Inception weights (FID and KID; the converted file has no classifier, so no IS)."""

import pytest
import torch
import torch_fidelity
from torch.utils.data import Dataset
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from gan_lightning.data import DemoDataModule
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


class Images(Dataset):
    """uint8 (N, 3, H, W) as the Dataset torch-fidelity takes."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def demo_data(tmp_path, num_images: int) -> DemoDataModule:
    data = DemoDataModule(image_size=16, num_images=num_images, cache_dir=str(tmp_path / "cache"))
    data.prepare_data()
    data.setup()
    return data


def ours_and_theirs(evaluator: Evaluator, data: DemoDataModule, fake: torch.Tensor, **theirs_kwargs) -> tuple:
    evaluator.load_reference(data, progress=False)
    ours = evaluator.evaluate_images(fake, max_images=None, progress=False)["metrics"]
    settings = evaluator.settings
    theirs = torch_fidelity.calculate_metrics(
        input1=Images(fake),
        input2=Images(data.images()),
        cuda=False,
        batch_size=evaluator.batch_size,
        kid_subsets=settings.kid_subsets,
        kid_subset_size=settings.kid_subset_size,
        verbose=False,
        cache=False,
        **theirs_kwargs,
    )
    return ours, {key: theirs[their_key] for key, their_key in THEIR_KEYS.items() if their_key in theirs}


def test_fid_kid_and_is_equal_torch_fidelity_on_a_registered_network(tmp_path):
    if SMALL not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(SMALL, SmallExtractor)
    data = demo_data(tmp_path, 60)
    fake = random_images(50, seed=1, size=16)
    settings = ScoreSettings(kid_subsets=20, kid_subset_size=25)
    evaluator = Evaluator(SmallExtractor(), ["fid", "kid", "is"], "feat", None, batch_size=16, settings=settings)
    ours, theirs = ours_and_theirs(
        evaluator,
        data,
        fake,
        fid=True,
        kid=True,
        isc=True,
        feature_extractor=SMALL,
        feature_layer_fid="feat",
        feature_layer_kid="feat",
        feature_layer_isc="logits_unbiased",
    )
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
    ours, theirs = ours_and_theirs(
        evaluator,
        data,
        fake,
        fid=True,
        kid=True,
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=weights,
        feature_layer_fid="64",
        feature_layer_kid="64",
    )
    assert set(ours) == set(theirs) == {"fid", "kid", "kid_std"}
    assert ours["fid"] > 1 and ours["kid"] > 0
    for key in ours:
        assert ours[key] == pytest.approx(theirs[key], rel=5e-3), key
