"""Bad input and faults: broken or hostile checkpoints, NaN losses, unknown config keys.

Each fault is real: files in the formats a user could hand us (random bytes, a checkpoint cut in
half, somebody else's zip, a checkpoint whose pickle would run code), a learning rate that really
diverges, a data module that really serves a NaN batch.
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from gan_lightning.gans import NonFiniteLossError
from tests.fit_runs import (  # noqa: F401 (one_thread: an autouse fixture)
    SAMPLE,
    explain,
    fit_in_process,
    last_checkpoint,
    load,
    one_thread,
    run_dirs,
    run_fit,
    sample_main,
    tiny_config,
)


class RunsCode:
    """Pickles as a call to os.mkdir(path): loading it without weights_only creates that folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (str(self.path),))


@pytest.fixture
def trained(tmp_path):
    """A finished tiny run, and every file under its runs/ folder with its bytes."""
    cfg = tiny_config(tmp_path, "dcgan", max_steps=2)
    fit_in_process(cfg)
    return cfg, last_checkpoint(tmp_path)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def bad_checkpoints(folder: Path, good: Path) -> dict[str, Path]:
    """The broken and hostile files, written next to the run."""
    raw = good.read_bytes()
    files = {name: folder / f"{name}.ckpt" for name in ("random", "truncated", "foreign_zip", "runs_code", "not_ours")}
    files["random"].write_bytes(os.urandom(4096))
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    with zipfile.ZipFile(files["foreign_zip"], "w") as archive:
        archive.writestr("notes/readme.txt", "a zip, but not a checkpoint")
    hostile = load(good) | {"extra": RunsCode(folder / "code_ran")}
    torch.save(hostile, files["runs_code"])
    torch.save({"state_dict": {"weight": torch.zeros(3)}}, files["not_ours"])
    return files


EXPECTED = {
    "random": "not the zip archive torch.save writes",
    "truncated": "not the zip archive torch.save writes",
    "foreign_zip": "is not a loadable checkpoint",
    "runs_code": "holds pickled Python objects (Trying to load unsupported GLOBAL posix.mkdir",
    "not_ours": "is not a gan-lightning checkpoint",
}


def test_bad_checkpoints_give_a_clear_error_and_touch_nothing(tmp_path, trained, capsys):
    cfg, good = trained
    files = bad_checkpoints(tmp_path, good)
    before = snapshot(tmp_path / "runs")
    sample = sample_main()
    for name, path in files.items():
        with pytest.raises(SystemExit) as stop:
            fit_in_process(cfg, "--ckpt_path", str(path))
        error = capsys.readouterr().err
        assert stop.value.code == 2, name
        assert error.strip().splitlines()[-1].startswith(f"fit.py: {path}") and "Traceback" not in error, (name, error)
        assert EXPECTED[name] in error, (name, error)

        assert sample(["--ckpt", str(path), "--out", str(tmp_path / "grid.png")]) == 2, name
        assert EXPECTED[name] in capsys.readouterr().err, name
    assert not (tmp_path / "code_ran").exists()  # the pickled call never ran
    assert snapshot(tmp_path / "runs") == before  # no new run folder, no checkpoint rewritten
    assert not (tmp_path / "grid.png").exists()


def test_a_corrupt_last_checkpoint_is_refused_by_ckpt_path_last_and_left_as_it_is(tmp_path, trained, capsys):
    cfg, good = trained
    good.write_bytes(good.read_bytes()[:1000])  # say, a disk that filled up under another tool
    before = snapshot(tmp_path / "runs")
    with pytest.raises(SystemExit) as stop:
        fit_in_process(cfg, "--ckpt_path", "last")
    assert stop.value.code == 2
    assert f"fit.py: {good} is not a checkpoint" in capsys.readouterr().err
    assert snapshot(tmp_path / "runs") == before


