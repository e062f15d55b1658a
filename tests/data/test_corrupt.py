"""Damaged files under --data.root: each bad archive or file is one line that names it and says what to do,
and nothing is written or deleted; unreadable images inside folders and archives are skipped and counted.

Every damaged file is a real one in its real format, cut short, with a byte flipped, or empty.
"""

import gzip
import multiprocessing
import multiprocessing.pool
import os
import pickle
import re
import shutil
import traceback
import warnings

import numpy as np
import pytest
from PIL import ImageFile

from gan_lightning.data import (
    CelebADataModule,
    CIFAR10DataModule,
    CorruptSourceError,
    FlowersDataModule,
    FolderDataModule,
    MNISTDataModule,
    PokemonDataModule,
    cache,
)
from gan_lightning.errors import UserError

from .builders import (
    SHARED_DATA,
    cifar_batch_bytes,
    cifar_images,
    flip_byte,
    idx_bytes,
    jpeg_bytes,
    make_tgz,
    make_zip,
    needs_shared,
    noise_image,
    offset_of,
    png_bytes,
    pokemon_files,
    random_bytes,
    solid,
    truncate,
    write_files,
    write_idx_gz,
    zip_member_data_offset,
)

WHAT_TO_DO = "Delete it to download it again, or replace it with a good copy."


