"""CelebA in torchvision's layout: img_align_celeba/ (or its zip) plus list_eval_partition.txt."""

import numpy as np
import pytest
import torch
from PIL import Image

from gan_lightning.data import CelebADataModule, DatasetNotFoundError

from .builders import jpeg_bytes, make_zip, write_files

SPLIT_OF = ["0", "0", "0", "1", "2", "0"]  # 4 train, 1 valid, 1 test


def face(i: int) -> Image.Image:
    """18 wide x 30 high (portrait, like CelebA's 178x218): a grey 18x18 face in the middle, blue bands
    of 6 rows above and below."""
    pixels = np.zeros((30, 18, 3), np.uint8)
    pixels[:] = (0, 0, 255)
    pixels[6:24] = (100 + 10 * i,) * 3
    return Image.fromarray(pixels)


def celeba_files(zipped: bool) -> dict[str, bytes]:
    images = {f"img_align_celeba/{i + 1:06d}.jpg": jpeg_bytes(face(i), 100) for i in range(6)}
    partition = "".join(f"{i + 1:06d}.jpg {s}\n" for i, s in enumerate(SPLIT_OF)).encode()
    files = {"celeba/list_eval_partition.txt": partition}
    if not zipped:
        files.update({f"celeba/{name}": data for name, data in images.items()})
    return files, images


def celeba(tmp_path, **kwargs):
    root, cache = str(tmp_path / "root"), str(tmp_path / "cache")
    return CelebADataModule(root=root, cache_dir=cache, image_size=6, batch_size=2, **kwargs)


@pytest.mark.parametrize("zipped", [False, True])
def test_splits_and_center_crop(tmp_path, zipped):
    files, images = celeba_files(zipped)
    write_files(tmp_path / "root", files)
    if zipped:
        make_zip(tmp_path / "root" / "celeba" / "img_align_celeba.zip", images)
    sizes = {}
    for split in ("all", "train", "valid", "test"):
        dm = celeba(tmp_path, split=split)
        dm.prepare_data()
        dm.setup()
        sizes[split] = len(dm.images())
    assert sizes == {"all": 6, "train": 4, "valid": 1, "test": 1}
    dm = celeba(tmp_path)
    dm.setup()
    # the centred 18x18 square is the grey face: no blue band survives the default center crop
    assert (dm.images()[:, 2].int() - dm.images()[:, 0].int()).abs().max() <= 40  # a blue row would be ~255
    stretched = celeba(tmp_path, crop="stretch")
    stretched.setup()
    top = stretched.images()[:, :, 0].int()  # squeezed: the blue band is the top row
    assert (top[:, 2] - top[:, 0] > 150).all()
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (2, 3, 6, 6) and batch.dtype == torch.uint8


def test_missing_images_or_partition_file_name_the_paths(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        celeba(tmp_path, download=False).prepare_data()
    assert str((tmp_path / "root" / "celeba" / "img_align_celeba").resolve()) in str(error.value)
    assert "drive.google.com" in str(error.value)
    files, _ = celeba_files(zipped=False)
    del files["celeba/list_eval_partition.txt"]
    write_files(tmp_path / "root", files)
    celeba(tmp_path, download=False).prepare_data()  # "all" needs no partition file
    with pytest.raises(DatasetNotFoundError, match="list_eval_partition.txt"):
        celeba(tmp_path, split="train", download=False).prepare_data()


def test_bad_split_or_crop_is_rejected():
    with pytest.raises(ValueError, match="split"):
        CelebADataModule(split="training")
    with pytest.raises(ValueError, match="crop"):
        CelebADataModule(crop="zoom")
