"""A shuffling sampler that shards across ranks, yields only full batches, and can start mid-epoch."""

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
    """Per epoch: a permutation of all N indices seeded by (seed, epoch); the first
    floor(N / (ranks * batch_size)) * ranks * batch_size of them are dealt round-robin to the ranks,
    so every rank gets the same number of FULL batches and the leftover images differ each epoch.

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
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self.batches_per_epoch = len(dataset) // (num_replicas * batch_size)
        self.num_samples = self.batches_per_epoch * batch_size  # per rank
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
    ) -> ResumableDistributedSampler:
        """The sampler that continues `epoch` after `batches_consumed` batches of `saved_batch_size` images
        per rank on `saved_replicas` ranks: exactly where it stopped when the sharding is the same; at
        the same fraction of the epoch when it is not (`resharded` is then True); at the start of the next
        epoch when that epoch was finished."""
        start = batches_consumed
        resharded = (batch_size, num_replicas) != (saved_batch_size, saved_replicas)
        if resharded:
            start = start * saved_batch_size * saved_replicas // (batch_size * num_replicas)
        sampler = cls(dataset, batch_size, num_replicas, rank, seed, epoch, start)
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
