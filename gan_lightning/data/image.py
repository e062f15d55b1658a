"""The one image conversion every dataset uses: any PIL image -> uint8 (C, H, W) of a fixed size.

Grey, palette, RGBA and LA images always go through the same steps, so a dataset looks the same
whichever file format it came in: alpha (palette transparency included) is composited on white,
then the image becomes RGB or L, is optionally center-cropped to a square, and is resized with
Pillow's antialiased bicubic filter.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from gan_lightning.data.archives import open_zip, read_zip_member
from gan_lightning.data.errors import CorruptSourceError

CROPS = ("stretch", "center")


class ZipMember(NamedTuple):
    """An image inside a zip archive; workers open the archive themselves, so only names travel."""

    archive: str
    name: str


_open_zips: dict[str, zipfile.ZipFile] = {}  # one open handle per archive per process, during a decode pass


def close_archives() -> None:
    """Close the zip handles opened by open_image (a replaced archive must not be read through a stale one)."""
    while _open_zips:
        _open_zips.popitem()[1].close()


def open_image(item: Any) -> Image.Image:
    """Open what a dataset listed: encoded bytes, a file path, a ZipMember, an HWC/HW uint8 array,
    or a callable that returns a PIL image (the generated demo set)."""
    if isinstance(item, ZipMember):
        archive = _open_zips.get(item.archive)
        if archive is None:
            archive = _open_zips[item.archive] = open_zip(item.archive)
        item = read_zip_member(archive, item.name)
    if isinstance(item, (bytes, bytearray)):
        return Image.open(io.BytesIO(item))
    if isinstance(item, (str, Path)):
        return Image.open(item)
    if isinstance(item, np.ndarray):
        return Image.fromarray(item)
    if callable(item):
        return item()
    raise TypeError(f"cannot open an image from {type(item).__name__}")


def to_rgb_or_l(image: Image.Image, channels: int) -> Image.Image:
    """Drop alpha by compositing on white, then convert to RGB (channels=3) or L (channels=1)."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels}")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grey: PIL's convert("L") clips at 255 instead of scaling, so scale by hand.
        bits = 16 if image.mode.startswith("I;16") else 32
        pixels = np.asarray(image, dtype=np.float64) * (255.0 / (2**bits - 1))
        image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("RGB" if channels == 3 else "L")


def convert_image(image: Image.Image, size: int, channels: int, crop: str = "stretch") -> np.ndarray:
    """Return `image` as a uint8 array (channels, size, size).

    crop="stretch" resizes the whole image to a square (d2l's and MATLAB's way); crop="center"
    first cuts the largest centered square (the classic DCGAN CelebA faces)."""
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    if image.format == "JPEG":
        # Let libjpeg decode at a reduced scale (a DCT-domain downscale) when the photo is much
        # larger than needed; keeping at least 2x the target leaves the bicubic filter room to
        # antialias. Large speedup for photo folders, no visible change at the target size.
        image.draft("RGB" if channels == 3 else "L", (2 * size, 2 * size))
    image = to_rgb_or_l(image, channels)
    if crop == "center":
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    pixels = np.asarray(image, dtype=np.uint8)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return np.ascontiguousarray(pixels)


def decode(item: Any, size: int, channels: int, crop: str) -> np.ndarray | str:
    """Open and convert one item; when the image is unreadable (empty, truncated, not an image) return
    the reason as a string: the caller skips and counts it, since one bad file must not stop a
    200k-image dataset. A damaged archive raises CorruptSourceError instead: it is the archive that
    needs replacing.

    Every pixel is decoded, and a truncated file fails, even where other code has set Pillow's
    process-wide ImageFile.LOAD_TRUNCATED_IMAGES, which would fill the missing part with grey.
    """
    load_truncated, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with open_image(item) as image:
            return convert_image(image, size, channels, crop)
    except CorruptSourceError:
        raise
    except UnidentifiedImageError:
        return "not an image format Pillow can read"
    except Exception as error:  # PIL raises many types (OSError, SyntaxError, ValueError, ...)
        return f"{type(error).__name__}: {error}"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = load_truncated
