"""A shuffling sampler that shards across ranks, can keep or drop each epoch's last partial batch, and
can start mid-epoch."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sized

import torch
from torch.utils.data import DistributedSampler


def mix_seed(*numbers: int) -> int:
    """One 63-bit seed from several integers; unlike seed + epoch, (0, 1) and (1, 0) differ."""
    digest = hashlib.blake2b(",".join(map(str, numbers)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


class ResumableDistributedSampler(DistributedSampler):
    """Per epoch: a permutation of all N indices seeded by (seed, epoch), dealt round-robin to the
    ranks so that every rank gets the same number of batches of the same sizes.

    drop_last=True: the first floor(N / (ranks * batch_size)) * ranks * batch_size indices are dealt,
    so every batch is full and the leftover images differ each epoch.
    drop_last=False: each rank also gets a last partial batch of the floor(N / ranks) - full batches
    images that remain, rounded down to a multiple of `partial_multiple_of` (a training step splits
    its batch into that many minibatches), as a plain DataLoader(shuffle=True) does on one process:
    the loop of d2l's DCGAN chapter, for one, trains on every image of every epoch. On R ranks up
    to R - 1 (plus the rounding) images are left over, rather than repeated as DistributedSampler
    pads, so no image counts twice in an epoch.

    It subclasses DistributedSampler so Lightning keeps it under DDP (Lightning only replaces
    samplers that are not DistributedSampler instances) and calls set_epoch on it each epoch.
    `start_batch` skips that many batches of `start_epoch` only: how a resumed run continues exactly
    where the checkpointed one stopped. __len__ stays the full epoch's, because Lightning counts the
    batches it already ran in a resumed epoch itself.
    """

    def __init__(
        self,
        dataset: Sized,
        batch_size: int,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
        start_epoch: int = 0,
        start_batch: int = 0,
        drop_last: bool = True,
        partial_multiple_of: int = 1,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.drop_last = drop_last
        self.batch_size = batch_size
        per_rank = len(dataset) // num_replicas
        full_batches = per_rank // batch_size
        remaining = 0 if drop_last else per_rank - full_batches * batch_size
        partial = remaining // partial_multiple_of * partial_multiple_of
        self.last_batch_size = partial or batch_size  # per rank
        self.batches_per_epoch = full_batches + (partial > 0)
        self.num_samples = full_batches * batch_size + partial  # per rank
        self.total_size = self.num_samples * num_replicas  # all ranks, per epoch
        self.epoch = start_epoch
        self.start_epoch = start_epoch
        self.start_batch = start_batch
        self.resharded = False  # set by `resuming` when the checkpointed epoch was sharded differently

    @classmethod
    def resuming(
        cls,
        dataset: Sized,
        batch_size: int,
        num_replicas: int,
        rank: int,
        seed: int,
        epoch: int,
        batches_consumed: int,
        saved_batch_size: int,
        saved_replicas: int,
        drop_last: bool = True,
        partial_multiple_of: int = 1,
    ) -> ResumableDistributedSampler:
        """The sampler that continues `epoch` after `batches_consumed` batches of `saved_batch_size` images
        per rank on `saved_replicas` ranks: exactly where it stopped when the sharding is the same; at
        the same fraction of the epoch when it is not (`resharded` is then True); at the start of the next
        epoch when that epoch was finished."""
        start = batches_consumed
        resharded = (batch_size, num_replicas) != (saved_batch_size, saved_replicas)
        if resharded:
            start = start * saved_batch_size * saved_replicas // (batch_size * num_replicas)
        sampler = cls(dataset, batch_size, num_replicas, rank, seed, epoch, start, drop_last, partial_multiple_of)
        if sampler.batches_per_epoch > 0 and start >= sampler.batches_per_epoch:
            sampler.epoch = sampler.start_epoch = epoch + 1
            sampler.start_batch = 0
        sampler.resharded = resharded
        return sampler

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
        order = torch.randperm(len(self.dataset), generator=generator)[: self.total_size]
        mine = order[self.rank :: self.num_replicas]
        if self.epoch == self.start_epoch:
            mine = mine[self.start_batch * self.batch_size :]
        return iter(mine.tolist())

    def __len__(self) -> int:
        return self.num_samples
