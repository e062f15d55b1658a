"""Size rules and input checks shared by the nets (so bad sizes fail with a clear message)."""

import torch


def count_doublings(image_size: int, owner: str) -> int:
    """Number of x2 steps from a 4x4 map to `image_size` (a power of two >= 16).

    The DCGAN and WGAN-GP nets grow (or shrink) by a factor 2 per stage between a 4x4 map
    and the image, so only powers of two work.
    """
    if not isinstance(image_size, int) or image_size < 16 or image_size & (image_size - 1):
        raise ValueError(
            f"{owner}: image_size={image_size!r} is not supported; use a power of two >= 16 (16, 32, 64, 128, 256, ...)"
        )
    return image_size.bit_length() - 3  # log2(image_size / 4)


def check_positive_int(value: object, name: str, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")


def check_choice(value: object, name: str, choices: tuple[str, ...], owner: str) -> None:
    if value not in choices:
        raise ValueError(f"{owner}: {name}={value!r} is not one of {', '.join(map(repr, choices))}")


def check_latent(z: torch.Tensor, latent_dim: int, owner: str) -> None:
    """A generator's input must be (B, latent_dim); checked on shapes only (no host sync)."""
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{owner}: expected z of shape (B, {latent_dim}), got {tuple(z.shape)}")


def check_images(x: torch.Tensor, channels: int, image_size: int, owner: str) -> None:
    """A discriminator's input must be (B, channels, image_size, image_size)."""
    if x.dim() != 4 or tuple(x.shape[1:]) != (channels, image_size, image_size):
        raise ValueError(
            f"{owner}: expected images of shape (B, {channels}, {image_size}, {image_size}), got {tuple(x.shape)}"
        )
