"""The sharded, seeded, full-batch sampler that can start mid-epoch."""

import torch
from torch.utils.data import DistributedSampler

from gan_lightning.data import ResumableDistributedSampler


def epoch_indices(num_images, batch, ranks, rank, seed=0, epoch=0, **kwargs):
    sampler = ResumableDistributedSampler(range(num_images), batch, ranks, rank, seed, **kwargs)
    sampler.set_epoch(epoch)
    return list(sampler)


def test_is_a_distributed_sampler_so_lightning_keeps_it():
    assert isinstance(ResumableDistributedSampler(range(10), 2), DistributedSampler)


def test_ranks_get_disjoint_equal_numbers_of_full_batches():
    shards = [epoch_indices(50, batch=4, ranks=2, rank=r) for r in range(2)]
    assert [len(s) for s in shards] == [24, 24]  # floor(50 / 8) = 6 batches of 4 each
    assert not set(shards[0]) & set(shards[1])
    assert all(0 <= i < 50 for s in shards for i in s)
    assert len(ResumableDistributedSampler(range(50), 4, 2, 0)) == 24


def test_order_is_reproducible_per_seed_and_epoch_and_differs_between_them():
    base = epoch_indices(40, 4, 1, 0, seed=1, epoch=0)
    assert base == epoch_indices(40, 4, 1, 0, seed=1, epoch=0)
    assert base != epoch_indices(40, 4, 1, 0, seed=1, epoch=1)
    assert base != epoch_indices(40, 4, 1, 0, seed=2, epoch=0)
    assert epoch_indices(40, 4, 1, 0, seed=0, epoch=1) != epoch_indices(40, 4, 1, 0, seed=1, epoch=0)
    assert sorted(base) == list(range(40))  # a permutation: every image once


def test_leftover_images_change_between_epochs():
    used = [set(epoch_indices(10, 4, 1, 0, epoch=e)) for e in range(6)]
    assert all(len(u) == 8 for u in used)
    assert len(set(frozenset(u) for u in used)) > 1


def test_starts_mid_epoch_only_in_the_start_epoch():
    full3 = epoch_indices(40, 4, 2, 1, epoch=3)
    full4 = epoch_indices(40, 4, 2, 1, epoch=4)
    sampler = ResumableDistributedSampler(range(40), 4, 2, 1, start_epoch=3, start_batch=2)
    assert list(sampler) == full3[8:]
    assert len(sampler) == len(full3)  # Lightning counts the skipped batches itself
    sampler.set_epoch(4)
    assert list(sampler) == full4


def test_dataloader_batches_follow_the_sampler():
    data = torch.arange(30)
    sampler = ResumableDistributedSampler(data, 6, 1, 0, seed=5)
    loader = torch.utils.data.DataLoader(data, batch_size=6, sampler=sampler, drop_last=True)
    batches = [b.tolist() for b in loader]
    assert len(batches) == 5
    assert sum(batches, []) == list(sampler)


def test_keeping_the_last_partial_batch_trains_on_every_image_once_per_epoch():
    sampler = ResumableDistributedSampler(range(26), 4, 1, 0, seed=3, drop_last=False)
    loader = torch.utils.data.DataLoader(range(26), batch_size=4, sampler=sampler, drop_last=False)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = [b.tolist() for b in loader]
        assert [len(b) for b in batches] == [4] * 6 + [2]  # DataLoader(shuffle=True)'s default
        assert sorted(sum(batches, [])) == list(range(26))
    assert sampler.batches_per_epoch == len(loader) == 7 and sampler.last_batch_size == 2


def test_kept_partial_batches_are_equal_across_ranks_and_split_into_whole_minibatches():
    # 51 images on 2 ranks: 25 each (1 left over); 8 per loader batch (2 minibatches of 4) -> 3 full
    # batches and 1 remaining image, rounded down to a multiple of 2 minibatches: no partial batch.
    shards = [epoch_indices(51, 8, 2, r, drop_last=False, partial_multiple_of=2) for r in range(2)]
    assert [len(s) for s in shards] == [24, 24]
    # 58 images: 29 per rank = 3 x 8 + 5 -> a partial batch of 4 (2 minibatches of 2); 1 left over
    shards = [epoch_indices(58, 8, 2, r, drop_last=False, partial_multiple_of=2) for r in range(2)]
    assert [len(s) for s in shards] == [28, 28]
    assert not set(shards[0]) & set(shards[1])
    sampler = ResumableDistributedSampler(range(58), 8, 2, 0, drop_last=False, partial_multiple_of=2)
    assert sampler.batches_per_epoch == 4 and sampler.last_batch_size == 4


def test_a_kept_partial_batch_resumes_mid_epoch_and_after_it():
    full = epoch_indices(26, 4, 1, 0, epoch=2, drop_last=False)
    sampler = ResumableDistributedSampler.resuming(range(26), 4, 1, 0, 0, 2, 6, 4, 1, drop_last=False)
    assert (sampler.start_epoch, list(sampler)) == (2, full[24:])  # only the partial batch is left
    sampler = ResumableDistributedSampler.resuming(range(26), 4, 1, 0, 0, 2, 7, 4, 1, drop_last=False)
    assert sampler.start_epoch == 3 and list(sampler) == epoch_indices(26, 4, 1, 0, epoch=3, drop_last=False)
