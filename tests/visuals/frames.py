"""Reading an animation back: its GIF frames, and each frame's step caption against the caption drawn
independently with Pillow."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def gif_frames(path) -> list[np.ndarray]:
    """Every frame of a GIF file as a uint8 (H, W, 3) array."""
    with Image.open(path) as gif:
        frames = []
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB")))
        return frames


def pillow_text(text: str) -> np.ndarray:
    """`text` drawn with Pillow's bitmap font at 1x, cropped to its ink: a bool mask."""
    font = ImageFont.load_default_imagefont()
    canvas = Image.new("L", (8 * len(text) + 16, 24), 0)
    ImageDraw.Draw(canvas).text((4, 4), text, font=font, fill=255)
    return ink(np.asarray(canvas) > 127)


def ink(mask: np.ndarray) -> np.ndarray:
    """The smallest crop of a bool mask that holds all its True pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def shows_caption(frame: np.ndarray, band_height: int, text: str) -> bool:
    """Whether the top `band_height` rows of an (H, W, 3) frame show exactly `text` in white, drawn in
    Pillow's bitmap font at a whole-pixel magnification of 1 to 4."""
    drawn = ink(frame[:band_height].min(axis=2) > 127)
    expected = pillow_text(text)
    return any(
        drawn.shape == (expected.shape[0] * scale, expected.shape[1] * scale)
        and bool((drawn == expected.repeat(scale, axis=0).repeat(scale, axis=1)).all())
        for scale in range(1, 5)
    )
