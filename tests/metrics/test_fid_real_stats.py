"""Real-image FID statistics: computed once, cached on disk, reused, rebuilt when extractor or images change."""

import os
import warnings

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from gan_lightning.metrics.fid import build_fid_metric, load_or_compute_real_stats, statistics_subset, to_fid_input
from tests.metrics.conftest import SmallExtractor


def small_metric(seed: int = 0) -> FrechetInceptionDistance:
    return FrechetInceptionDistance(feature=SmallExtractor(seed), reset_real_features=False)


def count_forward_calls(metric: FrechetInceptionDistance) -> list:
    calls = []
    metric.inception.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    return calls


def images(n: int, seed: int, channels: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, 12, 12), dtype=torch.uint8, generator=g)


def own_statistics(extractor, imgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature sum and outer-product sum in one batch (float32 features differ in the last bits by batch size)."""
    with torch.no_grad():
        f = extractor(to_fid_input(imgs)).double()
    return f.sum(0), f.T @ f


def test_first_call_computes_in_batches_and_caches_second_call_only_loads(tmp_path):
    cache = tmp_path / "sub" / "real.pt"
    real = images(50, seed=0)
    metric = small_metric()
    calls = count_forward_calls(metric)
    load_or_compute_real_stats(metric, real, cache, batch_size=16, progress=False)
    assert calls == [16, 16, 16, 2]
    assert cache.is_file() and os.listdir(cache.parent) == ["real.pt"]  # no temp file left
    s, c = own_statistics(metric.inception, real)
    assert int(metric.real_features_num_samples) == 50
    assert torch.allclose(metric.real_features_sum, s, rtol=1e-5, atol=1e-5)
    assert torch.allclose(metric.real_features_cov_sum, c, rtol=1e-5, atol=1e-5)

    mtime = cache.stat().st_mtime_ns
    fresh = small_metric()
    fresh_calls = count_forward_calls(fresh)
    load_or_compute_real_stats(fresh, real, cache, batch_size=16, progress=False)
    assert fresh_calls == [] and cache.stat().st_mtime_ns == mtime
    for name in ("real_features_sum", "real_features_cov_sum", "real_features_num_samples"):
        assert torch.equal(getattr(fresh, name), getattr(metric, name))
    assert int(fresh.fake_features_num_samples) == 0


def test_cache_is_rebuilt_when_extractor_or_images_differ(tmp_path):
    cache = tmp_path / "real.pt"
    real = images(40, seed=0)
    load_or_compute_real_stats(small_metric(seed=0), real, cache, batch_size=64, progress=False)

    cases = {
        "other extractor weights": (small_metric(seed=1), real, None),
        "fewer images": (small_metric(), real, 30),
        "other images, same shape": (small_metric(), images(40, seed=9), None),
        "RGB instead of grey": (small_metric(), images(40, seed=0, channels=3), None),
    }
    for case, (metric, imgs, max_images) in cases.items():
        calls = count_forward_calls(metric)
        load_or_compute_real_stats(metric, imgs, cache, max_images=max_images, progress=False)
        assert calls, f"{case}: stale cache was reused"
        used = imgs[statistics_subset(len(imgs), max_images)]
        s, _ = own_statistics(metric.inception, used)
        assert int(metric.real_features_num_samples) == len(used) == (max_images or len(imgs)), case
        assert torch.allclose(metric.real_features_sum, s, rtol=1e-5, atol=1e-5), case
        assert torch.load(cache, weights_only=True)["num_images"] == len(used), case


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
    metric = small_metric()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_or_compute_real_stats(metric, images(10, seed=0), cache, progress=False)
    assert any("unreadable" in str(w.message) for w in caught)
    assert int(metric.real_features_num_samples) == 10
    assert torch.load(cache, weights_only=True)["num_images"] == 10


def test_with_inception_the_cached_statistics_are_its_2048_d_features(converted_weights, tmp_path):
    metric = build_fid_metric(str(converted_weights[0]), "cpu", download=False)
    real = images(3, seed=0)  # grey 12x12, resized to 299 by the extractor
    cache = tmp_path / "mnist_like.pt"
    load_or_compute_real_stats(metric, real, cache, batch_size=2, progress=False)
    s, _ = own_statistics(metric.inception, real)
    assert metric.real_features_sum.shape == (2048,)
    assert torch.allclose(metric.real_features_sum, s, rtol=1e-5, atol=1e-5)
    again = build_fid_metric(str(converted_weights[0]), "cpu", download=False)
    calls = count_forward_calls(again)
    load_or_compute_real_stats(again, real, cache, progress=False)
    assert calls == [] and torch.equal(again.real_features_cov_sum, metric.real_features_cov_sum)
