"""The decoded-once cache: written whole or not at all, reused without decoding, rebuilt on change."""

import os
import re
import warnings

import numpy as np
import pytest
import torch

from gan_lightning.data import DemoDataModule, FolderDataModule, NoImagesError, PokemonDataModule
from gan_lightning.data.cache import write_cache
from gan_lightning.data.image import convert_image

from .builders import make_zip, png_bytes, pokemon_files, solid


def pokemon(tmp_path, **kwargs) -> PokemonDataModule:
    return PokemonDataModule(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), batch_size=2, **kwargs)


def build_pokemon_zip(tmp_path, count=12):
    return make_zip(tmp_path / "root" / "pokemon.zip", pokemon_files(count))


def test_cache_is_a_whole_npy_file_and_nothing_else_is_left(tmp_path):
    build_pokemon_zip(tmp_path)
    before = sorted(os.listdir(tmp_path / "root"))
    dm = pokemon(tmp_path, image_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the test zip's SHA-1 is not d2l's
        dm.prepare_data()
    assert sorted(os.listdir(tmp_path / "root")) == before  # nothing written next to the source
    assert os.listdir(tmp_path / "cache") == [dm.cache_path.name]  # no temporary files left
    array = np.load(dm.cache_path)
    assert array.dtype == np.uint8 and array.shape == (12, 3, 16, 16)


def test_second_prepare_reuses_the_cache_without_decoding(tmp_path):
    archive = build_pokemon_zip(tmp_path)
    dm = pokemon(tmp_path, image_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm.prepare_data()
    dm.setup()
    first = dm.images().clone()
    stat = dm.cache_path.stat()
    # Replace the archive by garbage of the same size and mtime: the fingerprint is unchanged, so a
    # reusing prepare_data succeeds, while any attempt to decode would fail on the garbage.
    source_stat = archive.stat()
    archive.write_bytes(b"\x00" * source_stat.st_size)
    os.utime(archive, ns=(source_stat.st_atime_ns, source_stat.st_mtime_ns))
    again = pokemon(tmp_path, image_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no checksum warning either: nothing was read
        again.prepare_data()
    again.setup()
    assert again.cache_key == dm.cache_key
    after = again.cache_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert (again.images() == first).all()


def test_changed_size_or_source_rebuilds(tmp_path):
    archive = build_pokemon_zip(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = pokemon(tmp_path, image_size=8)
        small.prepare_data()
        large = pokemon(tmp_path, image_size=16)
        large.prepare_data()
        grey = pokemon(tmp_path, image_size=16, channels=1)
        grey.prepare_data()
    keys = {small.cache_key, large.cache_key, grey.cache_key}
    assert len(keys) == 3
    large.setup()
    grey.setup()
    assert small.images().shape == (12, 3, 8, 8) and large.images().shape == (12, 3, 16, 16)
    assert grey.images().shape == (12, 1, 16, 16)

    # the user replaced the archive in place: same member names, new pixels, fewer files
    names = sorted(pokemon_files(12))[:7]
    make_zip(archive, {name: png_bytes(solid((5, 250, 5), 16)) for name in names})
    changed = pokemon(tmp_path, image_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changed.prepare_data()
    changed.setup()
    assert changed.cache_key != large.cache_key
    assert changed.images().shape == (7, 3, 16, 16)
    assert (changed.images().permute(0, 2, 3, 1).reshape(-1, 3) == torch.tensor([5, 250, 5], dtype=torch.uint8)).all()
    assert large.cache_path.exists()  # the old cache is not destroyed


def test_cache_key_is_filename_safe_and_stable(tmp_path):
    build_pokemon_zip(tmp_path)
    a, b = pokemon(tmp_path), pokemon(tmp_path)
    assert a.cache_key == b.cache_key
    assert re.fullmatch(r"[A-Za-z0-9._-]+", a.cache_key)
    assert a.cache_key.startswith("pokemon-64px-3ch-")
    assert a.cache_dir == (tmp_path / "cache").resolve()


def test_interrupted_decoding_leaves_no_file(tmp_path):
    def items():
        for i in range(3):
            yield f"img{i}", png_bytes(solid(i, 4, "L"))
        raise KeyboardInterrupt  # the user pressed Ctrl-C mid-way

    path = tmp_path / "cache" / "x.npy"
    with pytest.raises(KeyboardInterrupt):
        write_cache(path, items(), size=4, channels=1, total=3)
    assert list((tmp_path / "cache").iterdir()) == []


def test_unreadable_files_are_skipped_with_one_counting_warning(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.png").write_bytes(png_bytes(solid((i, 0, 0), 6)))
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + os.urandom(64))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "notes.txt").write_text("not an image")
    dm = FolderDataModule(root=str(folder), cache_dir=str(tmp_path / "cache"), image_size=6, batch_size=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.prepare_data()
    skipped = [w for w in caught if "Skipped" in str(w.message)]
    assert len(skipped) == 1
    assert "Skipped 3 of 8 files" in str(skipped[0].message)
    dm.setup()
    assert dm.images().shape == (5, 3, 6, 6)


def test_no_readable_image_is_an_error_naming_the_folder(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    dm = FolderDataModule(root=str(folder), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(NoImagesError, match=re.escape(str(folder))), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm.prepare_data()
    assert not any((tmp_path / "cache").glob("*.npy"))


def test_parallel_decoding_keeps_source_order(tmp_path):
    # 1100 images is above the process-pool threshold: the pool must return rows in source order.
    dm = DemoDataModule(root=str(tmp_path), cache_dir=str(tmp_path / "cache"), image_size=8, num_images=1100)
    dm.prepare_data()
    dm.setup()
    items, _ = dm.list_images(dm.find_source())
    items = list(items)
    for index in (0, 1, 517, 1099):
        expected = convert_image(items[index][1](), 8, 3)
        assert (dm.images()[index].numpy() == expected).all()


def test_setup_without_prepare_builds_the_cache(tmp_path):
    dm = DemoDataModule(root=str(tmp_path), cache_dir=str(tmp_path / "cache"), image_size=8, num_images=10)
    dm.setup("fit")
    assert dm.images().shape == (10, 3, 8, 8)
    assert dm.cache_path.exists()


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_LIGHTNING_CACHE", str(tmp_path / "env-cache"))
    assert DemoDataModule().cache_dir == (tmp_path / "env-cache").resolve()
    monkeypatch.delenv("GAN_LIGHTNING_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert DemoDataModule().cache_dir == (tmp_path / "xdg" / "gan_lightning").resolve()
