"""Reference (real-image) features: computed once, cached on disk, reused, rebuilt when extractor or images
change; the cache file is named in one place."""

import os
import warnings

import torch

from gan_lightning.data import DemoDataModule
from gan_lightning.metrics.frechet import feature_statistics
from gan_lightning.metrics.reference import load_or_compute_reference, reference_cache_path, statistics_subset
from tests.metrics.conftest import SmallExtractor, random_images


def small(seed: int = 0) -> SmallExtractor:
    return SmallExtractor(features_list=["feat"], seed=seed).eval()


def count_forward_calls(extractor) -> list:
    calls = []
    extractor.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    return calls


def direct_features(extractor, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return extractor(images)[0]


def test_first_call_computes_in_batches_and_caches_second_call_only_loads(tmp_path):
    cache = tmp_path / "sub" / "real.pt"
    real = random_images(50, seed=0, channels=1).expand(-1, 3, -1, -1)
    extractor = small()
    calls = count_forward_calls(extractor)
    reference = load_or_compute_reference(extractor, "feat", real, cache, batch_size=16, progress=False)
    assert calls == [16, 16, 16, 2]
    assert cache.is_file() and os.listdir(cache.parent) == ["real.pt"]  # no temp file left
    assert torch.allclose(reference.features, direct_features(extractor, real), atol=1e-5)
    mean, cov = feature_statistics(direct_features(extractor, real))
    assert torch.allclose(reference.mean, mean, atol=1e-6) and torch.allclose(reference.cov, cov, atol=1e-6)

    mtime = cache.stat().st_mtime_ns
    fresh = small()
    fresh_calls = count_forward_calls(fresh)
    again = load_or_compute_reference(fresh, "feat", real, cache, batch_size=16, progress=False)
    assert fresh_calls == [] and cache.stat().st_mtime_ns == mtime
    assert torch.equal(again.features, reference.features) and torch.equal(again.cov, reference.cov)


def test_cache_is_rebuilt_when_extractor_or_images_differ(tmp_path):
    cache = tmp_path / "real.pt"
    real = random_images(40, seed=0)
    load_or_compute_reference(small(0), "feat", real, cache, batch_size=64, progress=False)
    cases = {
        "other extractor weights": (small(1), real, None),
        "fewer images": (small(), real, 30),
        "other images, same shape": (small(), random_images(40, seed=9), None),
        "other image size": (small(), random_images(40, seed=0, size=14), None),
    }
    for case, (extractor, images, max_images) in cases.items():
        calls = count_forward_calls(extractor)
        reference = load_or_compute_reference(extractor, "feat", images, cache, max_images=max_images, progress=False)
        assert calls, f"{case}: stale cache was reused"
        used = images[statistics_subset(len(images), max_images)]
        assert len(reference) == len(used) == (max_images or len(images)), case
        assert torch.allclose(reference.features, direct_features(extractor, used), atol=1e-5), case


def test_a_capped_subset_of_a_class_sorted_dataset_covers_every_class():
    # Class-folder datasets are stored sorted by class; the first N images would be one class.
    labels = torch.arange(10).repeat_interleave(600)  # 6,000 images sorted by label
    chosen = statistics_subset(len(labels), 1000)
    assert len(chosen) == len(set(chosen.tolist())) == 1000
    counts = torch.bincount(labels[chosen], minlength=10)
    assert counts.min() > 60 and counts.max() < 140  # about 100 of each class


def test_unreadable_cache_is_recomputed_with_a_warning(tmp_path):
    cache = tmp_path / "real.pt"
    cache.write_bytes(b"truncated garbage")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reference = load_or_compute_reference(small(), "feat", random_images(10, seed=0), cache, progress=False)
    assert any("unreadable" in str(w.message) for w in caught)
    assert len(reference) == 10 and torch.load(cache, weights_only=True)["num_images"] == 10


def test_cache_path_names_dataset_layer_and_count_under_the_data_cache(tmp_path):
    data = DemoDataModule(image_size=8, num_images=20, cache_dir=str(tmp_path / "cache"))
    data.prepare_data()
    data.setup()
    path = reference_cache_path(data, "2048", max_images=50_000)
    assert path.parent == tmp_path.resolve() / "cache" / "fid"
    assert path.name == f"{data.cache_key}-inception2048-n20.pt"
    assert reference_cache_path(data, "64", max_images=10).name == f"{data.cache_key}-inception64-n10.pt"
