"""An offline dataset the project generates: coloured shapes on white, for configs/demo.yaml.

It needs no files and no network, is the same for the same data_seed, and is simple enough that a
small DCGAN learns something recognisable from it in minutes on a CPU: one filled circle, square
or triangle per image, in one of six colours, of varying size and position, on a white background.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from gan_lightning.data.base import ImageDataModule

SHAPES = ("circle", "square", "triangle")
COLOURS = (
    (220, 40, 40),  # red
    (40, 160, 60),  # green
    (40, 80, 220),  # blue
    (245, 150, 30),  # orange
    (140, 60, 180),  # purple
    (20, 160, 170),  # teal
)
GENERATOR_VERSION = 1  # bump when the drawing changes, so cached demo sets are rebuilt


def render_shape(
    shape: str, colour: tuple[int, int, int], cx: float, cy: float, radius: float, canvas: int
) -> Image.Image:
    """One RGB image of `canvas` pixels; cx, cy, radius are fractions of the side. Drawn large and
    downscaled later by the common conversion, which antialiases the edges."""
    image = Image.new("RGB", (canvas, canvas), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    x, y, r = cx * canvas, cy * canvas, radius * canvas
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == "square":
        half = 0.85 * r  # about the same area as the circle
        draw.rectangle((x - half, y - half, x + half, y + half), fill=colour)
    else:  # an upright equilateral triangle centred on (x, y)
        rr = 1.15 * r
        draw.polygon([(x, y - rr), (x - 0.866 * rr, y + 0.5 * rr), (x + 0.866 * rr, y + 0.5 * rr)], fill=colour)
    return image


class DemoDataModule(ImageDataModule):
    """num_images generated shapes (32x32 RGB by default), decoded and cached like any dataset."""

    name = "demo"

    def __init__(self, *, image_size: int = 32, num_images: int = 4096, data_seed: int = 0, **kwargs) -> None:
        """Arguments of ImageDataModule, with this dataset's defaults, plus its own."""
        super().__init__(image_size=image_size, **kwargs)
        if num_images < 1:
            raise ValueError(f"num_images must be at least 1, got {num_images}")
        self.num_images = num_images
        self.data_seed = data_seed

    def find_source(self) -> Path | None:
        return Path("generated-shapes")  # nothing on disk: the images are drawn from data_seed

    def expected_location(self) -> str:
        return "nothing (generated)"

    def source_stamp(self, source: Path) -> Any:
        return ("shapes", GENERATOR_VERSION, self.num_images, self.data_seed)

    def list_images(self, source: Path) -> tuple[Iterable[tuple[str, Any]], int | None]:
        rng = np.random.default_rng(self.data_seed)
        canvas = 4 * self.image_size
        items = []
        for index in range(self.num_images):
            shape = SHAPES[rng.integers(len(SHAPES))]
            colour = COLOURS[rng.integers(len(COLOURS))]
            cx, cy = rng.uniform(0.38, 0.62, size=2)
            radius = rng.uniform(0.2, 0.34)
            draw = functools.partial(render_shape, shape, colour, float(cx), float(cy), float(radius), canvas)
            items.append((f"{index:05d}-{shape}", draw))
        return items, len(items)
