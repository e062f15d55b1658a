"""A folder of the user's own images: flat or class subfolders, recursive; errors name the folder."""

import re
import tarfile

import pytest
import torch

from gan_lightning.data import DatasetNotFoundError, FolderDataModule, NoImagesError

from .builders import SHARED_DATA, jpeg_bytes, needs_shared, png_bytes, rgba_half_transparent, solid, write_files


def folder(path, tmp_path, **kwargs):
    kwargs.setdefault("batch_size", 2)
    return FolderDataModule(root=str(path), cache_dir=str(tmp_path / "cache"), image_size=8, **kwargs)


def test_flat_and_nested_images_of_mixed_formats(tmp_path):
    images = tmp_path / "mine"
    write_files(
        images,
        {
            "a.png": png_bytes(solid((255, 0, 0), 10)),
            "b.jpg": jpeg_bytes(solid((0, 0, 255), 12)),
            "cats/c.png": png_bytes(rgba_half_transparent(8)),
            "cats/deep/d.png": png_bytes(solid(30, 9, "L")),
        },
    )
    dm = folder(images, tmp_path)
    dm.prepare_data()
    dm.setup()
    assert dm.images().shape == (4, 3, 8, 8)
    assert (dm.images()[0, 0] == 255).all() and (dm.images()[0, 1] == 0).all()  # a.png, sorted first
    assert (dm.images()[2, :, :, 4:] == 255).all()  # cats/c.png: transparent half on white
    assert dm.cache_key.startswith("folder-8px-3ch-")
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (2, 3, 8, 8) and batch.dtype == torch.uint8


def test_grey_output_from_colour_folder(tmp_path):
    write_files(tmp_path / "mine", {"x.png": png_bytes(solid((0, 255, 0), 8))})
    dm = folder(tmp_path / "mine", tmp_path, channels=1, batch_size=1)
    dm.setup()
    assert dm.images().shape == (1, 1, 8, 8)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with pytest.raises(NoImagesError, match=re.escape(str(empty.resolve())) + ".*empty"):
        folder(empty, tmp_path).prepare_data()
    missing = tmp_path / "nope"
    with pytest.raises(DatasetNotFoundError, match=re.escape(str(missing.resolve())) + " does not exist"):
        folder(missing, tmp_path).prepare_data()


@needs_shared("cifar10-jpeg-train.tar.gz")
def test_shared_cifar_jpegs_one_class(tmp_path):
    root = tmp_path / "airplanes"  # one class of 5,000 JPEGs, extracted from the stream
    root.mkdir()
    with tarfile.open(SHARED_DATA / "cifar10-jpeg-train.tar.gz", mode="r|gz") as stream:
        for member in stream:
            if member.isfile() and member.name.startswith("cifar10-jpeg/train/airplane/"):
                (root / member.name.rsplit("/", 1)[1]).write_bytes(stream.extractfile(member).read())
            elif len(list(root.iterdir())) >= 5000:
                break
    dm = FolderDataModule(root=str(root), cache_dir=str(tmp_path / "cache"), image_size=32, batch_size=256)
    dm.prepare_data()
    dm.setup()
    assert dm.images().shape == (5000, 3, 32, 32)
    batch = next(iter(dm.train_dataloader()))
    assert batch.dtype == torch.uint8 and batch.shape == (256, 3, 32, 32)
    out = dm.on_after_batch_transfer(batch, 0)
    assert out.dtype == torch.float32 and out.min() >= -1 and out.max() <= 1
