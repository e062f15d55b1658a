"""CIFAR-10 from torchvision's python pickles: the tar.gz or the extracted cifar-10-batches-py/."""

import hashlib
import os

import numpy as np
import pytest
import torch

from gan_lightning.data import ChecksumMismatchError, CIFAR10DataModule, DatasetNotFoundError

from .builders import UNREACHABLE, cifar_batch_bytes, cifar_images, make_tgz, write_files


def cifar_files(batches):
    files = {f"cifar-10-batches-py/data_batch_{i + 1}": cifar_batch_bytes(b) for i, b in enumerate(batches)}
    files["cifar-10-batches-py/test_batch"] = cifar_batch_bytes(np.full((2, 3, 32, 32), 7, np.uint8))
    files["cifar-10-batches-py/batches.meta"] = b"meta"
    return files


def cifar(tmp_path, **kwargs):
    return CIFAR10DataModule(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), batch_size=4, **kwargs)


@pytest.mark.parametrize("layout", ["tar.gz", "extracted"])
def test_pickles_decode_to_the_exact_pixels_in_batch_order(tmp_path, layout):
    batches = cifar_images()
    files = cifar_files(batches)
    if layout == "tar.gz":  # archive order scrambled on purpose: data_batch_1..5 order must still hold
        make_tgz(tmp_path / "root" / "cifar-10-python.tar.gz", dict(reversed(list(files.items()))))
    else:
        write_files(tmp_path / "root", files)
    dm = cifar(tmp_path)
    dm.prepare_data()
    dm.setup()
    assert (dm.image_size, dm.channels) == (32, 3)
    assert torch.equal(dm.images(), torch.from_numpy(np.concatenate(batches)))
    batch = next(iter(dm.train_dataloader()))
    assert batch.dtype == torch.uint8 and batch.shape == (4, 3, 32, 32)


def test_split_selects_the_batches_and_changes_the_key(tmp_path):
    write_files(tmp_path / "root", cifar_files(cifar_images()))
    train, test, both = cifar(tmp_path), cifar(tmp_path, split="test"), cifar(tmp_path, split="all")
    for dm in (train, test, both):
        dm.prepare_data()
        dm.setup()
    assert len({train.cache_key, test.cache_key, both.cache_key}) == 3
    assert both.images().shape == (22, 3, 32, 32) and (both.images()[-2:] == 7).all()
    assert test.images().shape == (2, 3, 32, 32) and (test.images() == 7).all()
    with pytest.raises(ValueError, match="split"):
        cifar(tmp_path, split="validation")


def test_missing_batches_and_download_false_name_the_paths(tmp_path):
    write_files(tmp_path / "root", {"cifar-10-batches-py/data_batch_1": cifar_batch_bytes(cifar_images(1)[0])})
    with pytest.raises(DatasetNotFoundError) as error:
        cifar(tmp_path, download=False).prepare_data()
    message = str(error.value)
    assert CIFAR10DataModule.url in message
    assert str((tmp_path / "root" / "cifar-10-python.tar.gz").resolve()) in message
    assert "data_batch_5" in message


def test_unreachable_and_bad_md5_downloads_leave_nothing(tmp_path, http_server):
    offline = type("OfflineCIFAR", (CIFAR10DataModule,), {"url": UNREACHABLE + "cifar-10-python.tar.gz"})
    with pytest.raises(DatasetNotFoundError, match="could not fetch"):
        offline(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache")).prepare_data()

    base_url, served = http_server
    make_tgz(served / "cifar-10-python.tar.gz", cifar_files(cifar_images()))
    served_cls = type("ServedCIFAR", (CIFAR10DataModule,), {"url": base_url + "cifar-10-python.tar.gz"})
    with pytest.raises(ChecksumMismatchError, match=CIFAR10DataModule.md5):  # torchvision's md5, not ours
        served_cls(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache")).prepare_data()
    assert os.listdir(tmp_path / "root") == []

    served_md5 = hashlib.md5((served / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
    good = type("GoodCIFAR", (served_cls,), {"md5": served_md5})
    dm = good(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"))
    dm.prepare_data()
    dm.setup()
    assert dm.images().shape == (20, 3, 32, 32)
