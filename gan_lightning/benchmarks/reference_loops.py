"""Plain PyTorch training loops of the two recipes: what the fit path is measured against.

They do the arithmetic the Lightning modules do, and nothing else: no logging, no statistics
beyond the losses, no RNG bookkeeping, no callbacks. Real images come from a pool of batches
already on the device as float in [-1, 1] (the d2l anchor was measured that way), so no data
loading is timed.

- `dcgan_loop` is the loop of d2l.ai's DCGAN chapter: per batch one discriminator update on the real
  batch and a detached G(z), then one generator update on the same G(z) (d2l recomputes G(z) in
  update_G; reusing it is what the module does, as the PyTorch DCGAN tutorial does). D's weights
  get no gradient in the generator update, as in the module. Losses are batch means, as in the
  module (d2l sums; same cost).
- `wgan_gp_loop` is the MATLAB WGAN-GP example's loop: n_critic critic updates, each on a fresh
  minibatch with the gradient penalty (a double backward through autograd.grad with
  create_graph=True), then one generator update on fresh noise. The critic sees real, fake and
  interpolated images in three forward passes, as the MATLAB and the original WGAN-GP code do.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lightning.data import uint8_to_float
from gan_lightning.nets.init import init_weights


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


# ------------------------------------------------------------------------------------------------
# Learning parity: each recipe's original, as its source prints it.
#
# What the fit path learns is checked against these (gan_lightning.benchmarks.parity). Each builds
# the nets the way its source writes them (layers, initialisation, sigmoid outputs and all), trains
# with the source's update order and losses on the project's decoded uint8 images, and records
# per-epoch loss means. loss_d is always the mean of the real and fake parts per example, the
# fit path's definition (a source that prints their sum reports twice that).


@dataclass
class ReferenceRun:
    """A trained original: its generator and how it samples, and its per-epoch loss means."""

    generator: nn.Module
    latent_dim: int
    latent_as_map: bool  # the generator takes z as a (B, latent_dim, 1, 1) map
    sample_batch_norm: str  # how the source draws samples: "batch" (train-mode batch norm) or "running"
    loss_d: list[float]
    loss_g: list[float]
    steps: int  # generator updates
    epoch_seconds: list[float]
    snapshots: dict[int, dict[str, Tensor]]  # epoch -> generator state_dict, for shorter budgets of the same run

    def generate(self, z: Tensor) -> Tensor:
        """Images from latents z (B, latent_dim)."""
        return self.generator(z[:, :, None, None] if self.latent_as_map else z)


class EpochLosses:
    """Per-example means of loss_d and loss_g over each epoch, and its wall-clock seconds. The sums
    stay on the losses' device: one host sync per epoch, none per step."""

    def __init__(self) -> None:
        self.loss_d: list[float] = []
        self.loss_g: list[float] = []
        self.seconds: list[float] = []
        self._sums: Tensor | None = None
        self._examples = 0
        self._start = time.perf_counter()

    def add(self, loss_d: Tensor, loss_g: Tensor, batch_size: int) -> None:
        """Batch-mean losses of one step on a batch of `batch_size` examples."""
        step = torch.stack([loss_d.detach(), loss_g.detach()]).double() * batch_size
        self._sums = step if self._sums is None else self._sums + step
        self._examples += batch_size

    def end_epoch(self) -> None:
        loss_d, loss_g = (self._sums / self._examples).tolist()
        self.loss_d.append(loss_d)
        self.loss_g.append(loss_g)
        self.seconds.append(time.perf_counter() - self._start)
        self._sums, self._examples, self._start = None, 0, time.perf_counter()


def shuffled_batches(images: Tensor, batch_size: int, drop_last: bool, rng: torch.Generator) -> Iterator[Tensor]:
    """One epoch of float [-1, 1] batches from uint8 (N, C, H, W), in a fresh random order, as
    DataLoader(shuffle=True, drop_last=drop_last) serves them."""
    order = torch.randperm(len(images), generator=rng)
    for start in range(0, len(order), batch_size):
        picks = order[start : start + batch_size]
        if drop_last and len(picks) < batch_size:
            return
        yield uint8_to_float(images[picks])


# --- d2l.ai, "Deep Convolutional Generative Adversarial Networks" ---------------------------------
# https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html (PyTorch tab); also the loop of
# its Fashion-MNIST exercise.


