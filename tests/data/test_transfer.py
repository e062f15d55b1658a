"""on_after_batch_transfer: uint8 -> [-1, 1] on the batch's device, reproducible random flips."""

import torch

from gan_lightning.data import DemoDataModule


def demo(tmp_path, **kwargs) -> DemoDataModule:
    kwargs.setdefault("random_flip", True)
    return DemoDataModule(root=str(tmp_path), cache_dir=str(tmp_path / "cache"), image_size=4, **kwargs)


def asymmetric_batch(n: int = 64) -> torch.Tensor:
    """n images whose left column is 0 and right columns 255: a flip is visible in every image."""
    batch = torch.full((n, 3, 4, 4), 255, dtype=torch.uint8)
    batch[..., 0] = 0
    return batch


def test_uint8_becomes_float_in_minus_one_to_one():
    batch = torch.tensor([0, 51, 127, 128, 255], dtype=torch.uint8).view(5, 1, 1, 1)
    out = DemoDataModule(random_flip=False).on_after_batch_transfer(batch, 0)
    assert out.dtype == torch.float32
    expected = torch.tensor([0, 51, 127, 128, 255], dtype=torch.float64) / 127.5 - 1
    assert torch.allclose(out.flatten().double(), expected, atol=1e-6)
    assert out.min() == -1 and out.max() == 1


def test_without_random_flip_nothing_is_flipped(tmp_path):
    dm = demo(tmp_path, random_flip=False)
    out = dm.on_after_batch_transfer(asymmetric_batch(), 0)
    assert (out[..., 0] == -1).all() and (out[..., 3] == 1).all()


def flipped_mask(out: torch.Tensor) -> torch.Tensor:
    left, right = out[:, 0, 0, 0], out[:, 0, 0, 3]
    assert ((left == -1) & (right == 1) | (left == 1) & (right == -1)).all()  # each image whole or mirrored
    return left == 1


def test_random_flip_mirrors_a_random_part_of_each_batch_reproducibly(tmp_path):
    dm = demo(tmp_path, seed=3)
    masks = [flipped_mask(dm.on_after_batch_transfer(asymmetric_batch(), 0)) for _ in range(3)]
    for mask in masks:
        assert 10 < int(mask.sum()) < 54  # about half of 64 (binomial, p = 0.5)
    assert not torch.equal(masks[0], masks[1])  # each batch index draws its own flips
    replay = demo(tmp_path, seed=3)
    assert torch.equal(flipped_mask(replay.on_after_batch_transfer(asymmetric_batch(), 0)), masks[0])
    other_seed = demo(tmp_path, seed=4)
    assert not torch.equal(flipped_mask(other_seed.on_after_batch_transfer(asymmetric_batch(), 0)), masks[0])


def test_flips_do_not_touch_the_global_rng(tmp_path):
    dm = demo(tmp_path)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    dm.on_after_batch_transfer(asymmetric_batch(), 0)
    assert torch.equal(torch.rand(3), expected)


def test_other_batches_pass_through(tmp_path):
    dm = demo(tmp_path)
    noise = torch.randn(2, 3)
    assert dm.on_after_batch_transfer(noise, 0) is noise
    assert dm.on_after_batch_transfer({"x": 1}, 0) == {"x": 1}
    assert dm.state_dict()["batches_consumed"] == 0  # only image batches count as consumed
