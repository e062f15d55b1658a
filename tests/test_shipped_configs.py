"""Every shipped config, with everything it turns on, as a user runs it: in one process and in 2-process DDP.

For each config in configs/, on tiny data in its dataset's real on-disk format, with its own nets, module
and callbacks (grid PNGs, FID on the standard Inception network with a small sample count, periodic and
final checkpoints) and W&B offline (`--wandb true`), N generator steps in one go, and:
- in one process: k steps, stopped by max_steps in the middle of an epoch, then `--ckpt_path last
  --trainer.max_steps N` (README's "train longer"), in the same folder and W&B run;
- under DDP: a run started from the snapshot the uninterrupted run kept at step k, in the middle of an
  epoch (`--checkpoint.keep_every_n_train_steps k`, then `--ckpt_path .../step_k.ckpt`), in a new folder.
  Two launches instead of three: each launch pays the imports of two fresh processes (about 5 s each on
  this 2-core VM), and "train longer" itself is the same resume the one-process run checks;
and both end with bit-identical weights, optimizer states and data position. Epochs are two steps long
under DDP and four in one process, so the runs cross epoch boundaries, a periodic checkpoint falls on an
epoch's last batch, and every epoch- and step-cadenced callback fires before and after the resume. A
config that keeps each epoch's last partial batch gets data that makes each epoch's last step partial.
Each cadence keeps its kind (steps or epochs) from the config, scaled to fire within N steps. The DDP runs
have a short collective timeout and a subprocess timeout that prints every rank's stack.
"""

from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import REPO
from tests.fit_runs import assert_identical, explain, fit_in_process, load, run_fit, training_state
from tests.run_files import tensorboard_events
from tests.test_configs import build_tiny_root

CONFIGS = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
STEPS, STOP_AT = 5, 3  # N and k
BATCH = 2
RANKS_IN_DDP = 2
STEPS_PER_EPOCH_IN_DDP = 2


def shipped(config: str) -> dict:
    return yaml.safe_load((REPO / "configs" / f"{config}.yaml").read_text())


def images_needed(config: str) -> int:
    """Two DDP steps per epoch per rank (so four in one process), plus one image the shuffle leaves out.

    A config that keeps each epoch's last partial batch (`drop_last: false`) gets one image per
    minibatch less on each rank, so its second DDP step, and its fourth step in one process, train on
    a partial batch of one image per minibatch, and resume crosses those too."""
    n_critic = shipped(config)["model"]["init_args"].get("n_critic", 1)
    per_rank = STEPS_PER_EPOCH_IN_DDP * BATCH * n_critic
    if shipped(config)["data"]["init_args"].get("drop_last", True) is False:
        per_rank -= (BATCH - 1) * n_critic
    return per_rank * RANKS_IN_DDP + 1


