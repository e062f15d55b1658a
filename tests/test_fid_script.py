"""scripts/fid.py in a real process: a split against itself is ~0, against another split it is not."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import REPO, needs_fid_helper
from tests.data.builders import write_idx_gz


def run_fid(tmp_path: Path, weights: Path, *args: str) -> float:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "fid.py"),
            "--config",
            str(REPO / "configs" / "mnist.yaml"),
            "--root",
            str(tmp_path / "root"),
            "--cache_dir",
            str(tmp_path / "cache"),
            "--weights_path",
            str(weights),
            "--feature",
            "64",
            "--device",
            "cpu",
            "--batch_size",
            "16",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return float(re.search(r"FID (-?[\d.]+(?:e-?\d+)?)", result.stdout).group(1))


@needs_fid_helper
def test_split_against_itself_and_against_another(tmp_path, converted_weights):
    weights, _ = converted_weights
    rng = np.random.default_rng(0)
    raw = tmp_path / "root" / "MNIST" / "raw"
    write_idx_gz(raw / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (24, 28, 28), dtype=np.uint8))
    write_idx_gz(raw / "t10k-images-idx3-ubyte.gz", (rng.random((24, 28, 28)) < 0.2).astype(np.uint8) * 255)
    same = run_fid(tmp_path, weights, "--versus_split", "train", "--num", "24")
    other = run_fid(tmp_path, weights, "--versus_split", "test", "--num", "24")
    assert abs(same) < 1e-3 * other and other > 1
