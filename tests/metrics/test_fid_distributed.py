"""Metrics under DDP (2 processes, gloo, CPU) equal those on one device, and every rank agrees with rank 0.

- the reference features are computed in shares on both ranks, gathered and cached by rank 0;
- the generated samples are split over the ranks (uneven shares, drawn in one device's batches, which matters
  for a generator sampling with batch statistics), gathered in sample order, and the scores
  (FID, KID, IS, precision/recall/density/coverage) computed on rank 0 are every rank's;
- the FID weights are found on rank 0 and its decision (on, off, or an error) is every rank's;
- an error while rank 0 scores is raised on every rank (not a hang).

A rank stuck in a collective prints its stack and exits after WORKER_TIMEOUT_S (faulthandler), which fails
the test instead of hanging it.
"""

import faulthandler
import os
import shutil

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gan_lightning.data import DemoDataModule
from gan_lightning.gans import DCGANModule
from gan_lightning.metrics.evaluation import Evaluator
from gan_lightning.metrics.scores import METRICS, ScoreSettings
from gan_lightning.metrics.weights import FID_WEIGHTS_ENV, agree_on_weights
from tests.metrics.conftest import SmallExtractor

WORLD = 2
WORKER_TIMEOUT_S = 120
NUM_SAMPLES = 21  # shares of 10 and 11


def data(cache_dir: str) -> DemoDataModule:
    datamodule = DemoDataModule(image_size=16, num_images=30, cache_dir=cache_dir)
    datamodule.prepare_data()
    datamodule.setup()
    return datamodule


def evaluate(cache_dir: str) -> tuple[dict, Evaluator, DCGANModule]:
    torch.manual_seed(0)
    gan = DCGANModule(
        latent_dim=8,
        image_size=16,
        channels=3,
        generator_options={"width": 8},
        discriminator_options={"width": 8},
        sample_batch_norm="batch",  # each image depends on its batch: ranks must draw one device's batches
    )
    settings = ScoreSettings(kid_subsets=10, kid_subset_size=10)
    evaluator = Evaluator(SmallExtractor(), list(METRICS), "feat", None, batch_size=4, settings=settings)
    evaluator.load_reference(data(cache_dir), progress=False)
    return evaluator.evaluate_generator(gan, NUM_SAMPLES, seed=3, progress=False), evaluator, gan


def isolate_weights_lookup(tmp: str, rank: int, env_weights: str | None) -> None:
    """This rank sees no weights anywhere except, when given, $GAN_LIGHTNING_FID_WEIGHTS."""
    os.environ["TORCH_HOME"] = f"{tmp}/torch{rank}"
    os.environ["GAN_LIGHTNING_CACHE"] = f"{tmp}/cache{rank}"
    os.environ.pop(FID_WEIGHTS_ENV, None)
    if env_weights:
        os.environ[FID_WEIGHTS_ENV] = env_weights


def weights_decisions(tmp: str, rank: int) -> dict:
    weights = f"{tmp}/weights.pth"
    isolate_weights_lookup(tmp, rank, weights if rank == 0 else None)
    rank0_has = agree_on_weights(None, download=False)
    isolate_weights_lookup(tmp, rank, weights if rank == 1 else None)
    rank0_lacks = agree_on_weights(None, download=False)
    try:
        agree_on_weights(f"{tmp}/missing.pth" if rank == 0 else weights, download=False)
        error = None
    except FileNotFoundError as err:
        error = str(err)
    return {"rank0_has": rank0_has, "rank0_lacks": rank0_lacks, "error": error}


def worker(rank: int, init_file: str, tmp: str) -> None:
    faulthandler.dump_traceback_later(WORKER_TIMEOUT_S, exit=True)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    decisions = weights_decisions(tmp, rank)
    result, evaluator, gan = evaluate(f"{tmp}/data")
    held = None if evaluator.reference is None else len(evaluator.reference)
    try:  # IS needs 10 samples: rank 0's scoring fails, and every rank must hear of it
        evaluator.evaluate_generator(gan, 5, seed=3, progress=False)
        scoring_error = None
    except ValueError as err:
        scoring_error = str(err)
    torch.save({"result": result, "held": held, "scoring_error": scoring_error, **decisions}, f"{tmp}/rank{rank}.pt")
    dist.destroy_process_group()
    faulthandler.cancel_dump_traceback_later()


def test_two_process_metrics_equal_single_device_and_every_rank_follows_rank_zero(tmp_path):
    (tmp_path / "weights.pth").write_bytes(b"weights")
    data(str(tmp_path / "data"))  # decoded once, before the ranks read it
    mp.spawn(worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    ddp_cache = torch.load(next((tmp_path / "data" / "fid").glob("*.pt")), weights_only=True)

    shutil.rmtree(tmp_path / "data" / "fid")
    single, evaluator, _ = evaluate(str(tmp_path / "data"))
    assert set(single["metrics"]) == {*METRICS, "kid_std", "is_std"}
    assert torch.allclose(ddp_cache["features"], evaluator.reference.features, atol=1e-5)
    assert [r["held"] for r in ranks] == [30, None]  # rank 0 alone holds the reference
    for r in ranks:
        assert r["result"] == ranks[0]["result"]  # rank 0's values on every rank
        for name, value in single["metrics"].items():
            assert r["result"]["metrics"][name] == pytest.approx(value, rel=1e-5, abs=1e-9), name
        assert r["rank0_has"] == str(tmp_path / "weights.pth")  # rank 1 found none, follows rank 0
        assert r["rank0_lacks"] is None  # rank 1 found some, follows rank 0: off everywhere
        assert r["error"] is not None and "missing.pth" in r["error"]  # rank 0's error raised on every rank
        assert "at least 10 samples" in r["scoring_error"]  # rank 0's scoring error, raised on every rank
    assert single["metrics"]["fid"] > 0 and 0 <= single["metrics"]["coverage"] <= 1
