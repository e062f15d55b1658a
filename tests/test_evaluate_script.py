"""scripts/evaluate.py (and its alias scripts/fid.py) on real files: a split against itself and another,
every metric with its protocol in metrics.jsonl, and one clear error for each kind of bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan_lightning.metrics.command import main
from tests.conftest import REPO, needs_fid_helper
from tests.data.builders import write_idx_gz

MNIST = str(REPO / "configs" / "mnist.yaml")
QUICK = ["--feature", "64", "--batch_size", "12", "--device", "cpu", "--no_progress"]


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    """MNIST's IDX files with 12 noise images as train and 12 sparse dots as test."""
    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    raw = root / "root" / "MNIST" / "raw"
    write_idx_gz(raw / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (12, 28, 28), dtype=np.uint8))
    write_idx_gz(raw / "t10k-images-idx3-ubyte.gz", (rng.random((12, 28, 28)) < 0.2).astype(np.uint8) * 255)
    return root


def data_args(root: Path) -> list[str]:
    return ["--config", MNIST, "--data.root", str(root / "root"), "--data.cache_dir", str(root / "cache")]


@needs_fid_helper
def test_a_split_against_itself_every_metric_with_its_protocol(mnist_root, converted_weights, capsys):
    out = mnist_root / "metrics.jsonl"
    args = [*data_args(mnist_root), "--versus_split", "train", "--num", "12", "--metrics", "all", "--out", str(out)]
    assert (
        main(
            [*args, "--kid_subsets", "10", "--kid_subset_size", "6", "--weights_path", str(converted_weights[0])]
            + QUICK
        )
        == 0
    )
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    metrics, protocol = record["metrics"], record["protocol"]
    # The same 12 images: FID 0; KID, unbiased, is 0 up to the noise of its 6-image subsets (against the test
    # split, on this tap, it is about 10).
    assert abs(metrics["fid"]) < 1e-3 and abs(metrics["kid"]) < 0.05
    assert metrics["precision"] == metrics["recall"] == metrics["coverage"] == 1
    assert metrics["density"] > 0.5
    assert "no classifier head" in record["unavailable"]["is"] and "is" not in metrics  # no NaN, a reason
    expected = {"dataset": "mnist", "reference_split": "train", "n_real": 12, "n_fake": 12, "kid_subset_size": 6,
                "kid_subsets": 10, "prdc_k": 5, "prdc_n_real": 12, "weights": str(converted_weights[0])}  # fmt: skip
    assert expected.items() <= protocol.items()
    assert "Inception" in protocol["network"] and "299" in protocol["resize"] and "64" in protocol["features"]
    table = capsys.readouterr().out
    assert re.search(r"FID\s+-?\d", table) and "unavailable" in table and "n_real 12" in table


@needs_fid_helper
def test_fid_alias_keeps_its_flags_and_tells_splits_apart(mnist_root, converted_weights):
    result = subprocess.run(
        [
            sys.executable, str(REPO / "scripts" / "fid.py"), "--config", MNIST, "--root", str(mnist_root / "root"),
            "--cache_dir", str(mnist_root / "cache"), "--weights_path", str(converted_weights[0]), "--versus_split",
            "test", "--num", "12", *QUICK,
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert float(re.search(r"FID\s+(-?[\d.]+(?:e-?\d+)?)", result.stdout).group(1)) > 1
    assert "KID" not in result.stdout  # --metrics fid


def run_bad(args: list[str], capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evaluate.py: ") and "Traceback" not in err
    return err


def test_each_bad_input_gets_one_clear_error_and_writes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(Path(MNIST).read_text())
    assert "no such checkpoint file" in run_bad(["--ckpt", str(tmp_path / "nope.ckpt"), "--config", MNIST], capsys)
    assert "holds no checkpoints/best.ckpt or last.ckpt" in run_bad(["--run", str(run)], capsys)
    assert "unknown metric 'fdi'" in run_bad(["--run", str(run), "--metrics", "fid,fdi"], capsys)
    absent = ["--config", MNIST, "--data.root", str(tmp_path / "empty"), "--data.download", "false"]
    assert "was not found" in run_bad([*absent, "--versus_split", "test"], capsys)
    demo = ["--config", str(REPO / "configs" / "demo.yaml"), "--data.cache_dir", str(tmp_path / "cache")]
    assert "has one split" in run_bad([*demo, "--split", "test", "--versus_split", "train"], capsys)
    assert not list(tmp_path.rglob("metrics.jsonl"))
