"""AtomicCheckpointIO: a checkpoint write that fails or is killed halfway never replaces the last
good checkpoint, and what a kill leaves behind does not disturb the next resume. RunCheckpoint's kept
snapshots: where they fall, and that a run started from one continues exactly."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gan_lightning.checkpoint_io import AtomicCheckpointIO
from gan_lightning.runs import resolve_run
from tests.fit_runs import assert_identical, fit_in_process, load, run_dirs, tiny_config, training_state


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


def test_kept_snapshots_fall_every_n_steps_and_a_run_started_from_one_ends_as_the_uninterrupted_run(tmp_path):
    # 40 images at batch 8: 5 steps an epoch, so the one snapshot in 9 steps falls on an epoch's last batch.
    cfg = tiny_config(tmp_path, "dcgan", max_steps=9, num_images=40, batch_size=8, every_n_train_steps=4)
    fit_in_process(cfg, "--checkpoint.keep_every_n_train_steps", "5")
    (run,) = run_dirs(tmp_path)
    snapshots = sorted((run / "checkpoints").glob("step_*.ckpt"))
    assert [p.name for p in snapshots] == ["step_00000005.ckpt"]
    at_epoch_end = load(snapshots[0])
    assert at_epoch_end["global_step"] == 5
    # Saved after the epoch's end hooks, as last.ckpt would be: the epoch's loss sums are already closed.
    assert at_epoch_end["gan_lightning"]["epoch_steps"] == 0

    # Branch from the snapshot: a new run folder (the run went on past it) that ends where the first did.
    fit_in_process(cfg, "--checkpoint.keep_every_n_train_steps", "5", "--ckpt_path", str(snapshots[0]))
    first, branch = run_dirs(tmp_path)
    expected, got = load(first / "checkpoints" / "last.ckpt"), load(branch / "checkpoints" / "last.ckpt")
    assert got["global_step"] == expected["global_step"] == 9
    assert_identical(training_state(got), training_state(expected), "run started from step_00000005.ckpt")
    assert not list((branch / "checkpoints").glob("step_*.ckpt"))  # no step past 5 is a multiple of 5 before 9


def test_snapshots_inside_an_epoch_are_last_ckpt_of_their_step(tmp_path):
    cfg = tiny_config(tmp_path, "wgan_gp", max_steps=5, num_images=80, batch_size=8, every_n_train_steps=None)
    fit_in_process(cfg, "--checkpoint.keep_every_n_train_steps", "2")
    (run,) = run_dirs(tmp_path)
    kept = {p.name: load(p) for p in (run / "checkpoints").glob("step_*.ckpt")}
    assert sorted(kept) == ["step_00000002.ckpt", "step_00000004.ckpt"]
    for name, checkpoint in kept.items():
        assert checkpoint["global_step"] == int(name[5:13])
        assert checkpoint["gan_lightning"]["epoch_steps"] == checkpoint["global_step"]  # mid-epoch: 5 steps of 80/16
    assert load(run / "checkpoints" / "last.ckpt")["global_step"] == 5
    assert not list((run / "checkpoints").glob(".*.tmp"))


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_snapshot_cadence_below_one_step_is_refused_before_the_run(tmp_path, capsys, value):
    cfg = tiny_config(tmp_path, "dcgan", max_steps=2)
    with pytest.raises(SystemExit) as stop:
        fit_in_process(cfg, "--checkpoint.keep_every_n_train_steps", value)
    assert stop.value.code == 2
    assert "keep_every_n_train_steps" in capsys.readouterr().err
    assert not run_dirs(tmp_path)