def d2l_g_block(in_channels: int, out_channels: int, strides: int = 2, padding: int = 1) -> nn.Sequential:
    """d2l's G_block: ConvTranspose2d(k4, no bias), BatchNorm2d, ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 4, strides, padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


def d2l_d_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """d2l's D_block: Conv2d(k4, s2, p1, no bias), BatchNorm2d, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


def d2l_nets(
    image_size: int = 64, channels: int = 3, latent_dim: int = 100, width: int = 64
) -> tuple[nn.Module, nn.Module]:
    """d2l's net_G and net_D (n_G = n_D = width). At 64x64 exactly the chapter's; at 32x32 (the
    Fashion-MNIST exercise) the widest block of each is left out."""
    blocks = {64: 4, 32: 3}[image_size]
    g_widths = [width * 2**i for i in reversed(range(blocks))]  # 512, 256, 128, 64 at 64x64
    net_g = nn.Sequential(
        d2l_g_block(latent_dim, g_widths[0], strides=1, padding=0),
        *[d2l_g_block(c_in, c_out) for c_in, c_out in zip(g_widths, g_widths[1:])],
        nn.ConvTranspose2d(g_widths[-1], channels, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    d_widths = [channels] + g_widths[::-1]  # 3, 64, 128, 256, 512
    net_d = nn.Sequential(
        *[d2l_d_block(c_in, c_out) for c_in, c_out in zip(d_widths, d_widths[1:])],
        nn.Conv2d(d_widths[-1], 1, 4, bias=False),
    )
    return net_g, net_d


def d2l_init(*nets: nn.Module) -> None:
    """d2l's train(): `for w in net.parameters(): nn.init.normal_(w, 0, 0.02)`, for each net."""
    for net in nets:
        for w in net.parameters():
            nn.init.normal_(w, 0, 0.02)


@dataclass
class D2LDeviations:
    """What the fit path did differently from d2l before it followed the chapter; each switch is
    one deviation, so that each can be measured on its own (all off: d2l as printed)."""

    init: str = "d2l"  # "dcgan": batch norm scale N(1, 0.02), shift 0 (the PyTorch DCGAN tutorial)
    reduction: str = "sum"  # "mean": batch-mean losses
    reuse_fake: bool = False  # the generator step reuses the discriminator step's G(z)
    drop_last: bool = False  # drop the last partial batch of each epoch


def d2l_train(
    images: Tensor,
    epochs: int,
    seed: int,
    lr: float = 0.005,
    batch_size: int = 256,
    latent_dim: int = 100,
    deviations: D2LDeviations | None = None,
    snapshot_epochs: tuple[int, ...] = (),
    max_steps: int | None = None,
) -> ReferenceRun:
    """d2l's `train(net_D, net_G, data_iter, num_epochs, lr, latent_dim)` with its update_D and
    update_G, on uint8 images (N, C, H, W); same lr for both nets, Adam betas (0.5, 0.999)."""
    deviations = deviations or D2LDeviations()
    torch.manual_seed(seed)
    net_g, net_d = d2l_nets(images.shape[-1], images.shape[1], latent_dim)
    if deviations.init == "d2l":
        d2l_init(net_d, net_g)
    else:
        init_weights(net_d, deviations.init)
        init_weights(net_g, deviations.init)
    loss = nn.BCEWithLogitsLoss(reduction=deviations.reduction)
    trainer_d = torch.optim.Adam(net_d.parameters(), lr=lr, betas=(0.5, 0.999))
    trainer_g = torch.optim.Adam(net_g.parameters(), lr=lr, betas=(0.5, 0.999))
    order = torch.Generator().manual_seed(seed)
    losses, steps, snapshots = EpochLosses(), 0, {}
    for epoch in range(1, epochs + 1):
        for X in shuffled_batches(images, batch_size, deviations.drop_last, order):
            b = X.shape[0]
            Z = torch.normal(0, 1, size=(b, latent_dim, 1, 1))
            ones, zeros = torch.ones((b,)), torch.zeros((b,))
            # update_D
            trainer_d.zero_grad()
            real_Y = net_d(X)
            fake_X = net_g(Z)
            fake_Y = net_d(fake_X.detach())
            loss_D = (loss(real_Y, ones.reshape(real_Y.shape)) + loss(fake_Y, zeros.reshape(fake_Y.shape))) / 2
            loss_D.backward()
            trainer_d.step()
            # update_G (d2l computes G(z) again; "We could reuse fake_X from update_D")
            trainer_g.zero_grad()
            if not deviations.reuse_fake:
                fake_X = net_g(Z)
            fake_Y = net_d(fake_X)
            loss_G = loss(fake_Y, ones.reshape(fake_Y.shape))
            loss_G.backward()
            trainer_g.step()
            per_example = b if deviations.reduction == "sum" else 1
            losses.add(loss_D / per_example, loss_G / per_example, b)
            steps += 1
            if steps == max_steps:
                break
        losses.end_epoch()
        # "Show generated examples": 21 images in train mode, which also moves G's running statistics.
        with torch.no_grad():
            net_g(torch.normal(0, 1, size=(21, latent_dim, 1, 1)))
        if epoch in snapshot_epochs:
            snapshots[epoch] = snapshot(net_g)
        if steps == max_steps:
            break
    return ReferenceRun(
        net_g, latent_dim, True, "batch", losses.loss_d, losses.loss_g, steps, losses.seconds, snapshots
    )


def d2l_generator(image_size: int, channels: int) -> nn.Module:
    """d2l's net_G, untrained (to load a trained state into)."""
    return d2l_nets(image_size, channels)[0]


def snapshot(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


# --- eriklindernoren/PyTorch-GAN, implementations/dcgan/dcgan.py ---------------------------------
# https://github.com/eriklindernoren/PyTorch-GAN (defaults: img_size 32, latent 100, batch 64,
# lr 2e-4, betas (0.5, 0.999)). Its BatchNorm2d(C, 0.8) passes 0.8 as eps; kept, as the source runs.


def pytorch_gan_weights_init_normal(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm2d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


class PyTorchGANGenerator(nn.Module):
    def __init__(self, img_size: int = 32, latent_dim: int = 100, channels: int = 1) -> None:
        super().__init__()
        self.init_size = img_size // 4
        self.l1 = nn.Sequential(nn.Linear(latent_dim, 128 * self.init_size**2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1),
            nn.BatchNorm2d(64, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        out = self.l1(z)
        out = out.view(out.shape[0], 128, self.init_size, self.init_size)
        return self.conv_blocks(out)


class PyTorchGANDiscriminator(nn.Module):
    def __init__(self, img_size: int = 32, channels: int = 1) -> None:
        super().__init__()

        def discriminator_block(in_filters: int, out_filters: int, bn: bool = True) -> list[nn.Module]:
            block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25)]
            if bn:
                block.append(nn.BatchNorm2d(out_filters, 0.8))
            return block

        self.model = nn.Sequential(
            *discriminator_block(channels, 16, bn=False),
            *discriminator_block(16, 32),
            *discriminator_block(32, 64),
            *discriminator_block(64, 128),
        )
        ds_size = img_size // 2**4
        self.adv_layer = nn.Sequential(nn.Linear(128 * ds_size**2, 1), nn.Sigmoid())

    def forward(self, img: Tensor) -> Tensor:
        out = self.model(img)
        out = out.view(out.shape[0], -1)
        return self.adv_layer(out)


def pytorch_gan_generator(image_size: int, channels: int) -> nn.Module:
    return PyTorchGANGenerator(image_size, 100, channels)


def pytorch_gan_dcgan_train(
    images: Tensor,
    epochs: int,
    seed: int,
    lr: float = 2e-4,
    batch_size: int = 64,
    latent_dim: int = 100,
    snapshot_epochs: tuple[int, ...] = (),
    max_steps: int | None = None,
) -> ReferenceRun:
    """The script's training loop: per batch the generator step first, then the discriminator step
    on the real batch and the same (detached) generated batch; BCELoss on sigmoid outputs; the last
    partial batch kept (DataLoader's default)."""
    torch.manual_seed(seed)
    generator = PyTorchGANGenerator(images.shape[-1], latent_dim, images.shape[1])
    discriminator = PyTorchGANDiscriminator(images.shape[-1], images.shape[1])
    adversarial_loss = torch.nn.BCELoss()
    generator.apply(pytorch_gan_weights_init_normal)
    discriminator.apply(pytorch_gan_weights_init_normal)
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    order = torch.Generator().manual_seed(seed)
    losses, steps, snapshots = EpochLosses(), 0, {}
    for epoch in range(1, epochs + 1):
        for real_imgs in shuffled_batches(images, batch_size, False, order):
            valid = torch.ones(real_imgs.shape[0], 1)
            fake = torch.zeros(real_imgs.shape[0], 1)
            optimizer_G.zero_grad()
            z = torch.normal(0, 1, (real_imgs.shape[0], latent_dim))
            gen_imgs = generator(z)
            g_loss = adversarial_loss(discriminator(gen_imgs), valid)
            g_loss.backward()
            optimizer_G.step()
            optimizer_D.zero_grad()
            real_loss = adversarial_loss(discriminator(real_imgs), valid)
            fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            optimizer_D.step()
            losses.add(d_loss, g_loss, real_imgs.shape[0])
            steps += 1
            if steps == max_steps:
                break
        losses.end_epoch()
        if epoch in snapshot_epochs:
            snapshots[epoch] = snapshot(generator)
        if steps == max_steps:
            break
    return ReferenceRun(
        generator, latent_dim, False, "batch", losses.loss_d, losses.loss_g, steps, losses.seconds, snapshots
    )


# --- @IT "PyTorchでCIFAR-10を基にDCGANで画像生成をしてみよう" (2020-11-27), the simple version -----------
# https://atmarkit.itmedia.co.jp/ait/series/22840/ (Deep Learning Workshop). Nets as printed, with
# PyTorch's default initialisation (the article shows none); lr 2e-4, betas (0.5, 0.999).


def it_cifar10_nets(zsize: int = 100, feature_maps: int = 64) -> tuple[nn.Module, nn.Module]:
    """The article's `generator` and `discriminator` (32x32 RGB), with sigmoid output."""
    discriminator = nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(256, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )
    generator = nn.Sequential(
        nn.ConvTranspose2d(zsize, feature_maps * 8, 4, 1, 0, bias=False),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(feature_maps * 8, feature_maps * 4, 4, 2, 1, bias=False),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(feature_maps * 4, feature_maps * 2, 4, 2, 1, bias=False),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(feature_maps * 2, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    return generator, discriminator


def it_cifar10_generator(image_size: int, channels: int) -> nn.Module:
    return it_cifar10_nets()[0]


def it_cifar10_train(
    images: Tensor,
    epochs: int,
    seed: int,
    lr: float = 2e-4,
    batch_size: int = 64,
    zsize: int = 100,
    snapshot_epochs: tuple[int, ...] = (),
    max_steps: int | None = None,
) -> ReferenceRun:
    """The article's train(): D's real and fake losses back-propagated one after the other, then one
    step; the generator step on fresh noise. Its `.reshape(batch_size, -1)` needs full batches, so
    the last partial batch is dropped. The batch size is not in the article (the config's 64)."""
    torch.manual_seed(seed)
    netG, netD = it_cifar10_nets(zsize)
    one_labels = torch.ones(batch_size).reshape(batch_size, 1)
    zero_labels = torch.zeros(batch_size).reshape(batch_size, 1)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=lr, betas=[0.5, 0.999])
    optG = torch.optim.Adam(netG.parameters(), lr=lr, betas=[0.5, 0.999])
    order = torch.Generator().manual_seed(seed)
    losses, steps, snapshots = EpochLosses(), 0, {}
    for epoch in range(1, epochs + 1):
        for real_imgs in shuffled_batches(images, batch_size, True, order):
            netD.zero_grad()
            output_real = netD(real_imgs).reshape(batch_size, -1)
            loss_real = criterion(output_real, one_labels)
            loss_real.backward()
            z = torch.randn(batch_size, zsize, 1, 1)
            fake_imgs = netG(z)
            output_fake1 = netD(fake_imgs.detach()).reshape(batch_size, -1)
            loss_fake1 = criterion(output_fake1, zero_labels)
            loss_fake1.backward()
            optD.step()
            netG.zero_grad()
            z = torch.randn(batch_size, zsize, 1, 1)
            fake_imgs = netG(z)
            output_fake2 = netD(fake_imgs).reshape(batch_size, -1)
            loss_netG = criterion(output_fake2, one_labels)
            loss_netG.backward()
            optG.step()
            losses.add((loss_real + loss_fake1) / 2, loss_netG, batch_size)  # the article prints the sum
            steps += 1
            if steps == max_steps:
                break
        losses.end_epoch()
        if epoch in snapshot_epochs:
            snapshots[epoch] = snapshot(netG)
        if steps == max_steps:
            break
    return ReferenceRun(netG, zsize, True, "batch", losses.loss_d, losses.loss_g, steps, losses.seconds, snapshots)


# --- MathWorks, "Train Wasserstein GAN with Gradient Penalty (WGAN-GP)" ----------------------------
# https://www.mathworks.com/help/deeplearning/ug/trainwasserstein-gan-with-gradient-penalty-wgan-gp.html
# layersD / layersG with MATLAB's default initialisers (Glorot-uniform weights, zero biases, layer
# norm scale 1 and offset 0), the critic's final sigmoid included.


class MatlabSameConv(nn.Module):
    """convolution2dLayer(5, C, Stride=2, Padding="same"): MATLAB pads the odd remainder at the
    bottom/right, here 1 at the top/left and 2 at the bottom/right."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 1, 2))
        self.conv = nn.Conv2d(in_channels, out_channels, 5, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.pad(x))


class MatlabSameConvTranspose(nn.Module):
    """transposedConv2dLayer(5, C, Stride=2, Cropping="same"): output 2n, cropping 1 at the
    top/left and 2 at the bottom/right of the full 2n + 3."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 5, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)[..., 1:-2, 1:-2]


class MatlabProjectAndReshape(nn.Module):
    """The example's projectAndReshapeLayer: fully connect to prod(size) features, reshape."""

    def __init__(self, latent_dim: int, size: tuple[int, int, int]) -> None:
        super().__init__()
        self.size = size
        self.fc = nn.Linear(latent_dim, size[0] * size[1] * size[2])

    def forward(self, z: Tensor) -> Tensor:
        return self.fc(z).view(z.shape[0], *self.size)


def matlab_wgan_gp_nets(channels: int = 3, latent_dim: int = 100, num_filters: int = 64) -> tuple[nn.Module, nn.Module]:
    """netG and netD of the example (64x64), initialised as dlnetwork's initialize() does."""
    layers_d = nn.Sequential(
        MatlabSameConv(channels, num_filters),
        nn.LeakyReLU(0.2),
        MatlabSameConv(num_filters, 2 * num_filters),
        nn.GroupNorm(1, 2 * num_filters),  # layerNormalizationLayer on SSCB data: over S, S, C per observation
        nn.LeakyReLU(0.2),
        MatlabSameConv(2 * num_filters, 4 * num_filters),
        nn.GroupNorm(1, 4 * num_filters),
        nn.LeakyReLU(0.2),
        MatlabSameConv(4 * num_filters, 8 * num_filters),
        nn.GroupNorm(1, 8 * num_filters),
        nn.LeakyReLU(0.2),
        nn.Conv2d(8 * num_filters, 1, 4),
        nn.Sigmoid(),
    )
    layers_g = nn.Sequential(
        MatlabProjectAndReshape(latent_dim, (8 * num_filters, 4, 4)),
        nn.ConvTranspose2d(8 * num_filters, 4 * num_filters, 5),
        nn.ReLU(),
        MatlabSameConvTranspose(4 * num_filters, 2 * num_filters),
        nn.ReLU(),
        MatlabSameConvTranspose(2 * num_filters, num_filters),
        nn.ReLU(),
        MatlabSameConvTranspose(num_filters, channels),
        nn.Tanh(),
    )
    matlab_initialize(layers_d)
    matlab_initialize(layers_g)
    return layers_g, layers_d


def matlab_initialize(net: nn.Module) -> None:
    """MATLAB's default initialisers: "glorot" weights, U(-b, b) with b = sqrt(6 / (numIn + numOut)),
    where a k x k (transposed) convolution has numIn = k*k*NumChannels and numOut = k*k*NumFilters and
    a fully connected layer numIn = InputSize, numOut = OutputSize; "zeros" biases; layer norm scale
    "ones", offset "zeros"."""
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            in_c, out_c = layer.in_channels, layer.out_channels
            k = layer.kernel_size[0] * layer.kernel_size[1]
            bound = math.sqrt(6 / (k * in_c + k * out_c))
        elif isinstance(layer, nn.Linear):
            bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        elif isinstance(layer, nn.GroupNorm):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)
            continue
        else:
            continue
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound)
            layer.bias.zero_()


def matlab_wgan_gp_generator(image_size: int, channels: int) -> nn.Module:
    return matlab_wgan_gp_nets(channels)[0]


def matlab_minibatches(images: Tensor, batch_size: int, rng: torch.Generator) -> Iterator[Tensor]:
    """minibatchqueue over augmentedImageDatastore(RandXReflection=true), PartialMiniBatch="discard":
    the first pass in the datastore's order, reshuffled whenever it runs out; each image mirrored
    with probability 1/2 when read; rescaled to [-1, 1]."""
    order = torch.arange(len(images))
    while True:
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = uint8_to_float(images[order[start : start + batch_size]])
            flip = torch.rand(batch_size, generator=rng) < 0.5
            yield torch.where(flip[:, None, None, None], batch.flip(-1), batch)
        order = torch.randperm(len(images), generator=rng)


def matlab_wgan_gp_train(
    images: Tensor,
    epochs: int,
    seed: int,
    steps_per_epoch: int,
    lr_d: float = 2e-4,
    lr_g: float = 1e-3,
    batch_size: int = 64,
    n_critic: int = 5,
    lam: float = 10.0,
    latent_dim: int = 100,
    snapshot_epochs: tuple[int, ...] = (),
    max_steps: int | None = None,
) -> ReferenceRun:
    """The example's custom training loop with modelLossD / modelLossG and adamupdate (gradient
    decay 0, squared gradient decay 0.9). Loss means are grouped by `steps_per_epoch` generator
    iterations (the config's epoch) so both sides' columns line up; loss_d is averaged over the
    critic iterations of each generator iteration, with the gradient penalty."""
    torch.manual_seed(seed)
    net_g, net_d = matlab_wgan_gp_nets(images.shape[1], latent_dim)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=lr_d, betas=(0.0, 0.9), eps=1e-8)
    opt_g = torch.optim.Adam(net_g.parameters(), lr=lr_g, betas=(0.0, 0.9), eps=1e-8)
    queue = matlab_minibatches(images, batch_size, torch.Generator().manual_seed(seed))
    losses, snapshots = EpochLosses(), {}
    steps = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    for iteration in range(1, steps + 1):
        loss_ds = []
        for _ in range(n_critic):
            X = next(queue)
            Z = torch.randn(X.shape[0], latent_dim)
            # modelLossD: gradients for the critic's learnables only.
            YPred = net_d(X)
            with torch.no_grad():
                XGenerated = net_g(Z)
            YPredGenerated = net_d(XGenerated)
            lossDUnregularized = (YPredGenerated - YPred).mean()
            epsilon = torch.rand(X.shape[0], 1, 1, 1)
            XHat = (epsilon * X + (1 - epsilon) * XGenerated).requires_grad_(True)
            YHat = net_d(XHat)
            (gradientsHat,) = torch.autograd.grad(YHat.sum(), XHat, create_graph=True)
            gradientsHatNorm = torch.sqrt((gradientsHat**2).sum(dim=(1, 2, 3)) + 1e-10)
            lossD = lossDUnregularized + lam * ((gradientsHatNorm - 1) ** 2).mean()
            opt_d.zero_grad()
            lossD.backward()
            opt_d.step()
            loss_ds.append(lossD.detach())
        # modelLossG, on fresh latents: gradients for the generator's learnables only.
        Z = torch.randn(batch_size, latent_dim)
        lossG = -net_d(net_g(Z)).mean()
        opt_g.zero_grad()
        lossG.backward()
        opt_g.step()
        losses.add(torch.stack(loss_ds).mean(), lossG, 1)
        if iteration % steps_per_epoch == 0 or iteration == steps:
            losses.end_epoch()
            epoch = math.ceil(iteration / steps_per_epoch)
            if epoch in snapshot_epochs:
                snapshots[epoch] = snapshot(net_g)
    return ReferenceRun(
        net_g, latent_dim, False, "running", losses.loss_d, losses.loss_g, steps, losses.seconds, snapshots
    )


# --- PyTorch DCGAN tutorial (CelebA faces) ---------------------------------------------------------
# https://pytorch.org/tutorials/beginner/dcgan_faces_tutorial.html. No CelebA here to train on; its
# nets and weights_init are what the celeba config's initialisation is checked against.


def dcgan_tutorial_weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def dcgan_tutorial_nets(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 3) -> tuple[nn.Module, nn.Module]:
    """The tutorial's Generator and Discriminator (64x64) after `apply(weights_init)`."""
    generator = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )
    generator.apply(dcgan_tutorial_weights_init)
    discriminator.apply(dcgan_tutorial_weights_init)
    return generator, discriminator
