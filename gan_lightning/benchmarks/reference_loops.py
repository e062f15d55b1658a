"""Plain PyTorch training loops of the two recipes: what the fit path is measured against.

They do the arithmetic the Lightning modules do, and nothing else: no logging, no statistics
beyond the losses, no RNG bookkeeping, no callbacks. Real images come from a pool of batches
already on the device as float in [-1, 1] (the d2l anchor was measured that way), so no data
loading is timed.

- `dcgan_loop` is d2l's DCGAN loop (RECIPES §1): per batch one discriminator update on the real
  batch and a detached G(z), then one generator update on the same G(z) (d2l recomputes G(z) in
  update_G; reusing it is what the module does, as the PyTorch DCGAN tutorial does). D's weights
  get no gradient in the generator update, as in the module. Losses are batch means, as in the
  module (d2l sums; same cost).
- `wgan_gp_loop` is the MATLAB example's loop (RECIPES §2): n_critic critic updates, each on a fresh
  minibatch with the gradient penalty (a double backward through autograd.grad with
  create_graph=True), then one generator update on fresh noise. The critic sees real, fake and
  interpolated images in three forward passes, as the MATLAB and the original WGAN-GP code do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lightning.data import uint8_to_float


def device_batches(images: Tensor, batch_size: int, count: int, device: torch.device) -> list[Tensor]:
    """Up to `count` batches of `batch_size` images from uint8 (N, C, H, W), moved to `device` as float
    [-1, 1] before any timing; drawn with a fixed seed so both loops see the same kind of data."""
    count = min(count, len(images) // batch_size)
    if count < 1:
        raise ValueError(f"{len(images)} images are fewer than one batch of {batch_size}")
    picks = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[: count * batch_size]
    return list(uint8_to_float(images[picks].to(device)).split(batch_size))


def cycle(batches: list[Tensor]) -> Iterator[Tensor]:
    while True:
        yield from batches


@dataclass
class LoopSettings:
    """What both loops take from the module's hyperparameters, so they train what the module trains."""

    latent_dim: int
    lr_g: float
    lr_d: float
    betas_g: tuple[float, float]
    betas_d: tuple[float, float]
    fused: bool = False  # fused Adam kernels (the module's default on CUDA)
    channels_last: bool = False
    bf16: bool = False  # bf16 autocast around forward, loss and backward, as Lightning's "bf16-mixed"

    def optimizers(self, generator: nn.Module, discriminator: nn.Module) -> tuple[torch.optim.Adam, torch.optim.Adam]:
        """Adam for the generator and the discriminator, as the module's configure_optimizers makes them."""
        return self._adam(generator, self.lr_g, self.betas_g), self._adam(discriminator, self.lr_d, self.betas_d)

    def _adam(self, net: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
        return torch.optim.Adam(net.parameters(), lr=lr, betas=tuple(betas), fused=self.fused or None)

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        return torch.autocast(device.type, dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def format(self, images: Tensor) -> Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images


def dcgan_loop(
    generator: nn.Module,
    discriminator: nn.Module,
    batches: list[Tensor],
    steps: int,
    settings: LoopSettings,
    on_step_end: Callable[[], None],
) -> None:
    """`steps` iterations of the d2l DCGAN loop; `on_step_end` is called after each."""
    device = batches[0].device
    opt_g, opt_d = settings.optimizers(generator, discriminator)
    bce = F.binary_cross_entropy_with_logits
    data = cycle(batches)
    for _ in range(steps):
        real = settings.format(next(data))
        with settings.autocast(device):
            fake = generator(torch.randn(real.shape[0], settings.latent_dim, device=device))
            # Discriminator: real and detached fake, one pass each (D has BatchNorm).
            logits_real, logits_fake = discriminator(real), discriminator(fake.detach())
            loss_d = (
                bce(logits_real, torch.ones_like(logits_real)) + bce(logits_fake, torch.zeros_like(logits_fake))
            ) / 2
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            # Generator: the same fake through the updated D; D itself gets no gradient.
            discriminator.requires_grad_(False)
            logits = discriminator(fake)
            loss_g = bce(logits, torch.ones_like(logits))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            discriminator.requires_grad_(True)
            opt_g.step()
        on_step_end()


def wgan_gp_loop(
    generator: nn.Module,
    critic: nn.Module,
    batches: list[Tensor],
    steps: int,
    settings: LoopSettings,
    on_step_end: Callable[[], None],
    n_critic: int = 5,
    gp_weight: float = 10.0,
) -> None:
    """`steps` generator iterations of the MATLAB WGAN-GP loop; `on_step_end` is called after each."""
    device = batches[0].device
    opt_g, opt_d = settings.optimizers(generator, critic)
    data = cycle(batches)
    for _ in range(steps):
        for _ in range(n_critic):
            real = settings.format(next(data))
            with settings.autocast(device):
                with torch.no_grad():
                    fake = generator(torch.randn(real.shape[0], settings.latent_dim, device=device))
                eps = torch.rand(real.shape[0], 1, 1, 1, device=device, dtype=real.dtype)
                mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
                score_real, score_fake, score_mixed = critic(real), critic(fake), critic(mixed)
                (grad,) = torch.autograd.grad(score_mixed.sum(), mixed, create_graph=True)
                penalty = ((grad.float().flatten(1).norm(2, dim=1) - 1) ** 2).mean()
                loss_d = score_fake.float().mean() - score_real.float().mean() + gp_weight * penalty
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
        with settings.autocast(device):
            fake = generator(torch.randn(batches[0].shape[0], settings.latent_dim, device=device))
            critic.requires_grad_(False)
            loss_g = -critic(fake).float().mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            critic.requires_grad_(True)
            opt_g.step()
        on_step_end()
