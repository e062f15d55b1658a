"""Captions drawn into images: a black band with white text above an image.

The text uses Pillow's built-in bitmap font (`ImageFont.load_default_imagefont`), the same pixels on
every machine and Pillow version, scaled up by whole pixels so it stays sharp on large grids.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PADDING = 3  # pixels of band above and below the text, at scale 1


def text_scale(width: int) -> int:
    """Whole-pixel magnification of the 11-pixel bitmap font for an image `width` pixels wide (1 to 4)."""
    return int(min(max(width // 128, 1), 4))


def render_text(text: str, scale: int = 1) -> np.ndarray:
    """`text` in Pillow's bitmap font as a bool (H, W) mask, magnified `scale` times (nearest neighbour)."""
    font = ImageFont.load_default_imagefont()
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255)
    pixels = np.asarray(mask) > 127
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def caption_above(image: np.ndarray, text: str, scale: int | None = None) -> np.ndarray:
    """uint8 (H, W, 3) image -> the image under a black band holding `text` in white, left-aligned.

    When the text is wider than the image, the image is padded on the right with white to fit it.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"caption_above takes a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    scale = scale or text_scale(image.shape[1])
    mask = render_text(text, scale)
    pad = PADDING * scale
    width = max(image.shape[1], mask.shape[1] + 2 * pad)
    band = np.zeros((mask.shape[0] + 2 * pad, width, 3), dtype=np.uint8)
    band[pad : pad + mask.shape[0], pad : pad + mask.shape[1]][mask] = 255
    below = np.full((image.shape[0], width, 3), 255, dtype=np.uint8)
    below[:, : image.shape[1]] = image
    return np.concatenate([band, below], axis=0)


def step_caption(step: int) -> str:
    """The caption of a grid drawn after `step` generator steps."""
    return f"step {step:,}"
