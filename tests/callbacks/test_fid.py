"""FID during a real fit: logged on its cadence, best.ckpt kept, and off (with one warning) without weights."""

import math
import warnings

import pytest
import torch

from tests.callbacks.test_logging import fit_tiny
from tests.conftest import needs_fid_helper
from tests.run_files import tensorboard_events


@needs_fid_helper
def test_fid_is_logged_and_the_best_checkpoint_kept(tmp_path, converted_weights):
    weights, _ = converted_weights
    run = fit_tiny(
        tmp_path,
        "DCGANModule",
        "--trainer.max_steps",
        "4",
        "--fid.enabled",
        "true",
        "--fid.weights_path",
        str(weights),
        "--fid.feature",
        "64",  # the 64-d Inception layer keeps compute() fast on a CPU
        "--fid.every_n_steps",
        "2",
        "--fid.num_samples",
        "24",
        "--fid.batch_size",
        "12",
        "--fid.real_max_images",
        "48",
    )
    points = tensorboard_events(run).Scalars("val/fid")
    assert [p.step for p in points] == [2, 4]
    assert all(math.isfinite(p.value) and p.value > 0 for p in points)
    best = min(points, key=lambda p: p.value)
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    assert checkpoint["global_step"] == best.step
    (state,) = [v for k, v in checkpoint["callbacks"].items() if k.startswith("FIDCallback")]
    assert state["best_fid"] == pytest.approx(best.value, rel=1e-6) and state["best_step"] == best.step
    assert list((tmp_path / "cache" / "fid").glob("*.pt"))  # the real statistics were cached


def test_without_weights_training_goes_on_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    monkeypatch.delenv("GAN_LIGHTNING_FID_WEIGHTS", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = fit_tiny(
            tmp_path, "DCGANModule", "--fid.enabled", "true", "--fid.download", "false", "--fid.every_n_steps", "2"
        )
    fid_warnings = [w for w in caught if "FID is off" in str(w.message)]
    assert len(fid_warnings) == 1 and "convert_fid_weights.py" in str(fid_warnings[0].message)
    events = tensorboard_events(run)
    assert "val/fid" not in events.Tags()["scalars"] and "train/loss_d" in events.Tags()["scalars"]
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "checkpoints" / "best.ckpt").exists()
