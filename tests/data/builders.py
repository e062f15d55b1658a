"""Builders for small datasets in their real on-disk formats, and where the shared real datasets are."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("GAN_LIGHTNING_SHARED_DATA", REPO.parent / "shared" / "data"))


def needs_shared(*relative: str):
    """Skip unless every path exists under ../shared/data (the real datasets; absent on users' machines)."""
    missing = [p for p in relative if not (SHARED_DATA / p).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} under {SHARED_DATA}")


# ----- encoded images -----------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def rgba_half_transparent(size: int = 8, colour=(200, 30, 30)) -> Image.Image:
    """Left half opaque `colour`, right half fully transparent (a sprite on a transparent background)."""
    pixels = np.zeros((size, size, 4), np.uint8)
    pixels[:, : size // 2] = (*colour, 255)
    pixels[:, size // 2 :] = (0, 255, 0, 0)  # transparent green: must come out white, not green
    return Image.fromarray(pixels, "RGBA")


def palette_with_transparency(size: int = 8) -> Image.Image:
    """A palette (P) image whose index 0 is transparent (tRNS) and index 1 opaque blue; left half blue."""
    image = Image.new("P", (size, size), 0)
    image.putpalette([0, 0, 0] + [20, 40, 220] + [0, 0, 0] * 254)
    image.paste(1, (0, 0, size // 2, size))
    image.info["transparency"] = 0
    return image


def solid(colour, size: int = 8, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, (size, size), colour)


# ----- archives and layouts -----------------------------------------------------------------


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def make_tgz(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def pokemon_files(count: int = 12) -> dict[str, bytes]:
    """pokemon/<class>/<file>.png like d2l's zip: RGBA sprites, palette PNGs with transparency, one grey PNG."""
    files = {}
    for i in range(count):
        kind = i % 3
        if kind == 0:
            image = rgba_half_transparent(16, colour=(10 * i, 30, 30))
        elif kind == 1:
            image = palette_with_transparency(16)
        else:
            image = solid(128, 16, "L")
        files[f"pokemon/mon{i:02d}/gen7x-regular.png"] = png_bytes(image)
    return files


def cifar_batch_bytes(images: np.ndarray) -> bytes:
    """A CIFAR-10 python batch: a pickled dict with 'data' (N, 3072) uint8 rows in CHW order."""
    entry = {
        "batch_label": "training batch",
        "labels": [0] * len(images),
        "data": images.reshape(len(images), -1),
        "filenames": [f"img{i}.png" for i in range(len(images))],
    }
    return pickle.dumps(entry, protocol=2)


def cifar_images(batches: int = 5, per_batch: int = 4) -> list[np.ndarray]:
    """Distinct known (N, 3, 32, 32) uint8 arrays per batch file."""
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8) for _ in range(batches)]


def idx_bytes(images: np.ndarray) -> bytes:
    """An IDX3 file: magic 0x00000803, three big-endian dimensions, then the uint8 pixels."""
    header = b"\x00\x00\x08\x03" + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
    return header + images.astype(np.uint8).tobytes()


def write_idx_gz(path: Path, images: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(idx_bytes(images)))
    return path


UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: nothing listens, so the connection is refused


# ----- damaged copies -----------------------------------------------------------------------


def noise_image(size: int = 32, seed: int = 0) -> Image.Image:
    """Random RGB pixels: their PNG or JPEG is large and incompressible, so a cut lands inside the pixel data."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def random_bytes(count: int, seed: int = 0) -> bytes:
    """Incompressible bytes: deflate stores them verbatim, so they can be found and flipped in a .gz or .tgz."""
    return np.random.default_rng(seed).integers(0, 256, count, dtype=np.uint8).tobytes()


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut `path` to the first `keep` of its bytes, as an interrupted download or copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def flip_byte(path: Path, offset: int) -> Path:
    """Invert one byte of `path` in place, as a bad disk or a faulty transfer does."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def offset_of(path: Path, content: bytes) -> int:
    """Where `content` (random_bytes stored verbatim by deflate) sits in a compressed file: a byte to flip
    there changes the decompressed data without upsetting zlib, so only the gzip CRC-32 can catch it."""
    middle = len(content) // 2  # deflate blocks hold about 16k symbols: one in the middle holds nothing else
    offset = path.read_bytes().find(content[middle : middle + 64])
    assert offset > 0, "the random bytes were not stored verbatim"
    return offset


def zip_member_data_offset(path: Path, name: str) -> int:
    """Where a member's data starts: after its local header of 30 bytes, file name and extra field
    (PKWARE APPNOTE.TXT 4.3.7)."""
    with zipfile.ZipFile(path) as archive:
        start = archive.getinfo(name).header_offset
    header = path.read_bytes()[start : start + 30]
    name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    return start + 30 + name_length + extra_length
