"""AtomicCheckpointIO: a checkpoint write that fails or is killed halfway never replaces the last
good checkpoint, and what a kill leaves behind does not disturb the next resume."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gan_lightning.checkpoint_io import AtomicCheckpointIO
from gan_lightning.runs import resolve_run


@pytest.fixture
def good(tmp_path) -> Path:
    """A valid last.ckpt in a run folder, written by the writer under test."""
    path = tmp_path / "runs" / "tiny" / "version_0" / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"global_step": 4, "state_dict": {"w": torch.arange(10.0)}}, path)
    return path


def test_a_save_that_fails_while_serialising_keeps_the_old_checkpoint(good):
    before = good.read_bytes()
    broken = {"global_step": 5, "state_dict": {"w": torch.ones(1000)}, "callback": lambda: None}  # not picklable
    with pytest.raises(Exception, match="(?i)pickle"):
        AtomicCheckpointIO().save_checkpoint(broken, good)
    assert good.read_bytes() == before
    assert [p.name for p in good.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind


WRITER = """
import sys, torch
from gan_lightning.checkpoint_io import AtomicCheckpointIO
big = torch.ones(int(sys.argv[2]), dtype=torch.uint8)  # slow enough to be caught mid-write
AtomicCheckpointIO().save_checkpoint({"global_step": 8, "state_dict": {"w": big}}, sys.argv[1])
"""


def test_a_process_killed_while_writing_a_large_checkpoint_keeps_the_old_one(good, tmp_path):
    before = good.read_bytes()
    tmp = good.with_name(".last.ckpt.tmp")
    for size in (100_000_000, 800_000_000):  # a bigger file if the first write was too quick to catch
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(good), str(size)])
        while writer.poll() is None and not (tmp.is_file() and tmp.stat().st_size > 0):
            time.sleep(0.001)
        writer.send_signal(signal.SIGSTOP)  # frozen halfway: this is the file a kill leaves
        caught = tmp.is_file() and 0 < tmp.stat().st_size < size
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        if caught:
            break
        good.write_bytes(before)  # the write completed before the freeze; put the old one back, retry
    assert caught, "could not stop the writer in the middle of its write"
    assert good.read_bytes() == before  # the last good checkpoint was not replaced
    assert torch.load(good, weights_only=True)["global_step"] == 4
    assert tmp.is_file()  # the half-written file stays aside under a name resume never picks
    run = good.parent.parent
    assert resolve_run(tmp_path / "runs", "tiny", "last") == (run, str(good))
    # The next save overwrites the leftover and replaces the checkpoint completely.
    AtomicCheckpointIO().save_checkpoint({"global_step": 12, "state_dict": {}}, good)
    assert torch.load(good, weights_only=True)["global_step"] == 12
    assert not tmp.exists()
