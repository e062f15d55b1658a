"""FID and KID during a real fit: logged on their cadence, best.ckpt kept by the named metric, the reference
computed at the first evaluation (not before training), a measured cost line at fit start, the same numbers
as scripts/evaluate.py, and FID off (with one warning) without weights."""

import json
import logging
import math
import os
import subprocess
import sys
import warnings

import pytest
import torch

from tests.callbacks.test_logging import fit_tiny
from tests.conftest import REPO, needs_fid_helper
from tests.run_files import tensorboard_events

SMALL_FID = [
    "--fid.enabled",
    "true",
    "--fid.feature",
    "64",  # the 64-d Inception tap keeps the CPU time small
    "--fid.every_n_steps",
    "2",
    "--fid.num_samples",
    "12",
    "--fid.batch_size",
    "12",
    "--fid.real_max_images",
    "16",
    "--fid.kid_subsets",
    "10",
    "--fid.kid_subset_size",
    "6",
]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def fid_run(tmp_path_factory, converted_weights):
    """A 4-step fit evaluating FID and KID at steps 2 and 4, and the log lines it printed."""
    tmp = tmp_path_factory.mktemp("fid_run")
    lines, root = Lines(), logging.getLogger()
    root.addHandler(lines)
    level, root.level = root.level, logging.INFO
    try:
        run = fit_tiny(
            tmp, "DCGANModule", "--trainer.max_steps", "4", "--fid.weights_path", str(converted_weights[0]),
            *SMALL_FID, "--fid.kid", "true",
        )  # fmt: skip
    finally:
        root.removeHandler(lines)
        root.level = level
    return tmp, run, lines.lines


@needs_fid_helper
def test_fid_and_kid_are_logged_and_the_best_fid_checkpoint_kept(fid_run):
    _, run, _ = fid_run
    events = tensorboard_events(run)
    points = {tag: events.Scalars(tag) for tag in ("val/fid", "val/kid", "val/kid_std")}
    for tag, values in points.items():
        assert [p.step for p in values] == [2, 4], tag
        assert all(math.isfinite(p.value) for p in values), tag
    assert all(p.value > 0 for p in points["val/fid"])
    best = min(points["val/fid"], key=lambda p: p.value)
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    assert checkpoint["global_step"] == best.step
    (state,) = [v for k, v in checkpoint["callbacks"].items() if k.startswith("FIDEvaluation")]
    assert state["monitor"] == "fid" and state["best_step"] == best.step
    assert state["best_value"] == pytest.approx(best.value, rel=1e-6)


@needs_fid_helper
def test_the_reference_is_computed_at_the_first_evaluation_and_the_cost_was_said_first(fid_run):
    tmp, run, lines = fid_run
    (cache,) = (tmp / "cache" / "fid").glob("*.pt")
    first_step = tensorboard_events(run).Scalars("train/loss_d")[0]  # logged after training step 0
    assert os.path.getmtime(cache) > first_step.wall_time
    (cost,) = [line for line in lines if "one evaluation" in line]
    assert "FID+KID: one evaluation of 12 samples takes about" in cost and "images/s" in cost
    assert "the first also computes the features of 16 real images once" in cost
    assert "--fid.num_samples" in cost and "--fid.enabled false" in cost


@needs_fid_helper
def test_evaluate_script_gives_the_numbers_training_logged(fid_run, converted_weights):
    """`--run`: best.ckpt and last.ckpt, with the samples (noise seed 0) and reference (the cached 16 images)
    training used: each record's FID and KID equal what training logged at that checkpoint's step."""
    _, run, _ = fid_run
    result = subprocess.run(
        [
            sys.executable, str(REPO / "scripts" / "evaluate.py"), "--run", str(run), "--metrics", "fid,kid",
            "--feature", "64", "--num", "12", "--batch_size", "12", "--real_max_images", "16", "--kid_subsets", "10",
            "--kid_subset_size", "6", "--weights_path", str(converted_weights[0]), "--device", "cpu", "--no_progress",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [record["checkpoint"] for record in records] == [
        str(run / "checkpoints" / n) for n in ("best.ckpt", "last.ckpt")
    ]
    events = tensorboard_events(run)
    for record in records:
        assert record["protocol"]["n_real"] == 16 and record["protocol"]["n_fake"] == 12
        for tag in ("fid", "kid"):
            (logged,) = [p for p in events.Scalars(f"val/{tag}") if p.step == record["step"]]
            assert record["metrics"][tag] == pytest.approx(logged.value, rel=1e-3), (record["checkpoint"], tag)
    assert records[1]["step"] == 4


@needs_fid_helper
def test_best_checkpoint_follows_kid_when_the_config_names_it(fid_run, tmp_path, converted_weights):
    shared_cache = fid_run[0] / "cache"  # the reference is cached there already
    run = fit_tiny(
        tmp_path, "DCGANModule", "--trainer.max_steps", "2", "--fid.weights_path", str(converted_weights[0]),
        *SMALL_FID, "--fid.monitor", "kid", "--fid.at_end", "false", "--fid.report_cost", "false",
        "--data.cache_dir", str(shared_cache),
    )  # fmt: skip
    (kid,) = tensorboard_events(run).Scalars("val/kid")
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    (state,) = [v for k, v in checkpoint["callbacks"].items() if k.startswith("FIDEvaluation")]
    assert state["monitor"] == "kid" and state["best_step"] == kid.step == checkpoint["global_step"] == 2
    assert state["best_value"] == pytest.approx(kid.value, rel=1e-6)  # KID's value, not FID's


def test_without_weights_training_goes_on_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LIGHTNING_CACHE", str(tmp_path / "empty-cache"))
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
