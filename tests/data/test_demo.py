"""The generated offline demo set: no files, deterministic, clearly structured shapes on white."""

import torch

from gan_lightning.data import DemoDataModule
from gan_lightning.data.demo import COLOURS


def demo(tmp_path, **kwargs):
    kwargs.setdefault("num_images", 60)
    return DemoDataModule(root=str(tmp_path / "nothing-here"), cache_dir=str(tmp_path / "cache"), **kwargs)


def test_needs_no_files_and_is_deterministic(tmp_path):
    a = demo(tmp_path)
    a.setup()
    assert a.images().shape == (60, 3, 32, 32) and a.images().dtype == torch.uint8
    assert not (tmp_path / "nothing-here").exists()
    c = DemoDataModule(root=str(tmp_path), cache_dir=str(tmp_path / "other-cache"), num_images=60)
    c.setup()
    assert torch.equal(a.images(), c.images())  # same data_seed, rebuilt elsewhere: same images
    d = demo(tmp_path, data_seed=1)
    d.setup()
    assert not torch.equal(a.images(), d.images())


def test_each_image_is_one_coloured_shape_on_white(tmp_path):
    dm = demo(tmp_path)
    dm.setup()
    images = dm.images().int()
    corners = images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all()  # white background
    palette = torch.tensor(COLOURS)  # (6, 3)
    # per image, how many pixels have each palette colour: exactly one colour, over a sizeable area
    close = (images[:, None] - palette[None, :, :, None, None]).abs().amax(dim=2) <= 3  # (N, 6, H, W)
    counts = close.flatten(2).sum(dim=2).sort(dim=1, descending=True).values
    assert (counts[:, 0] >= 20).all() and (counts[:, 1] == 0).all()
    used = close.flatten(2).sum(dim=2).argmax(dim=1)
    assert len(set(used.tolist())) == len(COLOURS)  # every colour appears in 60 images


def test_other_sizes_and_grey(tmp_path):
    dm = demo(tmp_path, image_size=64, channels=1, num_images=5)
    dm.setup()
    assert dm.images().shape == (5, 1, 64, 64)
