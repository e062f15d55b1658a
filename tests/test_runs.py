"""gan_lightning.runs.resolve_run: which folder a fit writes into and which checkpoint it resumes from."""

from pathlib import Path

import torch

from gan_lightning.runs import resolve_run


def make_run(root: Path, version: int, **steps: int) -> Path:
    """runs/gan/version_N/checkpoints/<name>.ckpt written at the given generator steps, in that order."""
    run = root / "gan" / f"version_{version}"
    (run / "checkpoints").mkdir(parents=True)
    for name, step in steps.items():
        torch.save({"global_step": step}, run / "checkpoints" / f"{name}.ckpt")
    return run


def test_a_checkpoint_the_run_did_not_go_past_continues_in_its_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("GAN_LIGHTNING_RUN_DIR", raising=False)
    run = make_run(tmp_path, 0, best=900, last=900)  # FID's best was the final step
    for name in ("last", "best"):
        path = run / "checkpoints" / f"{name}.ckpt"
        assert resolve_run(tmp_path, "gan", str(path)) == (run, str(path))
    assert resolve_run(tmp_path, "gan", "last") == (run, str(run / "checkpoints" / "last.ckpt"))


def test_an_earlier_best_ckpt_starts_a_new_run_folder_and_leaves_the_old_run_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("GAN_LIGHTNING_RUN_DIR", raising=False)
    run = make_run(tmp_path, 0, best=400, last=900)
    best = run / "checkpoints" / "best.ckpt"
    assert resolve_run(tmp_path, "gan", str(best)) == (tmp_path / "gan" / "version_1", str(best))
    # A checkpoint from elsewhere also starts a new folder.
    elsewhere = tmp_path / "elsewhere.ckpt"
    torch.save({"global_step": 10}, elsewhere)
    assert resolve_run(tmp_path, "gan", str(elsewhere))[0] == tmp_path / "gan" / "version_1"