def images_trained_on(config: str, processes: int, steps: int) -> int:
    """Real images all ranks together train on in `steps` generator steps: each rank's share of
    images_needed in full loader batches, then (drop_last: false) a partial one."""
    n_critic = shipped(config)["model"]["init_args"].get("n_critic", 1)
    per_rank, loader_batch = images_needed(config) // processes, BATCH * n_critic
    epoch = [loader_batch] * (per_rank // loader_batch)
    if shipped(config)["data"]["init_args"].get("drop_last", True) is False and per_rank % loader_batch >= n_critic:
        epoch.append(per_rank % loader_batch // n_critic * n_critic)
    return sum((epoch * steps)[:steps]) * processes


def fid_enabled(config: str) -> bool:
    return (shipped(config).get("fid") or {}).get("enabled", True)


def cadence_overrides(config: str) -> list[str]:
    """Each callback's cadence, of the kind the config chose (steps or epochs), scaled to fire in the run."""
    recipe = shipped(config)
    overrides = []
    for section, every_steps in (("samples", 2), ("fid", 4)):
        options = recipe.get(section) or {}
        if options.get("every_n_steps"):
            overrides += [f"--{section}.every_n_steps", str(every_steps)]
        if options.get("every_n_epochs"):
            overrides += [f"--{section}.every_n_epochs", "1"]
    return [*overrides, "--checkpoint.every_n_train_steps", "2"]


def fit(work: Path, config: str, processes: int, weights: Path, folder: str, *args: str) -> None:
    common = [
        "--data.root", str(work / "root"),
        "--data.cache_dir", str(work / "cache"),
        "--data.download", "false",
        "--data.batch_size", str(BATCH),
        "--trainer.default_root_dir", str(work / folder),
        "--trainer.accelerator", "cpu",
        "--trainer.devices", str(processes),
        "--trainer.log_every_n_steps", "1",
        "--trainer.enable_progress_bar", "false",
        "--fid.weights_path", str(weights),
        "--fid.num_samples", "4",
        "--fid.batch_size", "4",
        "--fid.real_max_images", "8",
        "--fid.feature", "64",  # the same callback, network and weights; an early Inception tap is 10x cheaper
        "--wandb", "true",
        *cadence_overrides(config),
    ]  # fmt: skip
    if config == "demo":
        common += ["--data.init_args.num_images", str(images_needed(config))]
    if shipped(config)["trainer"].get("max_epochs") not in (None, -1):
        common += ["--trainer.max_epochs", "-1"]  # max_steps ends every run here
    if processes == 1:
        fit_in_process(REPO / "configs" / f"{config}.yaml", *common, *args)
        return
    ddp = ["--trainer.strategy", "ddp", "--distributed.timeout_s", "60"]
    process = run_fit(REPO / "configs" / f"{config}.yaml", *common, *ddp, *args, timeout=300)
    assert process.returncode == 0, explain(process)


@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "ddp"])
@pytest.mark.parametrize("config", CONFIGS)
def test_shipped_config_trains_and_train_longer_resumes_bit_identical(
    tmp_path, monkeypatch, converted_weights, config, processes
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    work, weights = tmp_path, converted_weights[0]
    (work / "root").mkdir()
    if config != "demo":
        build_tiny_root(config, work / "root", images_needed(config))

    if processes == 1:
        fit(work, config, processes, weights, "straight", "--trainer.max_steps", str(STEPS))
        fit(work, config, processes, weights, "resumed", "--trainer.max_steps", str(STOP_AT))
        (stopped,) = (work / "resumed" / config).glob("version_*")
        assert load(stopped / "checkpoints" / "last.ckpt")["global_step"] == STOP_AT
        fit(work, config, processes, weights, "resumed", "--trainer.max_steps", str(STEPS), "--ckpt_path", "last")
        (straight,) = (work / "straight" / config).glob("version_*")
        (resumed,) = (work / "resumed" / config).glob("version_*")  # "train longer" continued in the same folder
    else:
        keep = ("--checkpoint.keep_every_n_train_steps", str(STOP_AT))
        fit(work, config, processes, weights, "straight", "--trainer.max_steps", str(STEPS), *keep)
        (straight,) = (work / "straight" / config).glob("version_*")
        snapshot = straight / "checkpoints" / f"step_{STOP_AT:08d}.ckpt"
        assert load(snapshot)["global_step"] == STOP_AT
        assert load(snapshot)["gan_lightning"]["epoch_steps"] == STOP_AT % STEPS_PER_EPOCH_IN_DDP  # mid-epoch
        resume = ("--ckpt_path", str(snapshot))
        fit(work, config, processes, weights, "straight", "--trainer.max_steps", str(STEPS), *resume)
        resumed = straight.with_name("version_1")  # the run went on past the snapshot: a new folder
    expected, got = load(straight / "checkpoints" / "last.ckpt"), load(resumed / "checkpoints" / "last.ckpt")
    assert got["global_step"] == expected["global_step"] == STEPS
    assert_identical(training_state(got), training_state(expected), f"{config}, {processes} process(es)")
    data_state = next(key for key in expected if key.endswith("DataModule"))
    assert got[data_state] == expected[data_state]  # the position inside the epoch
    assert got["gan_lightning"]["images_seen"] == expected["gan_lightning"]["images_seen"]
    assert expected["gan_lightning"]["images_seen"] == images_trained_on(config, processes, STEPS)
    assert_identical(got["gan_lightning"]["epoch_loss_sums"], expected["gan_lightning"]["epoch_loss_sums"])

    for run in (straight, resumed):
        # Everything the config turns on left its files: grids, FID on the dashboard, best.ckpt, W&B.
        assert sorted(p.name for p in (run / "samples").glob("step_*.png")), run
        if fid_enabled(config):
            fid = tensorboard_events(run).Scalars("val/fid")
            assert fid[-1].step == STEPS and torch.isfinite(torch.tensor([p.value for p in fid])).all()
        run_id = (run / "wandb_id.txt").read_text().strip()
        assert all(d.name.endswith(run_id) for d in (run / "wandb").glob("offline-run-*"))
    if fid_enabled(config):  # (a branch writes best.ckpt only if it beats the best it started from)
        for run in (straight, resumed) if processes == 1 else (straight,):
            assert (run / "checkpoints" / "best.ckpt").is_file(), run
    if fid_enabled(config) and processes > 1:
        # A snapshot is taken mid-run, so the branch knows the same best FID as the uninterrupted run. (A run
        # stopped by max_steps evaluates at its end, so after "train longer" the best may differ.)
        best = [{k: v for k, v in c["callbacks"].items() if k.startswith("FIDEvaluation")} for c in (got, expected)]
        assert best[0] and best[0] == best[1]  # the same best FID, at the same step
    # The epoch means of the resumed run are those of the uninterrupted one, epoch for epoch.
    epoch_means = [
        [(p.step, p.value) for p in tensorboard_events(r).Scalars("epoch/loss_d")] for r in (straight, resumed)
    ]
    if processes == 1:
        assert len(list((resumed / "wandb").glob("offline-run-*"))) == 2  # continued the same W&B run
        assert epoch_means[0] and epoch_means[0] == epoch_means[1]
    else:  # a run started from a snapshot is a new W&B run, and logs the epochs after the snapshot
        assert (resumed / "wandb_id.txt").read_text() != (straight / "wandb_id.txt").read_text()
        # An epoch's mean is logged at the 0-based index of its last step: epochs that end after the snapshot.
        after_snapshot = [(step, mean) for step, mean in epoch_means[0] if step + 1 > STOP_AT]
        assert after_snapshot and after_snapshot == epoch_means[1]
