"""Flowers: flower_photos.tgz read as a stream (stray .DS_Store and all), or the extracted folder."""

import os
import warnings

import pytest
import torch

from gan_lightning.data import DatasetNotFoundError, FlowersDataModule

from .builders import SHARED_DATA, UNREACHABLE, jpeg_bytes, make_tgz, needs_shared, solid, write_files

COLOURS = {"daisy": (240, 240, 240), "rose": (200, 20, 40), "tulip": (250, 200, 0)}


def flower_files(per_class: int = 3) -> dict[str, bytes]:
    files = {"flower_photos/.DS_Store": b"\x00\x00\x00\x01Bud1\x00\x10\x00\x00" + bytes(200)}
    for name, colour in COLOURS.items():
        for i in range(per_class):
            files[f"flower_photos/{name}/{i}.jpg"] = jpeg_bytes(solid(colour, 40))
    files["flower_photos/rose/broken.jpg"] = jpeg_bytes(solid((1, 2, 3), 40))[:100]  # truncated
    return files


def flowers(tmp_path, **kwargs):
    kwargs.setdefault("root", str(tmp_path / "root"))
    return FlowersDataModule(cache_dir=str(tmp_path / "cache"), image_size=8, batch_size=2, **kwargs)


def test_defaults_follow_the_matlab_recipe():
    dm = FlowersDataModule()
    assert (dm.image_size, dm.channels, dm.random_flip) == (64, 3, True)


def test_tgz_stream_skips_ds_store_and_broken_jpeg_with_one_warning(tmp_path):
    make_tgz(tmp_path / "root" / "flower_photos.tgz", flower_files())
    dm = flowers(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.prepare_data()
    skipped = [str(w.message) for w in caught if "Skipped" in str(w.message)]
    assert len(skipped) == 1 and "Skipped 2 of 11" in skipped[0] and ".DS_Store" in skipped[0]
    assert os.listdir(tmp_path / "root") == ["flower_photos.tgz"]  # read without extracting
    dm.setup()
    images = dm.images()
    assert images.shape == (9, 3, 8, 8) and images.dtype == torch.uint8
    rose = torch.tensor(COLOURS["rose"]).view(3, 1, 1)
    assert sum(bool((img.int() - rose).abs().max() <= 12) for img in images) == 3
    batch = next(iter(dm.train_dataloader()))
    out = dm.on_after_batch_transfer(batch, 0)
    assert batch.shape == (2, 3, 8, 8) and out.min() >= -1 and out.max() <= 1


def test_extracted_folder_layout(tmp_path):
    write_files(tmp_path / "root", flower_files(2))
    dm = flowers(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm.prepare_data()
    dm.setup()
    assert dm.images().shape == (6, 3, 8, 8)


def test_missing_or_unreachable_names_url_and_path(tmp_path):
    expected_path = str((tmp_path / "root" / "flower_photos.tgz").resolve())
    with pytest.raises(DatasetNotFoundError, match="download=False") as error:
        flowers(tmp_path, download=False).prepare_data()
    assert FlowersDataModule.url in str(error.value) and expected_path in str(error.value)

    offline = type("OfflineFlowers", (FlowersDataModule,), {"url": UNREACHABLE + "flower_photos.tgz"})
    with pytest.raises(DatasetNotFoundError, match="Connection refused|could not fetch") as error:
        offline(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache")).prepare_data()
    assert offline.url in str(error.value) and expected_path in str(error.value)
    assert os.listdir(tmp_path / "root") == []


@needs_shared("flower_photos.tgz")
def test_shared_flower_photos_end_to_end(tmp_path):
    dm = FlowersDataModule(root=str(SHARED_DATA), cache_dir=str(tmp_path / "cache"), batch_size=64)
    with pytest.warns(UserWarning, match=r"Skipped 1 of 4318 .*\.DS_Store"):
        dm.prepare_data()
    dm.setup()
    assert dm.images().shape == (4317, 3, 64, 64)
    batch = next(iter(dm.train_dataloader()))
    assert batch.dtype == torch.uint8 and batch.shape == (64, 3, 64, 64)
    out = dm.on_after_batch_transfer(batch, 0)
    assert out.dtype == torch.float32 and out.min() >= -1 and out.max() <= 1
