"""DDP for real: `python scripts/fit.py ... --trainer.devices 2 --trainer.strategy ddp` on the CPU
(gloo; Lightning relaunches the script for rank 1), for both modules. Each rank dumps its state at
the end (tests.fit_runs.DumpRankState); the run folder is read back as a user would.
"""

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan_lightning.data import DemoDataModule
from tests.fit_runs import assert_identical, explain, last_checkpoint, load, run_dirs, run_fit, tiny_config

STEPS = 6
BATCH = 8
N_CRITIC = {"dcgan": 1, "wgan_gp": 2}
IMAGES = 100  # 96 per epoch: 6 batches of 8 per rank x 2 ranks


def ddp_fit(folder, module: str, *args: str, model: dict | None = None) -> list[dict]:
    cfg = tiny_config(
        folder,
        module,
        max_steps=STEPS,
        batch_size=BATCH,
        num_images=IMAGES,
        model={"ema_decay": 0.9} | (model or {}),
        data={"random_flip": False},  # so the images each rank trained on can be found in the dataset
    )
    process = run_fit(
        cfg,
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
        *args,
        "--trainer.callbacks+=tests.fit_runs.DumpRankState",
        f"--trainer.callbacks.out_dir={folder}",
        timeout=300,
    )
    assert process.returncode == 0, explain(process)
    return [torch.load(folder / f"rank{rank}.pt", weights_only=True) for rank in range(2)]


# The gradient penalty's run also has DiffAugment and spectral norm on (interpolates between augmented
# images, the double backward through the parametrization); BatchNorm's run keeps the defaults.
STABILISERS = {"augment": "color,translation,cutout", "discriminator_options": {"width": 8, "spectral_norm": True}}
MODEL = {"dcgan": {}, "wgan_gp": STABILISERS}


def spectral_norm_vectors(rank: dict) -> dict[str, torch.Tensor]:
    """The power-iteration vectors u, v as the discriminator's first forward of the last step saw them."""
    return {name: b for name, b in rank["d_buffers_at_last_step_start"].items() if name.endswith(("._u", "._v"))}


@pytest.mark.parametrize("module", ["dcgan", "wgan_gp"])  # BatchNorm in D / the gradient penalty
def test_two_process_fit_keeps_ranks_identical(tmp_path, module):
    rank0, rank1 = ddp_fit(tmp_path, module, model=MODEL[module])
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert rank0["global_step"] == rank1["global_step"] == STEPS

    # Gradients are averaged over ranks: weights (G, D, EMA) and both Adam states agree bit for bit.
    assert_identical(rank0["parameters"], rank1["parameters"], "parameters")
    assert_identical(rank0["optimizers"], rank1["optimizers"], "optimizers")
    # BatchNorm running statistics and the spectral norm's vectors agree (after every step, not only
    # at the end), and so does the fixed noise of the sample grids.
    assert_identical(rank0["buffers"], rank1["buffers"], "buffers")
    assert_identical(rank0["d_buffers_at_last_step_start"], rank1["d_buffers_at_last_step_start"], "D buffers")
    assert len(spectral_norm_vectors(rank0)) == (2 * 3 if MODEL[module] else 0)  # u, v of 3 layers at 16x16
    # Each rank draws its own noise.
    assert not torch.equal(rank0["first_noise"], rank1["first_noise"])

    # The checkpoint holds that common state.
    checkpoint = load(last_checkpoint(tmp_path))
    assert checkpoint["global_step"] == STEPS
    assert_identical({k: checkpoint["state_dict"][k] for k in rank0["parameters"]}, rank0["parameters"], "ckpt")

    # One run folder, one event file: scalars are logged once, one point per generator step.
    (run,) = run_dirs(tmp_path)
    (events,) = run.glob("events.out.tfevents.*")
    scalars = EventAccumulator(str(events), size_guidance={"scalars": 0})
    scalars.Reload()
    for tag in ("train/loss_d", "train/loss_g", "train/D_x"):
        assert [point.step for point in scalars.Scalars(tag)] == list(range(STEPS)), tag
    images_seen = scalars.Scalars("progress/images_seen")[-1].value
    assert images_seen == STEPS * N_CRITIC[module] * BATCH * 2  # both ranks' real images

    # Data sharding: in every epoch the two ranks train on disjoint images, none repeated, 96 of 100.
    dataset = DemoDataModule(image_size=16, num_images=IMAGES, cache_dir=str(tmp_path / "cache")).images()
    dataset = dataset.flatten(1)
    assert len({tuple(row) for row in dataset.tolist()}) == IMAGES  # distinct, so a match is unique
    per_rank_epoch = IMAGES // (2 * BATCH) * BATCH
    seen = [
        r["batches"].add(1).mul(127.5).round().to(torch.uint8).flatten(1).split(per_rank_epoch) for r in (rank0, rank1)
    ]
    assert len(seen[0]) == STEPS * N_CRITIC[module] * BATCH // per_rank_epoch  # whole epochs
    for epoch0, epoch1 in zip(*seen):
        indices = []
        for images in (epoch0, epoch1):
            matches = (images[:, None] == dataset[None]).all(dim=2)
            assert (matches.sum(dim=1) == 1).all()  # every trained image is one dataset image
            indices.append(set(matches.float().argmax(dim=1).tolist()))
        assert len(indices[0]) == len(indices[1]) == per_rank_epoch  # nothing repeated on a rank
        assert not indices[0] & indices[1]  # nothing shared by the ranks


@pytest.mark.skipif(
    torch.cuda.device_count() < 2,
    reason="SyncBatchNorm runs only on CUDA (torch has no CPU kernel) and DDP needs 2 GPUs",
)
def test_sync_batchnorm_on_two_gpus(tmp_path):
    rank0, rank1 = ddp_fit(tmp_path, "dcgan", "--trainer.accelerator", "gpu", "--trainer.sync_batchnorm", "true")
    assert_identical(rank0["parameters"], rank1["parameters"], "parameters")
    assert_identical(rank0["buffers"], rank1["buffers"], "buffers")


def test_two_process_sngan_style_fit_keeps_spectral_norm_vectors_identical(tmp_path):
    """Hinge loss, DiffAugment, spectral norm and no batch norm in D: the power-iteration vectors are
    then the only buffers the discriminator updates in its forward."""
    options = {"width": 8, "batch_norm": False, "spectral_norm": True}
    rank0, rank1 = ddp_fit(tmp_path, "dcgan", model=STABILISERS | {"loss": "hinge", "discriminator_options": options})
    assert rank0["global_step"] == rank1["global_step"] == STEPS
    assert_identical(rank0["parameters"], rank1["parameters"], "parameters")
    assert_identical(rank0["optimizers"], rank1["optimizers"], "optimizers")
    # Identical on both ranks when a step starts (what each rank's first forward used) and at the end ...
    vectors = spectral_norm_vectors(rank0)
    assert sorted(rank0["d_buffers_at_last_step_start"]) == sorted(vectors) and len(vectors) == 2 * 3
    assert_identical(vectors, spectral_norm_vectors(rank1), "spectral norm vectors")
    assert_identical(rank0["buffers"], rank1["buffers"], "buffers")
    # ... and still unit vectors after the end-of-step mean over ranks.
    for name, vector in vectors.items():
        assert vector.norm().item() == pytest.approx(1.0, abs=1e-5), name
    # Each rank draws its own noise (and so its own augmentations) from the step RNG.
    assert not torch.equal(rank0["first_noise"], rank1["first_noise"])
