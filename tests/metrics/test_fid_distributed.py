"""FID split over 2 DDP processes (gloo, CPU) equals FID on one device: real statistics are counted once."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torchmetrics.image.fid import FrechetInceptionDistance

from gan_lightning.metrics.fid import compute_fid, load_or_compute_real_stats, to_fid_input
from tests.metrics.conftest import SmallExtractor

WORLD = 2


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (48, 1, 12, 12), dtype=torch.uint8, generator=g)
    fake = torch.rand((40, 1, 12, 12), generator=g) * 1.6 - 0.8  # generator-like floats
    return real, fake


def worker(rank: int, init_file: str, cache_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    real, fake = data()
    metric = FrechetInceptionDistance(feature=SmallExtractor(0), reset_real_features=False)
    load_or_compute_real_stats(metric, real, cache_file, batch_size=16, progress=False)
    metric.update(to_fid_input(fake[rank::WORLD]), real=False)  # each rank its disjoint share
    local_real = int(metric.real_features_num_samples)
    value = compute_fid(metric)

    # What a naive setup gives: every rank holding the real statistics. The test must be able to tell.
    naive = FrechetInceptionDistance(feature=SmallExtractor(0), reset_real_features=False)
    cached = torch.load(cache_file, weights_only=True)
    for name in ("real_features_sum", "real_features_cov_sum", "real_features_num_samples"):
        getattr(naive, name).copy_(cached[name])
    naive.update(to_fid_input(fake[rank::WORLD]), real=False)
    torch.save({"fid": value, "naive": float(naive.compute()), "local_real": local_real}, f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_two_process_fid_equals_single_device(tmp_path):
    real, fake = data()
    single = FrechetInceptionDistance(feature=SmallExtractor(0), reset_real_features=False)
    load_or_compute_real_stats(single, real, tmp_path / "single.pt", progress=False)
    single.update(to_fid_input(fake), real=False)
    expected = compute_fid(single)

    mp.spawn(worker, args=(str(tmp_path / "init"), str(tmp_path / "ddp.pt"), str(tmp_path)), nprocs=WORLD, join=True)
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    assert [r["local_real"] for r in results] == [48, 0]  # real statistics live on rank 0 only
    for r in results:
        assert abs(r["fid"] - expected) <= 1e-6 * abs(expected), (r["fid"], expected)
        assert abs(r["naive"] - expected) > 1e-4 * abs(expected)  # counting reals twice would be caught
    assert expected > 0
