"""FID from torchmetrics with the converted weights equals a float64 numpy/scipy computation on the same
features; turning FID on/off; converting images the way PNG files hold them."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
import torchvision
from PIL import Image

from gan_lightning.metrics import fid
from gan_lightning.metrics.fid import build_fid_metric, compute_fid, resolve_fid_weights, to_fid_input


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """TTUR / pytorch-fid's formula in float64."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular covariances (few samples): sqrtm warns, trace is still fine
        root = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


def test_fid_equals_scipy_on_the_same_features_and_a_set_against_itself_is_zero(converted_weights):
    """On Inception's 64-d tap, which keeps the matrices small: at 2048-d, with far fewer images than dimensions
    (all a CPU test can afford), the eigen/sqrtm solvers crawl over ~2000 zero eigenvalues for minutes. compute()
    runs the same code for every tap; the 2048-d features themselves are checked against TorchScript elsewhere."""
    metric = build_fid_metric(str(converted_weights[0]), "cpu", download=False, feature=64)
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (24, 1, 28, 28), dtype=torch.uint8, generator=g)  # grey, like MNIST
    fake = torch.rand((24, 3, 32, 32), generator=g) * 2 - 1  # generator output in [-1, 1]
    for i in range(0, 24, 12):
        metric.update(to_fid_input(real[i : i + 12]), real=True)
        metric.update(to_fid_input(fake[i : i + 12]), real=False)
    value = compute_fid(metric)
    with torch.no_grad():  # the features, by running the metric's extractor ourselves
        f_real = metric.inception(to_fid_input(real)).double().numpy()
        f_fake = metric.inception(to_fid_input(fake)).double().numpy()
    assert f_real.shape == (24, 64)
    expected = scipy_fid(f_real, f_fake)
    assert value == pytest.approx(expected, rel=1e-6)
    assert value > 1  # noise against grey noise at other sizes: clearly apart

    metric.reset()  # keeps the real statistics (reset_real_features=False)
    assert int(metric.real_features_num_samples) == 24
    metric.update(to_fid_input(real), real=False)
    assert abs(compute_fid(metric)) < 1e-6 * value


def test_metric_takes_torch_fidelity_resize_not_torchmetrics_antialias(converted_weights):
    """The TTUR / torch-fidelity definition: TensorFlow-1.x bilinear resize to 299 inside the extractor."""
    metric = build_fid_metric(str(converted_weights[0]), "cpu", download=False)
    assert metric.inception.use_antialias is False
    assert (metric.normalize, metric.reset_real_features) == (False, False)


def test_to_fid_input_matches_png_written_by_save_image(tmp_path):
    g = torch.Generator().manual_seed(1)
    x = torch.rand((1, 3, 8, 8), generator=g) * 2.2 - 1.1  # a little outside [-1, 1] too
    x[0, 0, 0, :4] = torch.tensor([-1.0, 1.0, 0.0, 1 / 255])
    torchvision.utils.save_image(x, tmp_path / "x.png", normalize=True, value_range=(-1, 1))
    png = torch.from_numpy(np.array(Image.open(tmp_path / "x.png"))).permute(2, 0, 1).unsqueeze(0)
    assert torch.equal(to_fid_input(x), png)


def test_to_fid_input_greys_become_three_equal_channels_and_bad_input_is_refused():
    grey = torch.randint(0, 256, (2, 1, 5, 5), dtype=torch.uint8)
    rgb = to_fid_input(grey)
    assert rgb.shape == (2, 3, 5, 5) and rgb.dtype == torch.uint8
    assert all(torch.equal(rgb[:, c], grey[:, 0]) for c in range(3))
    with pytest.raises(ValueError, match="shape"):
        to_fid_input(torch.zeros(2, 4, 5, 5, dtype=torch.uint8))
    with pytest.raises(TypeError, match="dtype"):
        to_fid_input(torch.zeros(2, 3, 5, 5, dtype=torch.int64))


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    """Empty torch hub cache and ~/.cache, no env setting."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(fid.FID_WEIGHTS_ENV, raising=False)
    return tmp_path


def test_no_weights_turns_fid_off_with_exactly_one_warning(no_weights_anywhere):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert build_fid_metric(None, "cpu", download=False) is None
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert "FID is off" in message and "convert_fid_weights.py" in message and fid.FID_WEIGHTS_ENV in message


def test_weights_are_found_in_order(no_weights_anywhere, monkeypatch):
    tmp = no_weights_anywhere
    default = fid.default_fid_weights_path()
    assert default.is_relative_to(tmp / "cache")
    default.parent.mkdir(parents=True)
    default.write_bytes(b"x")
    assert resolve_fid_weights(None, download=False) == str(default)

    hub = fid.hub_cache_paths()[0]
    assert hub.name == "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's download name
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"x")
    assert resolve_fid_weights(None, download=False) == str(hub)

    env_file = tmp / "env.pth"
    env_file.write_bytes(b"x")
    monkeypatch.setenv(fid.FID_WEIGHTS_ENV, str(env_file))
    assert resolve_fid_weights(None, download=False) == str(env_file)

    explicit = tmp / "explicit.pth"
    explicit.write_bytes(b"x")
    assert resolve_fid_weights(str(explicit), download=False) == str(explicit)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_fid_weights(str(tmp / "missing.pth"))
    monkeypatch.setenv(fid.FID_WEIGHTS_ENV, str(tmp / "missing.pth"))
    with pytest.raises(FileNotFoundError, match=fid.FID_WEIGHTS_ENV):
        resolve_fid_weights(None)
