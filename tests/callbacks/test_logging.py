"""What a short fit writes for the dashboards, read back from the files themselves."""

import math
from pathlib import Path

import pytest
import torch
import torchvision

from gan_lightning.cli import main
from tests.run_files import tensorboard_events, wandb_history

COMMON = {
    "train/loss_d",
    "train/loss_d_real",
    "train/loss_d_fake",
    "train/loss_g",
    "train/D_x",
    "train/D_G_z1",
    "train/D_G_z2",
}
WGAN_ONLY = {"train/loss_d_unregularized", "train/gradient_penalty", "train/wasserstein_distance", "train/grad_norm"}
STEPS = 6


def fit_tiny(tmp_path: Path, model: str, *extra: str) -> Path:
    main(
        [
            "--config",
            str(Path(__file__).parents[2] / "configs" / "demo.yaml"),
            "--model",
            f"gan_lightning.gans.{model}",
            "--model.generator_options",
            "{width: 8}",
            "--model.discriminator_options",
            "{width: 8, batch_norm: false}",
            "--model.n_critic",
            "2",
            "--model.num_fixed_samples",
            "16",
            "--data.image_size",
            "16",
            "--data.batch_size",
            "8",
            "--data.init_args.num_images",
            "256",
            "--data.cache_dir",
            str(tmp_path / "cache"),
            "--trainer.default_root_dir",
            str(tmp_path / "runs"),
            "--trainer.max_steps",
            str(STEPS),
            "--trainer.log_every_n_steps",
            "1",
            "--trainer.enable_progress_bar",
            "false",
            "--samples.every_n_steps",
            "3",
            "--samples.nrow",
            "4",
            "--fid.enabled",
            "false",
            *extra,
        ]
    )
    runs = sorted((tmp_path / "runs" / "demo").glob("version_*"))
    assert len(runs) == 1
    return runs[0]


@pytest.mark.parametrize("model, tags", [("DCGANModule", COMMON), ("WGANGPModule", COMMON | WGAN_ONLY)])
def test_tensorboard_holds_every_curve_and_the_grids(tmp_path, monkeypatch, model, tags):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = fit_tiny(tmp_path, model)
    events = tensorboard_events(run)
    scalars = set(events.Tags()["scalars"])
    assert tags <= scalars, f"missing: {tags - scalars}"
    for tag in tags:
        points = events.Scalars(tag)
        assert [p.step for p in points] == list(range(STEPS)), tag  # one point per generator iteration
        assert all(math.isfinite(p.value) for p in points), tag
    if model == "DCGANModule":  # probabilities
        assert all(
            0 <= p.value <= 1 for tag in ("train/D_x", "train/D_G_z1", "train/D_G_z2") for p in events.Scalars(tag)
        )
    else:  # the critic loss is its unregularized part plus the penalty
        for total, unreg, gp in zip(
            *(events.Scalars(f"train/{k}") for k in ("loss_d", "loss_d_unregularized", "gradient_penalty"))
        ):
            assert total.value == pytest.approx(unreg.value + gp.value, rel=1e-5, abs=1e-6)
    images = events.Images("samples/fixed_noise")
    assert [i.step for i in images] == [0, 1, 3, 6]
    assert images[-1].width == images[-1].height == 4 * 16 + 5 * 2  # 4x4 tiles of 16 px, 2 px padding
    pngs = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert pngs == [f"step_{s:08d}.png" for s in (0, 1, 3, 6)]
    png = torchvision.io.decode_png(torchvision.io.read_file(str(run / "samples" / pngs[-1])))
    tb_image = torchvision.io.decode_png(
        torch.frombuffer(bytearray(images[-1].encoded_image_string), dtype=torch.uint8)
    )
    assert png.shape == (3, 74, 74) and torch.equal(png, tb_image)  # the same grid in both places
    assert not torch.equal(png, torchvision.io.decode_png(torchvision.io.read_file(str(run / "samples" / pngs[0]))))
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "last.ckpt").is_file()


def test_wandb_offline_run_holds_the_same_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = fit_tiny(tmp_path, "WGANGPModule", "--wandb", "true")
    (run_file,) = run.glob("wandb/offline-run-*/run-*.wandb")
    rows = wandb_history(run_file)
    keys = set().union(*rows)
    assert COMMON | WGAN_ONLY <= keys, f"missing: {(COMMON | WGAN_ONLY) - keys}"
    assert "samples/fixed_noise/_type" in keys  # the grids as W&B images
    losses = [float(r["train/loss_d"]) for r in rows if "train/loss_d" in r]
    assert len(losses) == STEPS and all(math.isfinite(v) for v in losses)
    # The same numbers as TensorBoard got.
    tb = [p.value for p in tensorboard_events(run).Scalars("train/loss_d")]
    assert losses == pytest.approx(tb, rel=1e-6)
    assert (run / "wandb_id.txt").read_text().strip() in run_file.name


def test_epoch_means_and_the_logging_interval(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    # 48 images, 2 critic batches of 8 per step: 3 generator steps per epoch, 2 epochs.
    events = tensorboard_events(fit_tiny(tmp_path / "every", "DCGANModule", "--data.init_args.num_images", "48"))
    steps = [p.value for p in events.Scalars("train/loss_d")]
    epoch_means = [p.value for p in events.Scalars("epoch/loss_d")]
    assert epoch_means == pytest.approx([sum(steps[:3]) / 3, sum(steps[3:]) / 3], rel=1e-5)
    # Every 3rd step only: Lightning's own cadence (steps 2 and 5), with the same values.
    sparse = tensorboard_events(
        fit_tiny(
            tmp_path / "sparse", "DCGANModule", "--data.init_args.num_images", "48", "--trainer.log_every_n_steps", "3"
        )
    )
    points = sparse.Scalars("train/loss_d")
    assert [p.step for p in points] == [2, 5]
    assert [p.value for p in points] == pytest.approx([steps[2], steps[5]], rel=1e-6)
    assert [p.value for p in sparse.Scalars("epoch/loss_d")] == pytest.approx(epoch_means, rel=1e-6)