def test_hostile_checkpoint_from_the_command_line(tmp_path, trained):
    """What a user sees: one line naming the file and why, no traceback, a failing exit status."""
    cfg, good = trained
    hostile = bad_checkpoints(tmp_path, good)["runs_code"]
    for command in (
        [sys.executable, str(Path(SAMPLE).parent / "fit.py"), "--config", str(cfg), "--ckpt_path", str(hostile)],
        [sys.executable, str(SAMPLE), "--ckpt", str(hostile), "--out", str(tmp_path / "grid.png")],
    ):
        process = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert process.returncode != 0
        assert "Traceback" not in process.stderr, process.stderr[-3000:]
        assert EXPECTED["runs_code"] in process.stderr
    assert not (tmp_path / "code_ran").exists()
    assert len(run_dirs(tmp_path)) == 1


def test_nan_batch_stops_the_run_naming_loss_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = tiny_config(
        tmp_path,
        "dcgan",
        max_steps=20,
        every_n_train_steps=2,
        data_class="tests.fit_runs.NaNBatchDemo",
        data={"nan_at": 5},  # the 6th generator step trains on NaN images
    )
    with pytest.raises(NonFiniteLossError, match=r"train/loss_d became NaN or inf at generator step 6"):
        fit_in_process(cfg)
    checkpoint = load(last_checkpoint(tmp_path))
    assert checkpoint["global_step"] == 4  # the save due at step 6 was refused
    assert all(t.isfinite().all() for t in checkpoint["state_dict"].values() if t.is_floating_point())
    assert [p.name for p in last_checkpoint(tmp_path).parent.iterdir()] == ["last.ckpt"]  # no partial file


def test_nan_on_one_ddp_rank_stops_every_rank_at_the_same_step(tmp_path):
    """Only rank 1 trains on a NaN batch (step 6). The ranks agree on the first bad step, so both stop there
    with the loss and step named; a rank stopping alone would leave the other in its next collective."""
    cfg = tiny_config(
        tmp_path,
        "dcgan",
        max_steps=20,
        every_n_train_steps=2,
        data_class="tests.fit_runs.NaNBatchDemo",
        data={"nan_at": 5, "nan_rank": 1},
        trainer={"devices": 2, "strategy": "ddp"},
    )
    process = run_fit(cfg, "--distributed.timeout_s", "60", timeout=240)
    output = process.stdout + process.stderr
    assert process.returncode != 0
    assert "train/loss_d became NaN or inf at generator step 6" in output, explain(process)
    assert "a collective did not complete" not in output, explain(process)  # stopped together, no timeout
    checkpoint = load(last_checkpoint(tmp_path))
    assert checkpoint["global_step"] == 4
    assert all(t.isfinite().all() for t in checkpoint["state_dict"].values() if t.is_floating_point())


def test_diverging_learning_rate_stops_the_run_before_any_checkpoint(tmp_path):
    cfg = tiny_config(tmp_path, "wgan_gp", max_steps=20, every_n_train_steps=1)
    with pytest.raises(NonFiniteLossError, match=r"train/loss_\w+ became NaN or inf at generator step \d+"):
        fit_in_process(cfg, "--model.init_args.lr", "1e30", "--model.init_args.lr_g", "1e30")
    (run,) = run_dirs(tmp_path)
    saved = list(run.rglob("*.ckpt"))
    for path in saved:  # whatever was written before the divergence is finite
        assert all(t.isfinite().all() for t in load(path)["state_dict"].values() if t.is_floating_point())


@pytest.mark.parametrize(
    "override",
    ["--model.init_args.not_an_option=1", "--trainer.not_an_option=1", "--data.init_args.batch_sise=8"],
)
def test_unknown_config_keys_are_named(tmp_path, capsys, override):
    cfg = tiny_config(tmp_path, "dcgan", max_steps=2)
    with pytest.raises(SystemExit) as stop:
        fit_in_process(cfg, override)
    assert stop.value.code != 0
    key = override.split("=")[0].rsplit(".", 1)[1]
    assert key in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