def files_under(folder):
    """{relative path: bytes} of every file below `folder` ({} when it does not exist)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def corrupt_message(dm, tmp_path, bad_file):
    """Run prepare_data, which must raise CorruptSourceError; check that the message is one line that
    starts with the bad file's path and ends with what to do, and that no file was written or removed.
    Returns the message."""
    root = tmp_path / "root"
    before = files_under(root), files_under(tmp_path / "cache")
    with pytest.raises(CorruptSourceError) as error, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a test-built pokemon.zip is not d2l's: its SHA-1 warning is not tested here
        dm.prepare_data()
    message = str(error.value)
    assert isinstance(error.value, UserError)
    # raised by our code in this process, not re-raised by the decode pool: from a worker it would chain
    # the worker's traceback, and from the pool's item thread it would lose the frames of the reader
    assert not isinstance(error.value.__cause__, multiprocessing.pool.RemoteTraceback)
    assert "multiprocessing" not in traceback.extract_tb(error.value.__traceback__)[-1].filename
    assert "\n" not in message
    assert message.startswith(f"{bad_file.resolve()} ") and message.endswith(WHAT_TO_DO)
    assert (files_under(root), files_under(tmp_path / "cache")) == before
    return message


def module(cls, tmp_path, **kwargs):
    kwargs.setdefault("image_size", 8)
    return cls(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache"), batch_size=2, **kwargs)


# ----- zip: pokemon.zip, img_align_celeba.zip ----------------------------------------------------


@needs_shared("pokemon.zip")
def test_shared_pokemon_zip_cut_in_the_middle_is_one_line_and_no_warning(tmp_path):
    archive = tmp_path / "root" / "pokemon.zip"
    archive.parent.mkdir()
    shutil.copyfile(SHARED_DATA / "pokemon.zip", archive)
    truncate(archive, 0.5)
    before = files_under(tmp_path / "root")
    with pytest.raises(CorruptSourceError) as error, warnings.catch_warnings():
        warnings.simplefilter("error")  # the error alone: no SHA-1 warning about the half file first
        PokemonDataModule(root=str(tmp_path / "root"), cache_dir=str(tmp_path / "cache")).prepare_data()
    assert str(error.value) == (
        f"{archive.resolve()} is truncated or corrupt: it starts as a zip archive, but the list of its members at "
        f"its end is missing or damaged (an interrupted download?). {WHAT_TO_DO}"
    )
    assert files_under(tmp_path / "root") == before and files_under(tmp_path / "cache") == {}


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda archive: truncate(archive, 0.5), "is truncated or corrupt: it starts as a zip archive"),
        (lambda archive: archive.write_bytes(b""), "is empty (0 bytes)"),
        (lambda archive: archive.write_bytes(b"<html>503 Service Unavailable</html>"), "is not a zip archive"),
    ],
    ids=["cut", "empty", "html"],
)
def test_unreadable_pokemon_zip_is_one_line(tmp_path, damage, problem):
    archive = make_zip(tmp_path / "root" / "pokemon.zip", pokemon_files(6))
    damage(archive)
    assert problem in corrupt_message(module(PokemonDataModule, tmp_path), tmp_path, archive)


def decode_pool_available():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cpus > 1 and "fork" in multiprocessing.get_all_start_methods()


@pytest.mark.parametrize("in_pool", [False, True], ids=["serial", "decode-pool"])
def test_zip_member_failing_its_crc_names_archive_and_member(tmp_path, monkeypatch, in_pool):
    if in_pool:
        if not decode_pool_available():
            pytest.skip("the decode pool needs 2 CPUs and fork")
        monkeypatch.setattr(cache, "PARALLEL_MIN_IMAGES", 1)  # decode even 12 images in the process pool
    archive = make_zip(tmp_path / "root" / "pokemon.zip", pokemon_files(12))
    member = "pokemon/mon05/gen7x-regular.png"
    flip_byte(archive, zip_member_data_offset(archive, member) + 10)  # inside the PNG, which zip stores as is
    message = corrupt_message(module(PokemonDataModule, tmp_path), tmp_path, archive)
    assert f"is corrupt: its member {member} is damaged (Bad CRC-32" in message
    assert multiprocessing.active_children() == []  # the pool ended with the error


def test_bad_images_inside_a_zip_are_skipped_and_counted(tmp_path):
    files = pokemon_files(6)
    cut_png = png_bytes(noise_image(32))
    files.update(
        {
            "pokemon/empty/a.png": b"",
            "pokemon/cut/a.png": cut_png[: len(cut_png) // 2],
            "pokemon/text/a.png": b"Not Found",
        }
    )
    make_zip(tmp_path / "root" / "pokemon.zip", files)
    dm = module(PokemonDataModule, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.prepare_data()
    skipped = [str(w.message) for w in caught if "Skipped" in str(w.message)]
    assert len(skipped) == 1 and "Skipped 3 of 9 files" in skipped[0]
    dm.setup()
    assert dm.images().shape == (6, 3, 8, 8)


def test_a_cache_built_before_the_archive_was_damaged_is_kept_and_not_used(tmp_path):
    archive = make_zip(tmp_path / "root" / "pokemon.zip", pokemon_files(6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module(PokemonDataModule, tmp_path).prepare_data()
    (good_cache,) = (tmp_path / "cache").iterdir()
    cache_stat = good_cache.stat()
    truncate(archive, 0.6)  # a new size: the cache key changes, so the damaged file is read
    corrupt_message(module(PokemonDataModule, tmp_path), tmp_path, archive)
    assert list((tmp_path / "cache").iterdir()) == [good_cache]
    assert (good_cache.stat().st_mtime_ns, good_cache.stat().st_size) == (cache_stat.st_mtime_ns, cache_stat.st_size)


def celeba_zip(tmp_path):
    base = tmp_path / "root" / "celeba"
    images = {f"img_align_celeba/{i:06d}.jpg": jpeg_bytes(noise_image(24, seed=i)) for i in range(1, 5)}
    write_files(base, {"list_eval_partition.txt": b"000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n"})
    return make_zip(base / "img_align_celeba.zip", images), base / "list_eval_partition.txt"


def test_celeba_zip_cut_short_is_one_line(tmp_path):
    archive, _ = celeba_zip(tmp_path)
    truncate(archive, 0.7)
    assert "is truncated or corrupt" in corrupt_message(module(CelebADataModule, tmp_path), tmp_path, archive)


@pytest.mark.parametrize(
    "contents, problem",
    [
        (b"000001.jpg 0\n000002.jpg 0\n000003.j", "is corrupt: line 3 is '000003.j', not '<image name> <0, 1 or 2>'"),
        (b"000001.jpg 0\n000002.jpg 7\n", "is corrupt: line 2 is '000002.jpg 7'"),
        (b"\x00\xff\xfe\x89PNG" + bytes(40), "is not a text file"),
        (b"", "is empty (0 bytes)"),
        (b"\n\n", "lists no image"),
    ],
    ids=["cut-mid-line", "bad-split", "binary", "empty", "blank"],
)
def test_damaged_celeba_partition_file_is_one_line(tmp_path, contents, problem):
    _, partition = celeba_zip(tmp_path)
    partition.write_bytes(contents)
    message = corrupt_message(module(CelebADataModule, tmp_path, split="train"), tmp_path, partition)
    assert problem in message


# ----- tar.gz: flower_photos.tgz, cifar-10-python.tar.gz --------------------------------------


def flowers_tgz(tmp_path):
    """A flower_photos.tgz whose LICENSE.txt is incompressible, so gzip stores it verbatim."""
    license_text = random_bytes(100_000)
    files = {f"flower_photos/daisy/{i}.jpg": jpeg_bytes(solid((240, 240, 240), 16)) for i in range(4)}
    files["flower_photos/LICENSE.txt"] = license_text
    files.update({f"flower_photos/rose/{i}.jpg": jpeg_bytes(solid((200, 20, 40), 16)) for i in range(4)})
    return make_tgz(tmp_path / "root" / "flower_photos.tgz", files), license_text


#: Damage to a gzip stream, as {id: (damage(path, bytes it stores verbatim), what the message says)}.
GZIP_DAMAGE = {
    "cut": (lambda gz, _: truncate(gz, 0.5), "is truncated: Compressed file ended before the end-of-stream marker"),
    "trailer-cut": (lambda gz, _: gz.write_bytes(gz.read_bytes()[:-4]), "is truncated"),  # only its length lost
    "flipped-byte": (lambda gz, stored: flip_byte(gz, offset_of(gz, stored) + 32), "is corrupt (CRC check failed"),
    "empty": (lambda gz, _: gz.write_bytes(b""), "is empty (0 bytes)"),
}


@pytest.mark.parametrize("damage, problem", GZIP_DAMAGE.values(), ids=GZIP_DAMAGE.keys())
def test_damaged_flower_photos_tgz_is_one_line(tmp_path, damage, problem):
    archive, license_text = flowers_tgz(tmp_path)
    damage(archive, license_text)
    assert problem in corrupt_message(module(FlowersDataModule, tmp_path), tmp_path, archive)


def cifar_files():
    files = {f"cifar-10-batches-py/data_batch_{i + 1}": cifar_batch_bytes(b) for i, b in enumerate(cifar_images())}
    files["cifar-10-batches-py/test_batch"] = cifar_batch_bytes(np.zeros((2, 3, 32, 32), np.uint8))
    files["cifar-10-batches-py/readme.html"] = random_bytes(100_000)
    return files


def test_damaged_cifar_tar_gz_is_one_line(tmp_path):
    files = cifar_files()
    archive = make_tgz(tmp_path / "root" / "cifar-10-python.tar.gz", files)
    flip_byte(archive, offset_of(archive, files["cifar-10-batches-py/readme.html"]) + 32)
    assert "is corrupt (CRC check failed" in corrupt_message(module(CIFAR10DataModule, tmp_path), tmp_path, archive)
    truncate(archive, 0.5)
    assert "is truncated" in corrupt_message(module(CIFAR10DataModule, tmp_path), tmp_path, archive)


def test_cifar_tar_gz_holding_a_cut_pickle_or_no_batches_names_the_member(tmp_path):
    files = cifar_files()
    batch = files["cifar-10-batches-py/data_batch_2"]
    files["cifar-10-batches-py/data_batch_2"] = batch[: len(batch) // 2]
    archive = make_tgz(tmp_path / "root" / "cifar-10-python.tar.gz", files)
    message = corrupt_message(module(CIFAR10DataModule, tmp_path), tmp_path, archive)
    assert "is corrupt: its member cifar-10-batches-py/data_batch_2 is not a CIFAR-10 python batch (" in message
    make_tgz(archive, {"flower_photos/daisy/1.jpg": jpeg_bytes(solid(0, 8))})
    message = corrupt_message(module(CIFAR10DataModule, tmp_path), tmp_path, archive)
    assert "lacks data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5 under" in message


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda batch: batch[: len(batch) // 2], "(UnpicklingError: pickle data was truncated)"),
        (lambda batch: b"", "is empty (0 bytes)"),
        (lambda batch: b"\x00" + batch[1:], "(UnpicklingError: invalid load key"),  # the PROTO opcode flipped
        (lambda batch: pickle.dumps({"labels": [1, 2]}), "(KeyError: 'data')"),  # a pickle, but not a batch
        (lambda batch: pickle.dumps({"data": np.zeros((2, 100), np.uint8)}), "not rows of 3072 bytes"),
    ],
    ids=["cut", "empty", "flipped-byte", "no-data", "wrong-shape"],
)
def test_damaged_extracted_cifar_batch_is_one_line_naming_it(tmp_path, damage, problem):
    files = cifar_files()
    files["cifar-10-batches-py/data_batch_3"] = damage(files["cifar-10-batches-py/data_batch_3"])
    write_files(tmp_path / "root", files)
    bad_file = tmp_path / "root" / "cifar-10-batches-py" / "data_batch_3"
    message = corrupt_message(module(CIFAR10DataModule, tmp_path), tmp_path, bad_file)
    assert problem in message


# ----- IDX: MNIST/raw/*-ubyte.gz and *-ubyte -----------------------------------------------------


idx_labels = b"\x00\x00\x08\x01" + (4).to_bytes(4, "big") + bytes(4)  # an IDX1 labels file, not images


def mnist_raw(tmp_path):
    return tmp_path / "root" / "MNIST" / "raw"


def random_digits(count=40):
    return np.frombuffer(random_bytes(count * 28 * 28), np.uint8).reshape(count, 28, 28)


MNIST_GZ_DAMAGE = {
    **GZIP_DAMAGE,
    "html": (lambda gz, _: gz.write_bytes(b"<html>Not Found</html>"), "is corrupt (Not a gzipped file"),
    "labels-file": (lambda gz, _: gz.write_bytes(gzip.compress(idx_labels)), "is not an IDX file of uint8 images"),
}


@pytest.mark.parametrize("damage, problem", MNIST_GZ_DAMAGE.values(), ids=MNIST_GZ_DAMAGE.keys())
def test_damaged_mnist_gz_is_one_line(tmp_path, damage, problem):
    digits = random_digits()
    gz = write_idx_gz(mnist_raw(tmp_path) / "train-images-idx3-ubyte.gz", digits)
    damage(gz, digits.tobytes())
    assert problem in corrupt_message(module(MNISTDataModule, tmp_path), tmp_path, gz)


def test_cut_uncompressed_idx_is_one_line_with_the_sizes(tmp_path):
    raw = mnist_raw(tmp_path)
    raw.mkdir(parents=True)
    idx = raw / "train-images-idx3-ubyte"
    idx.write_bytes(idx_bytes(random_digits(10))[:5000])
    message = corrupt_message(module(MNISTDataModule, tmp_path), tmp_path, idx)
    assert "is truncated: its header says 10 images of 28x28 (7856 bytes with the header), but it holds 5000" in message


# ----- folders of images -----------------------------------------------------------------------


@pytest.mark.parametrize("pillow_loads_truncated", [False, True], ids=["pillow-default", "LOAD_TRUNCATED_IMAGES"])
def test_empty_cut_or_fake_images_in_a_folder_are_skipped_and_counted(tmp_path, monkeypatch, pillow_loads_truncated):
    # Pillow fills the missing part of a truncated image with grey when some other code has set this
    # process-wide flag; the decode must still refuse such a file.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", pillow_loads_truncated)
    jpeg, png = jpeg_bytes(noise_image(64)), png_bytes(noise_image(64))
    folder = write_files(
        tmp_path / "root",
        {
            "good/a.png": png_bytes(solid((0, 0, 255), 8)),
            "good/b.jpg": jpeg_bytes(solid((255, 0, 0), 8)),
            "bad/empty.png": b"",
            "bad/cut.jpg": jpeg[: len(jpeg) * 6 // 10],  # cut inside the compressed scan, past every header
            "bad/cut.png": png[: len(png) * 6 // 10],  # cut inside the IDAT data
            "bad/page.jpg": b"<html>Not Found</html>",
        },
    )
    dm = FolderDataModule(root=str(folder), cache_dir=str(tmp_path / "cache"), image_size=8, batch_size=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.prepare_data()
    skipped = [str(w.message) for w in caught if "Skipped" in str(w.message)]
    assert len(skipped) == 1 and "Skipped 4 of 6 files" in skipped[0]
    assert re.search(r"bad/cut\.jpg \(OSError: image file is truncated", skipped[0])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is pillow_loads_truncated  # the caller's setting is left as it was
    dm.setup()
    assert dm.images().shape == (2, 3, 8, 8)
