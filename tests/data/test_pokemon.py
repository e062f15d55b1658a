"""Pokemon: d2l's zip (or its extracted folder), downloads with SHA-1, and every bad-input path."""

import hashlib
import os
import re
import warnings

import pytest
import torch

from gan_lightning.data import ChecksumMismatchError, DatasetNotFoundError, PokemonDataModule

from .builders import SHARED_DATA, UNREACHABLE, make_zip, needs_shared, pokemon_files, write_files


def pokemon(tmp_path, cls=PokemonDataModule, **kwargs):
    kwargs.setdefault("root", str(tmp_path / "root"))
    kwargs.setdefault("image_size", 16)
    return cls(cache_dir=str(tmp_path / "cache"), batch_size=4, **kwargs)


def first_batch(dm):
    dm.setup("fit")
    return next(iter(dm.train_dataloader()))


def test_zip_of_rgba_and_palette_sprites_gives_uint8_batches_on_white(tmp_path):
    make_zip(tmp_path / "root" / "pokemon.zip", pokemon_files(12))
    dm = pokemon(tmp_path)
    with pytest.warns(UserWarning, match="SHA-1") as caught:
        dm.prepare_data()  # a placed file whose SHA-1 is not d2l's: used, with one warning
    assert len([w for w in caught if "SHA-1" in str(w.message)]) == 1
    batch = first_batch(dm)
    assert batch.dtype == torch.uint8 and batch.shape == (4, 3, 16, 16)
    images = dm.images()
    assert images.shape == (12, 3, 16, 16)
    # mon00 (RGBA) and mon01 (palette + tRNS) have transparent right halves: white after conversion
    assert (images[0, :, :, 12:] == 255).all() and (images[1, :, :, 12:] == 255).all()
    assert (images[1, :, :, :4].reshape(3, -1).T == torch.tensor([20, 40, 220], dtype=torch.uint8)).all()
    out = dm.on_after_batch_transfer(batch, 0)
    assert out.dtype == torch.float32 and out.min() >= -1 and out.max() <= 1


def test_extracted_folder_is_used_when_there_is_no_zip(tmp_path):
    write_files(tmp_path / "root", pokemon_files(6))
    dm = pokemon(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no checksum to compare for a folder: no warning
        dm.prepare_data()
    assert first_batch(dm).shape == (4, 3, 16, 16)
    assert len(dm.images()) == 6


def test_missing_with_download_false_names_url_path_and_how_to_place_it(tmp_path):
    dm = pokemon(tmp_path, download=False)
    with pytest.raises(DatasetNotFoundError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert PokemonDataModule.url in message
    assert str((tmp_path / "root" / "pokemon.zip").resolve()) in message
    assert "by hand" in message and "download=False" in message


class OfflinePokemon(PokemonDataModule):
    url = UNREACHABLE + "pokemon.zip"


def test_unreachable_url_is_one_clear_error_and_leaves_no_file(tmp_path):
    dm = pokemon(tmp_path, cls=OfflinePokemon)
    with pytest.raises(DatasetNotFoundError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert OfflinePokemon.url in message
    assert str((tmp_path / "root" / "pokemon.zip").resolve()) in message
    assert "by hand" in message
    assert os.listdir(tmp_path / "root") == []


def served_pokemon(base_url, sha1):
    return type("ServedPokemon", (PokemonDataModule,), {"url": base_url + "pokemon.zip", "sha1": sha1})


def test_download_verifies_sha1_and_builds_the_cache(tmp_path, http_server):
    base_url, served = http_server
    archive = make_zip(served / "pokemon.zip", pokemon_files(8))
    sha1 = hashlib.sha1(archive.read_bytes()).hexdigest()
    dm = pokemon(tmp_path, cls=served_pokemon(base_url, sha1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right checksum: no warning
        dm.prepare_data()
    assert (tmp_path / "root" / "pokemon.zip").read_bytes() == archive.read_bytes()
    assert sorted(os.listdir(tmp_path / "root")) == ["pokemon.zip"]
    assert first_batch(dm).shape == (4, 3, 16, 16)


def test_checksum_mismatch_removes_the_download_and_keeps_the_good_cache(tmp_path, http_server):
    base_url, served = http_server
    good = make_zip(tmp_path / "root" / "pokemon.zip", pokemon_files(8))
    good_sha1 = hashlib.sha1(good.read_bytes()).hexdigest()
    cls = served_pokemon(base_url, good_sha1)
    dm = pokemon(tmp_path, cls=cls)
    dm.prepare_data()  # a good cache from the good file
    cache = dm.cache_path
    cache_bytes, cache_mtime = cache.read_bytes(), cache.stat().st_mtime_ns

    good.unlink()  # the file is gone, so prepare_data downloads, and the server sends corrupt bytes
    (served / "pokemon.zip").write_bytes(b"PK" + os.urandom(5000))
    with pytest.raises(ChecksumMismatchError, match=re.escape(good_sha1)) as error:
        pokemon(tmp_path, cls=cls).prepare_data()
    assert str(tmp_path / "root" / "pokemon.zip") in str(error.value)
    assert os.listdir(tmp_path / "root") == []  # no partial or corrupt file left behind
    assert cache.read_bytes() == cache_bytes and cache.stat().st_mtime_ns == cache_mtime


@needs_shared("pokemon.zip")
def test_shared_pokemon_zip_end_to_end(tmp_path):
    dm = PokemonDataModule(root=str(SHARED_DATA), cache_dir=str(tmp_path / "cache"), batch_size=256)
    with pytest.warns(UserWarning, match="SHA-1"):  # the shared copy is a stand-in, not d2l's file
        dm.prepare_data()
    batch = first_batch(dm)
    assert batch.dtype == torch.uint8 and batch.shape == (256, 3, 64, 64)
    assert dm.images().shape == (4895, 3, 64, 64)
    assert (dm.images()[:, :, 0, 0] == 255).float().mean() > 0.95  # transparent corners became white
    out = dm.on_after_batch_transfer(batch, 0)
    assert out.dtype == torch.float32 and out.min() >= -1 and out.max() <= 1
