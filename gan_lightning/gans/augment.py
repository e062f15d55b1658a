"""DiffAugment: differentiable random augmentations of every image the discriminator sees.

Zhao, Liu, Lin, Zhu and Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(arXiv:2006.10738; reference code github.com/mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py).
On small datasets the discriminator memorises the real images; augmenting real *and* generated
images, in both updates, with the same random policy keeps it from doing so, and because every
operation is differentiable the generator still gets gradients through it.

    diff_augment(images, parse_policy("color,translation,cutout"))

The policies are the reference's, with its parameter ranges:
- color: brightness + U(-0.5, 0.5); saturation (distance from the pixel's channel mean) x U(0, 2);
  contrast (distance from the image's mean) x U(0.5, 1.5). Values may leave [-1, 1]: a shift of
  brightness ends up there, as in the reference (no clamp, which would cut the gradient).
- translation: shift by up to 1/8 of the image size in each direction, zeros shifted in.
- cutout: zero one square of half the image size, centred anywhere in the image (clipped at the border).

Every image of a batch gets its own parameters. They are drawn from torch's default generator of the
images' device, which GANModule seeds per (run seed, generator step, rank): a resumed run draws the
same augmentations, DDP ranks different ones. Everything runs on the images' device with no host
sync, and keeps the images' dtype (parameters are drawn in float32 and cast, so bf16 and fp32 runs
draw the same ones).
"""

from collections.abc import Callable

import torch
from torch import Tensor


def _uniform(images: Tensor, low: float, high: float) -> Tensor:
    """One U(low, high) number per image, shaped (B, 1, 1, 1), in the images' dtype."""
    draw = torch.rand(images.shape[0], 1, 1, 1, device=images.device, dtype=torch.float32)
    return (draw * (high - low) + low).to(images.dtype)


def random_brightness(images: Tensor) -> Tensor:
    """Add U(-0.5, 0.5) to every pixel of an image."""
    return images + _uniform(images, -0.5, 0.5)


def random_saturation(images: Tensor) -> Tensor:
    """Scale each pixel's distance from its mean over channels by U(0, 2)."""
    return torch.lerp(images.mean(dim=1, keepdim=True), images, _uniform(images, 0.0, 2.0))


def random_contrast(images: Tensor) -> Tensor:
    """Scale each pixel's distance from the image's mean by U(0.5, 1.5)."""
    return torch.lerp(images.mean(dim=(1, 2, 3), keepdim=True), images, _uniform(images, 0.5, 1.5))


def _shifts(images: Tensor, max_shift: int) -> Tensor:
    """One integer in [-max_shift, max_shift] per image, shaped (B, 1, 1)."""
    return torch.randint(-max_shift, max_shift + 1, (images.shape[0], 1, 1), device=images.device)


def random_translation(images: Tensor) -> Tensor:
    """Shift each image by up to 1/8 of its height and width (independently), filling with zeros.

    One gather over the flattened pixels: output pixel (i, j) reads input pixel (i + dy, j + dx).
    """
    batch, channels, height, width = images.shape
    rows = torch.arange(height, device=images.device).view(1, height, 1) + _shifts(images, height // 8)
    cols = torch.arange(width, device=images.device).view(1, 1, width) + _shifts(images, width // 8)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)  # (B, H, W)
    source = rows.clamp(0, height - 1) * width + cols.clamp(0, width - 1)
    index = source.view(batch, 1, height * width).expand(batch, channels, height * width)
    moved = images.flatten(2).gather(2, index).view(batch, channels, height, width)
    return moved * inside[:, None].to(images.dtype)


def _box(images: Tensor, dim: int, length: int) -> Tensor:
    """Per image, a (B, size) mask of a run of `length` positions along `dim`, centred uniformly in
    [0, size] (even length) or [0, size) (odd), clipped at the border: the reference's offsets."""
    size = images.shape[dim]
    centre = torch.randint(0, size + 1 - length % 2, (images.shape[0], 1), device=images.device)
    start = centre - length // 2
    position = torch.arange(size, device=images.device)
    return (position >= start) & (position < start + length)


def random_cutout(images: Tensor) -> Tensor:
    """Zero a (H/2) x (W/2) rectangle of each image at a random place."""
    height, width = images.shape[2], images.shape[3]
    rows, cols = _box(images, 2, height // 2), _box(images, 3, width // 2)
    cut = rows[:, None, :, None] & cols[:, None, None, :]  # (B, 1, H, W)
    return images * (~cut).to(images.dtype)


POLICIES: dict[str, tuple[Callable[[Tensor], Tensor], ...]] = {
    "color": (random_brightness, random_saturation, random_contrast),
    "translation": (random_translation,),
    "cutout": (random_cutout,),
}


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """`"color,translation,cutout"` -> ("color", "translation", "cutout"); None or "" -> () (off).

    Raises ValueError naming the valid policies for an unknown or repeated name.
    """
    if not policy:
        return ()
    names = tuple(name.strip() for name in policy.split(","))
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(
            f"augment: unknown DiffAugment policy {', '.join(map(repr, unknown))} in {policy!r}; "
            f"valid: {', '.join(POLICIES)} (comma-separated, e.g. 'color,translation,cutout')"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"augment: {policy!r} names a policy twice")
    return names


def diff_augment(images: Tensor, policy: tuple[str, ...]) -> Tensor:
    """Apply the policies in order to a (B, C, H, W) batch; each image draws its own parameters."""
    for name in policy:
        for augmentation in POLICIES[name]:
            images = augmentation(images)
    return images
