"""Where the FID weights are looked for, in which order, and FID turned off with one warning without them."""

import warnings

import pytest

from gan_lightning.metrics import weights
from gan_lightning.metrics.weights import default_fid_weights_path, hub_cache_paths, resolve_fid_weights


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    """Empty torch hub cache and project cache, no env setting."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GAN_LIGHTNING_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(weights.FID_WEIGHTS_ENV, raising=False)
    return tmp_path


def test_no_weights_gives_none_with_exactly_one_warning(no_weights_anywhere):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_fid_weights(None, download=False) is None
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert "FID is off" in message and "convert_fid_weights.py" in message and weights.FID_WEIGHTS_ENV in message


def test_the_default_place_follows_the_project_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LIGHTNING_CACHE", str(tmp_path / "mine"))
    assert default_fid_weights_path() == tmp_path / "mine" / "fid" / "pt_inception-2015-12-05.pth"
    monkeypatch.delenv("GAN_LIGHTNING_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_fid_weights_path() == tmp_path / "xdg" / "gan_lightning" / "fid" / "pt_inception-2015-12-05.pth"


def test_weights_are_found_in_order(no_weights_anywhere, monkeypatch):
    tmp = no_weights_anywhere
    default = default_fid_weights_path()
    assert default.is_relative_to(tmp / "cache")
    default.parent.mkdir(parents=True)
    default.write_bytes(b"x")
    assert resolve_fid_weights(None, download=False) == str(default)

    hub = hub_cache_paths()[0]
    assert hub.name == "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's download name
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"x")
    assert resolve_fid_weights(None, download=False) == str(hub)

    env_file = tmp / "env.pth"
    env_file.write_bytes(b"x")
    monkeypatch.setenv(weights.FID_WEIGHTS_ENV, str(env_file))
    assert resolve_fid_weights(None, download=False) == str(env_file)

    explicit = tmp / "explicit.pth"
    explicit.write_bytes(b"x")
    assert resolve_fid_weights(str(explicit), download=False) == str(explicit)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_fid_weights(str(tmp / "missing.pth"))
    monkeypatch.setenv(weights.FID_WEIGHTS_ENV, str(tmp / "missing.pth"))
    with pytest.raises(FileNotFoundError, match=weights.FID_WEIGHTS_ENV):
        resolve_fid_weights(None)
