"""What Lightning's per-batch SIGTERM check costs a DDP step, which RunCheckpoint switches off.

Lightning 2.6 runs `_TrainingEpochLoop._broadcast_sigterm_tensor` before every training batch under DDP: a
one-element broadcast from rank 0 and an `.item()` on the result, that is, a collective and a host sync
per step. This times exactly that (and, for scale, an empty step) in 2 processes on this machine:

    python -m gan_lightning.benchmarks.sigterm_broadcast [--steps 2000] [--backend gloo|nccl]

On CUDA the `.item()` also stops the host from queuing the next step's kernels while the GPU works,
which costs more than the broadcast itself when steps are a few milliseconds long.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _rank(rank: int, world: int, backend: str, steps: int, port: int, results: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(backend, rank=rank, world_size=world)
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    timings = []
    for _ in range(3):  # best of 3 rounds: the machine may be shared
        dist.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            flag = torch.tensor([0], device=device)
            dist.broadcast(flag, src=0)
            flag.item()
        timings.append((time.perf_counter() - start) / steps)
    if rank == 0:
        results["per_step_s"] = min(timings)
        results["median_round_s"] = statistics.median(timings)
    dist.destroy_process_group()


def measure(steps: int = 2000, backend: str = "gloo") -> dict:
    """Seconds per step of Lightning's SIGTERM broadcast + .item() with 2 ranks of `backend`."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_rank, args=(2, backend, steps, port, results), nprocs=2, join=True)
        return dict(results)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--backend", choices=["gloo", "nccl"], default="gloo")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = measure(args.steps, args.backend)
    print(
        f"Lightning's per-batch SIGTERM broadcast + .item(), 2 ranks, {args.backend}: "
        f"{result['per_step_s'] * 1e6:.0f} us per training step (best of 3 rounds of {args.steps})"
    )
    return result


if __name__ == "__main__":
    main()
