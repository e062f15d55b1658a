"""Each metric's formula on features with known answers, or against an independent computation."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_prc import prc_features_to_metric

from gan_lightning.metrics.frechet import feature_statistics, frechet_distance
from gan_lightning.metrics.inception_score import inception_score
from gan_lightning.metrics.prdc import precision_recall_density_coverage
from gan_lightning.metrics.scores import METRICS, PRDC, parse_metrics


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """TTUR / pytorch-fid's formula in float64, with scipy's matrix square root."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular covariances (few samples): sqrtm warns, the trace is fine
        root = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


def test_fid_equals_scipy_and_a_set_against_itself_is_zero():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(60, 32, generator=g)
    b = torch.randn(40, 32, generator=g) * 1.3 + 0.2
    value = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    assert value == pytest.approx(scipy_fid(a.double().numpy(), b.double().numpy()), rel=1e-6)
    assert value > 1
    assert abs(frechet_distance(*feature_statistics(a), *feature_statistics(a))) < 1e-6 * value


def test_inception_score_has_its_limits_one_and_the_number_of_classes():
    """Uniform predictions: p(y|x) = p(y), IS = 1. Confident predictions spread evenly over C classes: IS = C."""
    assert inception_score(torch.zeros(100, 7)) == pytest.approx((1.0, 0.0), abs=1e-9)
    labels = torch.arange(10).repeat(20)  # 200 samples, each class 20 times
    confident = 50.0 * torch.nn.functional.one_hot(labels, 10).double()
    mean_one, std_one = inception_score(confident, splits=1)
    assert mean_one == pytest.approx(10, rel=1e-6) and std_one == 0
    with pytest.raises(ValueError, match="at least 10 samples"):
        inception_score(torch.zeros(9, 7))


def test_inception_score_splits_are_shuffled_equal_tenths():
    """With confident (one-hot) predictions, KL(p(y|x) || p(y)) = -log p(y_x), so a split's score is
    exp(entropy of its class histogram). The splits are tenths of the samples after torch-fidelity's
    documented shuffle (numpy RandomState(2020)); the std is over the 10 split scores."""
    labels = torch.arange(10).repeat(20)
    confident = 50.0 * torch.nn.functional.one_hot(labels, 10).double()
    shuffled = labels[np.random.RandomState(2020).permutation(200)]
    scores = []
    for part in shuffled.chunk(10):
        p = torch.bincount(part, minlength=10).double() / len(part)
        scores.append(float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum())))
    mean, std = inception_score(confident, splits=10)
    assert mean == pytest.approx(np.mean(scores), rel=1e-6) and std == pytest.approx(np.std(scores), rel=1e-5)
    assert 5 < mean < 10 and std > 0  # 20 samples a split rarely hold all 10 classes evenly


def test_prdc_on_points_whose_answers_are_worked_out_by_hand():
    """k = 1 on a line. Reals 0..5: each real ball has radius 1. Fakes 0.5, 0.5, 10, 6: fake radii 0, 0 (the
    twins), 4 and 4. Comparisons are strict (Naeem et al.'s code), so 6, at distance exactly 1 from real 5,
    is outside its ball.
    precision: fakes in some real ball: the two 0.5s -> 2/4. density: each 0.5 lies in the balls of 0 and 1
    -> 4 / (1 * 4). coverage: reals whose ball holds a fake: 0 and 1 -> 2/6. recall: reals in some fake ball:
    |r - 6| < 4 for r = 3, 4, 5 (the 0.5s' balls are empty, 10's reaches no real) -> 3/6."""
    real = torch.arange(6.0)[:, None]
    fake = torch.tensor([[0.5], [0.5], [10.0], [6.0]])
    out = precision_recall_density_coverage(real, fake, k=1)
    expected = {"precision": 1 / 2, "recall": 1 / 2, "density": 1.0, "coverage": 1 / 3}
    assert out == pytest.approx(expected, abs=1e-12)


def test_precision_and_recall_equal_torch_fidelity_with_k_5():
    g = torch.Generator().manual_seed(3)
    real = torch.randn(70, 8, generator=g)
    fake = torch.randn(50, 8, generator=g) * 0.8 + 0.4
    ours = precision_recall_density_coverage(real, fake, k=5, chunk=16)  # chunked: 70 reals in 5 chunks
    theirs = prc_features_to_metric(fake, real, prc_neighborhood=5, prc_batch_size=1000, verbose=False)
    assert 0 < ours["precision"] < 1 and 0 < ours["recall"] < 1
    assert ours["precision"] == pytest.approx(theirs["precision"], abs=1e-6)  # theirs: a float32 mean
    assert ours["recall"] == pytest.approx(theirs["recall"], abs=1e-6)
    same = precision_recall_density_coverage(real, real, k=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1


def test_metric_names_parse_and_unknown_ones_are_refused():
    assert parse_metrics("fid, KID") == ["fid", "kid"]
    assert parse_metrics("all") == list(METRICS) and parse_metrics("prdc") == list(PRDC)
    with pytest.raises(ValueError, match="unknown metric 'fdi'"):
        parse_metrics("fid,fdi")
