"""The few collectives the metrics need under DDP, written on torch.distributed so that they work inside a
Lightning fit and in a bare process group alike. Every function here is a collective when a process group
is initialised: all ranks must call it, in the same order."""

import torch
import torch.distributed as dist
from torchmetrics.utilities.distributed import gather_all_tensors


def rank_and_world_size() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def my_share(count: int) -> slice:
    """This rank's contiguous block of `count` items (rank order = item order, so gathering the blocks rebuilds
    the single-device order: order-dependent metrics such as KID's random subsets match one device)."""
    rank, world = rank_and_world_size()
    return slice(rank * count // world, (rank + 1) * count // world)


def gather_rows(rows: torch.Tensor) -> torch.Tensor:
    """Every rank's `rows` (blocks of different lengths allowed), concatenated in rank order, on every rank."""
    if rank_and_world_size()[1] == 1:
        return rows
    return torch.cat(gather_all_tensors(rows))


def broadcast_from_rank_zero(value: object) -> object:
    """Rank 0's `value` (any picklable object) on every rank."""
    if rank_and_world_size()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_ranks_true(flag: bool, device: torch.device | str = "cpu") -> bool:
    """True on every rank when `flag` is True on every rank."""
    if rank_and_world_size()[1] == 1:
        return flag
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())
