"""The one image conversion: alpha on white, grey/palette/RGBA handled alike, crop and resize."""

import io

import numpy as np
import pytest
from PIL import Image

from gan_lightning.data.image import convert_image, decode

from .builders import jpeg_bytes, palette_with_transparency, png_bytes, rgba_half_transparent, solid

WHITE, BLUE = [255, 255, 255], [20, 40, 220]


def reopen(image: Image.Image) -> Image.Image:
    """Round-trip through PNG so the image arrives the way a file does."""
    return Image.open(io.BytesIO(png_bytes(image)))


def test_rgba_transparent_pixels_become_white_and_opaque_keep_colour():
    out = convert_image(reopen(rgba_half_transparent(8, (200, 30, 30))), size=8, channels=3)
    assert out.shape == (3, 8, 8) and out.dtype == np.uint8
    assert (out[:, :, :4].reshape(3, -1).T == [200, 30, 30]).all()
    assert (out[:, :, 4:].reshape(3, -1).T == WHITE).all()


def test_half_transparent_pixel_is_blended_with_white():
    image = Image.new("RGBA", (2, 2), (0, 0, 0, 128))  # black at alpha 128/255
    out = convert_image(reopen(image), size=2, channels=3)
    assert np.abs(out.astype(int) - 127).max() <= 1  # 255 * (1 - 128/255) = 127


def test_palette_transparency_is_white_like_rgba():
    palette = reopen(palette_with_transparency(8))
    assert palette.mode == "P" and "transparency" in palette.info
    out = convert_image(palette, size=8, channels=3)
    assert (out[:, :, :4].reshape(3, -1).T == BLUE).all()
    assert (out[:, :, 4:].reshape(3, -1).T == WHITE).all()


def test_la_image_alpha_on_white_and_grey_becomes_rgb():
    pixels = np.zeros((4, 4, 2), np.uint8)
    pixels[..., 0] = 60
    pixels[:, :2, 1] = 255  # left opaque grey 60, right transparent
    out = convert_image(reopen(Image.fromarray(pixels, "LA")), size=4, channels=3)
    assert (out[:, :, :2] == 60).all() and (out[:, :, 2:] == 255).all()
    grey = convert_image(reopen(solid(90, 4, "L")), size=4, channels=3)
    assert (grey == 90).all()


def test_rgb_to_one_channel_uses_luma():
    out = convert_image(reopen(solid((255, 0, 0), 4)), size=4, channels=1)
    assert out.shape == (1, 4, 4)
    assert abs(int(out[0, 0, 0]) - round(255 * 0.299)) <= 1  # ITU-R 601-2 luma of pure red


def test_sixteen_bit_grey_is_scaled_not_clipped():
    image = Image.fromarray(np.full((4, 4), 32768, np.uint16))  # mid grey in 16 bits
    out = convert_image(reopen(image), size=4, channels=1)
    assert abs(int(out[0, 0, 0]) - 128) <= 1


def test_resize_stretches_by_default_and_center_crop_cuts_a_square():
    # 12 wide x 4 high: red middle square, blue on both sides
    pixels = np.zeros((4, 12, 3), np.uint8)
    pixels[:, :4] = pixels[:, 8:] = BLUE
    pixels[:, 4:8] = (230, 0, 0)
    image = Image.fromarray(pixels)
    cropped = convert_image(reopen(image), size=4, channels=3, crop="center")
    assert (cropped.reshape(3, -1).T == [230, 0, 0]).all()
    stretched = convert_image(reopen(image), size=6, channels=3, crop="stretch")
    assert stretched.shape == (3, 6, 6)
    # squeezed, not cut: the blue sides survive at the left and right edges
    assert np.abs(stretched[:, :, 0].astype(int) - np.array(BLUE)[:, None]).max() <= 8
    assert np.abs(stretched[:, :, 5].astype(int) - np.array(BLUE)[:, None]).max() <= 8


def test_downscale_is_antialiased():
    stripes = np.zeros((64, 64), np.uint8)
    stripes[:, ::2] = 255  # 1-pixel stripes average to mid grey when antialiased
    out = convert_image(reopen(Image.fromarray(stripes)), size=8, channels=1)
    assert np.abs(out.astype(int) - 128).max() <= 6  # point sampling would give 0 or 255


def test_jpeg_decodes_to_requested_size_and_channels():
    image = Image.open(io.BytesIO(jpeg_bytes(solid((0, 200, 0), 256))))
    out = convert_image(image, size=16, channels=3)
    assert out.shape == (3, 16, 16)
    assert np.abs(out.astype(int) - np.array([0, 200, 0])[:, None, None]).max() <= 4


def test_decode_reports_unreadable_input_instead_of_raising():
    assert isinstance(decode(b"\x00\x00\x00 not an image", 8, 3, "stretch"), str)
    assert isinstance(decode(png_bytes(solid(0, 4, "L"))[:30], 8, 3, "stretch"), str)  # truncated PNG


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="channels"):
        convert_image(solid(0, 4, "L"), 4, channels=2)
    with pytest.raises(ValueError, match="crop"):
        convert_image(solid(0, 4, "L"), 4, channels=1, crop="zoom")
