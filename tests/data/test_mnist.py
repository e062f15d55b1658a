"""MNIST and Fashion-MNIST from the IDX files, gzipped or not, in torchvision's raw/ layout."""

import numpy as np
import pytest
import torch

from gan_lightning.data import DatasetNotFoundError, FashionMNISTDataModule, MNISTDataModule

from .builders import SHARED_DATA, UNREACHABLE, idx_bytes, needs_shared, write_idx_gz


def digits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("cls", [MNISTDataModule, FashionMNISTDataModule])
def test_gz_files_alone_load_exactly_at_28_and_resized_to_32(tmp_path, cls):
    folder = "MNIST" if cls is MNISTDataModule else "FashionMNIST"
    train, test = digits(10), digits(3, seed=1)
    write_idx_gz(tmp_path / "root" / folder / "raw" / "train-images-idx3-ubyte.gz", train)
    write_idx_gz(tmp_path / "root" / folder / "raw" / "t10k-images-idx3-ubyte.gz", test)
    exact = cls(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), image_size=28, batch_size=5)
    exact.prepare_data()
    exact.setup()
    assert torch.equal(exact.images(), torch.from_numpy(train)[:, None])
    test_only = cls(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), image_size=28, split="test")
    test_only.prepare_data()
    test_only.setup()
    assert torch.equal(test_only.images(), torch.from_numpy(test)[:, None])
    default = cls(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), batch_size=5, split="all")
    assert (default.image_size, default.channels) == (32, 1)
    default.prepare_data()
    default.setup()
    assert default.images().shape == (13, 1, 32, 32)
    batch = next(iter(default.train_dataloader()))
    assert batch.shape == (5, 1, 32, 32) and batch.dtype == torch.uint8


def test_uncompressed_idx_is_read_too(tmp_path):
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(idx_bytes(digits(4)))
    dm = MNISTDataModule(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), image_size=28, batch_size=2)
    dm.prepare_data()
    dm.setup()
    assert torch.equal(dm.images()[:, 0], torch.from_numpy(digits(4)))


def test_missing_names_mirror_url_and_raw_path(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        FashionMNISTDataModule(root=str(tmp_path), download=False).prepare_data()
    message = str(error.value)
    assert "fashion-mnist" in message and "train-images-idx3-ubyte.gz" in message
    assert str((tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").resolve()) in message


def test_all_mirrors_unreachable_is_one_error(tmp_path):
    dm = MNISTDataModule(root=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    dm.mirrors = [UNREACHABLE, UNREACHABLE + "mirror2/"]
    with pytest.raises(DatasetNotFoundError, match="could not fetch") as error:
        dm.prepare_data()
    assert UNREACHABLE + "mirror2/train-images-idx3-ubyte.gz" in str(error.value)
    assert not (tmp_path / "MNIST" / "raw").exists() or not any((tmp_path / "MNIST" / "raw").iterdir())


@needs_shared("MNIST/raw/train-images-idx3-ubyte.gz", "FashionMNIST/raw/train-images-idx3-ubyte.gz")
@pytest.mark.parametrize("cls", [MNISTDataModule, FashionMNISTDataModule])
def test_shared_mnist_gz_end_to_end(tmp_path, cls):
    dm = cls(root=str(SHARED_DATA), cache_dir=str(tmp_path / "cache"), batch_size=128)
    dm.prepare_data()
    dm.setup()
    assert dm.images().shape == (60000, 1, 32, 32)
    if cls is MNISTDataModule:  # MNIST's well-known train statistics survive the pipeline
        assert abs(dm.images().float().mean().item() / 255 - 0.1307) < 0.01
    batch = next(iter(dm.train_dataloader()))
    assert batch.dtype == torch.uint8 and batch.shape == (128, 1, 32, 32)
    out = dm.on_after_batch_transfer(batch, 0)
    assert out.dtype == torch.float32 and out.min() >= -1 and out.max() <= 1
