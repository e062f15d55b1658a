"""GANModule: everything DCGAN and WGAN-GP share.

One `training_step` is one generator iteration: the loader batch holds `n_critic` real minibatches,
each drives one discriminator (critic) update, then the generator is updated once. Subclasses only
say what the two losses are (`discriminator_loss`, `generator_loss`).

Three things here exist because Lightning's defaults do the wrong thing for GANs:
- Step counting. Lightning adds one to `trainer.global_step` for every `LightningOptimizer.step()`,
  so with two optimizers `max_steps` stops a GAN at half its length (Lightning issue 17958). The
  discriminator's optimizer is stepped through the strategy directly (same precision handling, no
  counter), so `global_step`, `max_steps`, `every_n_train_steps` and the dashboards' x axis all count
  generator iterations.
- DDP. The alternating updates and the gradient penalty's double backward break DDP's reducer
  ("parameters not used in producing loss", PyTorch issue 63812). Backward passes run under
  `no_sync()` and each network's gradients are averaged across ranks with one flat all-reduce just
  before its optimizer steps. BatchNorm running statistics are averaged over ranks after each step
  (DDP's own buffer broadcast does not run under manual `no_sync()` backward passes).
- Randomness. Noise, interpolation weights and dropout draw from an RNG seeded from (run seed,
  generator step, rank): ranks get different noise, and a resumed run draws exactly what an
  uninterrupted run would have drawn, with no RNG state to save.
"""

import contextlib
import math
from collections.abc import Iterator
from typing import Literal

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from gan_lightning.gans.augment import diff_augment, parse_policy
from gan_lightning.gans.ema import make_ema, update_ema
from gan_lightning.gans.nonfinite import NonFiniteWatch, check_finite_parameters
from gan_lightning.loops import epoch_finished
from gan_lightning.nets import build_discriminator, build_generator, sampling_mode


class GANModule(pl.LightningModule):
    """Generator, discriminator, optimizers, fixed noise, EMA and the alternating update loop."""

    #: DCGAN reuses the G(z) of its discriminator step for the generator step (one generator forward
    #: per iteration, as in the PyTorch DCGAN tutorial); WGAN-GP draws fresh noise (MATLAB recipe).
    generator_reuses_fake: bool = True

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = 100,
        generator: str = "dcgan",
        generator_options: dict | None = None,
        discriminator: str = "dcgan",
        discriminator_options: dict | None = None,
        n_critic: int = 1,
        augment: str | None = None,
        lr: float = 2e-4,
        lr_g: float | None = None,
        lr_d: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
        betas_g: tuple[float, float] | None = None,
        betas_d: tuple[float, float] | None = None,
        lr_schedule: Literal["constant", "linear", "cosine"] = "constant",
        lr_warmup_steps: int = 0,
        ema_decay: float | None = None,
        num_fixed_samples: int = 64,
        fixed_noise_seed: int = 0,
        sample_batch_norm: Literal["running", "batch"] = "running",
        channels_last: bool = False,
        fused_optimizers: bool | None = None,
    ) -> None:
        """
        Args:
            image_size, channels: linked from the datamodule by the CLI; the nets are built for them.
            generator, discriminator: names in `gan_lightning.nets` (GENERATORS / DISCRIMINATORS),
                with `*_options` passed to the net's constructor.
            n_critic: discriminator updates per generator update, each on its own real minibatch.
            augment: DiffAugment policy, e.g. "color,translation,cutout" (gan_lightning.gans.augment):
                every image the discriminator sees, real or fake, in both updates, is augmented.
            lr, betas: Adam settings for both nets; `lr_g`/`lr_d`, `betas_g`/`betas_d` override one.
            lr_schedule: per-generator-iteration schedule over the run's length, after
                `lr_warmup_steps` of linear warmup.
            ema_decay: keep an exponential moving average of the generator (e.g. 0.999) for
                sampling and FID; None to sample from the trained generator itself.
            num_fixed_samples: how many fixed latent vectors the sample grids show.
            sample_batch_norm: how the generator's batch norm normalises when sampling (grids, FID,
                sample.py): "running" statistics (eval mode) or the sampled "batch"'s own, as in
                training (see gan_lightning.nets.sampling_mode).
            channels_last: run both nets in channels_last memory format (faster convs on GPUs).
            fused_optimizers: fused Adam kernels; None picks them on CUDA.
        """
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        if n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if lr_schedule != "constant" and lr_warmup_steps < 0:
            raise ValueError(f"lr_warmup_steps must be >= 0, got {lr_warmup_steps}")
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self.augment_policy = parse_policy(augment)
        self.generator = build_generator(generator, latent_dim, image_size, channels, **(generator_options or {}))
        self.discriminator = build_discriminator(discriminator, image_size, channels, **(discriminator_options or {}))
        self.generator_ema = make_ema(self.generator) if ema_decay is not None else None
        fixed = torch.randn(num_fixed_samples, latent_dim, generator=torch.Generator().manual_seed(fixed_noise_seed))
        # A buffer, so it is saved in checkpoints and identical on every rank.
        self.register_buffer("fixed_noise", fixed)
        # Seeds the per-step RNG; drawn from the global RNG that `seed_everything` sets, saved in
        # checkpoints (on_save_checkpoint) so a resumed run continues the same noise stream.
        self.noise_seed = int(torch.randint(0, 2**31 - 1, ()).item())
        self.nonfinite = NonFiniteWatch()
        # Running sums for the epoch/loss_* means: a buffer so it follows the module to its device,
        # not persistent because on_save_checkpoint stores it with the step count.
        self.register_buffer("epoch_loss_sums", torch.zeros(2), persistent=False)
        self.epoch_steps = 0
        # Real images the discriminator has seen, all ranks together (an x axis for W&B users); saved in
        # checkpoints, so it stays right when a run resumes with another batch size or number of devices.
        self.images_seen = 0

    # ----------------------------------------------------------------------------------------
    # What subclasses define

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """Losses and statistics of one discriminator update; must contain "loss_d".

        `real` and `fake` arrive as the discriminator is to see them: augmented when `augment` is
        set, in the module's memory format (see `_discriminator_input`).
        """
        raise NotImplementedError

    def generator_loss(self, fake: Tensor) -> dict[str, Tensor]:
        """Losses and statistics of one generator update; must contain "loss_g". `fake` arrives
        as in `discriminator_loss`, still attached to the generator's graph."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------
    # Sampling

    def noise(self, n: int) -> Tensor:
        """n latent vectors from the current (step-seeded) RNG."""
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def sample(self, noise: Tensor | None = None, num: int | None = None) -> Tensor:
        """Images in [-1, 1] from `noise` (default: `num` fresh vectors, or the fixed noise).

        Uses the EMA generator when there is one, dropout off, and batch norm as
        `sample_batch_norm` says: "running" statistics (a sample does not depend on what else is in
        the batch) or the batch's own statistics.
        """
        if noise is None:
            noise = self.noise(num) if num is not None else self.fixed_noise
        net = self.generator_ema if self.generator_ema is not None else self.generator
        with sampling_mode(net, self.hparams.get("sample_batch_norm", "running")):
            images = net(noise.to(self.device))
        return images.float()

    def sample_seeded(self, num: int, seed: int, batch_size: int) -> Iterator[Tensor]:
        """`num` images in batches of `batch_size`, from noise drawn on the CPU with `seed`, so
        a seed gives the same latents, hence the same samples, on every device."""
        noise = torch.randn(num, self.latent_dim, generator=torch.Generator().manual_seed(seed))
        return (self.sample(chunk) for chunk in noise.split(batch_size))

    # ----------------------------------------------------------------------------------------
    # The training step

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Tensor]:
        opt_g, opt_d = self.optimizers()
        if batch.shape[0] % self.n_critic:  # shapes are host metadata: no sync
            raise ValueError(
                f"a training batch of {batch.shape[0]} images does not split into n_critic={self.n_critic} "
                "minibatches: give the datamodule batches_per_step=n_critic (scripts/fit.py links them)."
            )
        real_batches = batch.chunk(self.n_critic)
        with self._step_rng():
            d_stats = []
            fake = None
            for i, real in enumerate(real_batches):
                keep_graph = self.generator_reuses_fake and i == self.n_critic - 1
                with torch.set_grad_enabled(keep_graph):
                    fake = self.generator(self.noise(real.shape[0]))
                d_stats.append(self._discriminator_update(opt_d, real, fake.detach()))
            if not self.generator_reuses_fake:
                fake = self.generator(self.noise(real_batches[-1].shape[0]))
            g_stats = self._generator_update(opt_g, fake)
        self._average_batch_norm_statistics()
        stats = {name: torch.stack([s[name] for s in d_stats]).mean() for name in d_stats[0]} | g_stats
        self._log_step(stats, batch.shape[0])
        return stats

    def _discriminator_update(self, opt_d, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        stats = self.discriminator_loss(self._discriminator_input(real), self._discriminator_input(fake))
        opt_d.zero_grad(set_to_none=True)
        self._backward(stats["loss_d"])
        self._average_gradients(self.discriminator)
        # Through the strategy, not opt_d.step(): keeps global_step == generator iterations (see top).
        self.trainer.strategy.optimizer_step(opt_d.optimizer, closure=_no_closure)
        opt_d.zero_grad(set_to_none=True)
        return {name: value.detach() for name, value in stats.items()}

    def _generator_update(self, opt_g, fake: Tensor) -> dict[str, Tensor]:
        # D's weights get no gradient from the generator loss: cheaper, and nothing leaks into D.
        self.discriminator.requires_grad_(False)
        try:
            stats = self.generator_loss(self._discriminator_input(fake))
            opt_g.zero_grad(set_to_none=True)
            self._backward(stats["loss_g"])
        finally:
            self.discriminator.requires_grad_(True)
        self._average_gradients(self.generator)
        opt_g.step()
        opt_g.zero_grad(set_to_none=True)
        if self.generator_ema is not None:
            update_ema(self.generator_ema, self.generator, self.hparams.ema_decay)
        for scheduler in self.lr_schedulers() or []:  # two schedulers or none (configure_optimizers)
            scheduler.step()
        return {name: value.detach() for name, value in stats.items()}

    def _log_step(self, stats: dict[str, Tensor], images: int) -> None:
        """Record the step's statistics; hand them to Lightning only on logging steps.

        Each `self.log` costs ~0.2 ms of host time in Lightning 2.6 (it copies metric metadata), a
        dozen per step, which is the whole budget of a fast GPU step. Lightning writes on_step
        values only every `log_every_n_steps` anyway, so calling it on the other steps only costs.
        Epoch means are summed on the device instead of through Lightning's on_epoch reduction.
        """
        self.nonfinite.update({k: v for k, v in stats.items() if k.startswith("loss")}, self.global_step)
        self.epoch_loss_sums = self.epoch_loss_sums + torch.stack([stats["loss_d"], stats["loss_g"]]).float()
        self.epoch_steps += 1
        self.images_seen += images * self.trainer.world_size
        if self.global_step % max(self.trainer.log_every_n_steps, 1) != 0:
            return
        self.log_dict({f"train/{name}": value for name, value in stats.items()}, on_step=True, on_epoch=False)
        self.log_dict({"loss_d": stats["loss_d"], "loss_g": stats["loss_g"]}, prog_bar=True, logger=False)
        self.log("progress/images_seen", float(self.images_seen), on_step=True, on_epoch=False)

    def on_train_epoch_end(self) -> None:
        # Reset here, not at epoch start: a checkpoint then holds the partial sums of its epoch (or
        # none after the epoch ended), and a resumed run logs the same means as an uninterrupted one.
        # Lightning also calls this when max_steps stops a run mid-epoch: that epoch has not ended, and
        # a run that resumes it (train longer) logs its mean over all its steps.
        if not epoch_finished(self.trainer):
            return
        if self.epoch_steps:
            means = self.epoch_loss_sums / self.epoch_steps
            self.log_dict({"epoch/loss_d": means[0], "epoch/loss_g": means[1]}, on_step=False, on_epoch=True)
        self.epoch_loss_sums, self.epoch_steps = torch.zeros_like(self.epoch_loss_sums), 0

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        every = max(self.trainer.log_every_n_steps, 1)
        if self.global_step % every == 0:
            self.nonfinite.check(all_ranks=self.trainer.world_size > 1)

    # ----------------------------------------------------------------------------------------
    # Plumbing

    def _format(self, images: Tensor) -> Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.hparams.channels_last else images

    def _discriminator_input(self, images: Tensor) -> Tensor:
        """What the discriminator sees of a batch: DiffAugment'ed with fresh draws from the step RNG
        (when `augment` is set), then in the nets' memory format."""
        return self._format(diff_augment(images, self.augment_policy))

    @contextlib.contextmanager
    def _step_rng(self) -> Iterator[None]:
        """Global RNG seeded from (noise_seed, generator step, rank) for this step, then restored."""
        seed = (self.noise_seed * 1_000_003 + self.global_step) * 4099 + self.global_rank
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=self.device.type):
            # Only the generators in use: torch.manual_seed would also seed every other backend.
            torch.default_generator.manual_seed(seed % (2**63 - 1))
            if self.device.type == "cuda":
                torch.cuda.default_generators[self.device.index or 0].manual_seed(seed % (2**63 - 1))
            yield

    def _backward(self, loss: Tensor) -> None:
        model = self.trainer.strategy.model
        sync_off = model.no_sync() if isinstance(model, DistributedDataParallel) else contextlib.nullcontext()
        with sync_off:
            self.manual_backward(loss)

    def _average_gradients(self, net: nn.Module) -> None:
        """Average `net`'s gradients over all ranks with one flat all-reduce (no-op on one process)."""
        self._all_reduce_mean([p.grad for p in net.parameters() if p.grad is not None])

    def _average_batch_norm_statistics(self) -> None:
        """Average the running statistics (BatchNorm buffers) of every net over all ranks.

        DDP would broadcast rank 0's buffers before each forward, but Lightning's manual backward
        under `no_sync()` switches that off after the first step, so each rank's running statistics
        drift apart with its own data shard, and eval-mode sampling (grids, FID, whose samples are
        split across ranks) would differ by rank. Averaged at the end of every step, all ranks hold
        the same statistics; for running means that is exactly the statistic of the global batch.
        """
        if self.trainer.world_size == 1:
            return
        nets = [self.generator, self.discriminator, self.generator_ema]
        self._all_reduce_mean([b for net in nets if net is not None for b in net.buffers() if b.is_floating_point()])

    def _all_reduce_mean(self, tensors: list[Tensor]) -> None:
        """Replace each tensor by its mean over all ranks: one flat all-reduce (no-op on one process)."""
        world_size = self.trainer.world_size
        if world_size == 1 or not tensors:
            return
        flat = torch._utils._flatten_dense_tensors(tensors)
        torch.distributed.all_reduce(flat)
        flat.div_(world_size)
        for tensor, averaged in zip(tensors, torch._utils._unflatten_dense_tensors(flat, tensors)):
            tensor.copy_(averaged)

    def on_train_start(self) -> None:
        # A resumed run restored the optimizers' learning rates as the checkpointed run left them; set them
        # from this run's schedule (which may be longer: train longer) for the step it resumes at. For a
        # run of the same length the value is the one the uninterrupted run computed for this step.
        for scheduler in self.lr_schedulers() or []:
            step = scheduler.last_epoch
            for group, base, factor in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
                group["lr"] = base * factor(step)

    def setup(self, stage: str) -> None:
        if self.hparams.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)

    def adam_settings(self) -> tuple[tuple[float, tuple[float, float]], tuple[float, tuple[float, float]]]:
        """((lr, betas) of the generator, (lr, betas) of the discriminator): `lr`/`betas` unless a per-net
        value is given; an explicit 0 (a frozen net) counts as given."""
        hp = self.hparams
        generator = (_given(hp.lr_g, hp.lr), tuple(_given(hp.betas_g, hp.betas)))
        discriminator = (_given(hp.lr_d, hp.lr), tuple(_given(hp.betas_d, hp.betas)))
        return generator, discriminator

    def configure_optimizers(self):
        hp = self.hparams
        fused = hp.fused_optimizers
        if fused is None:
            fused = self.device.type == "cuda"
        (lr_g, betas_g), (lr_d, betas_d) = self.adam_settings()
        make = lambda params, lr, betas: torch.optim.Adam(params, lr=lr, betas=betas, fused=fused or None)
        opt_g = make(self.generator.parameters(), lr_g, betas_g)
        opt_d = make(self.discriminator.parameters(), lr_d, betas_d)
        if hp.lr_schedule == "constant":
            return [opt_g, opt_d]
        return [opt_g, opt_d], [self._scheduler(opt_g), self._scheduler(opt_d)]

    def _scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        """Warmup, then linear or cosine decay to zero at the end of this run, stepped once per generator step.

        The learning rate is a function of the step and of this run's length, and the length is not
        saved in checkpoints (a function given to LambdaLR is not part of its state_dict): a run resumed
        to train longer (`--ckpt_path last --trainer.max_steps N`) stretches the decay to its new end from
        the step it resumes at, instead of training its extra steps at lr 0 (linear) or at a rising lr
        (cosine past its half period).
        """
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total):
            raise ValueError(
                f"lr_schedule={self.hparams.lr_schedule!r} needs a finite run length: set "
                "trainer.max_steps (generator iterations) or trainer.max_epochs."
            )
        warmup, cosine = self.hparams.lr_warmup_steps, self.hparams.lr_schedule == "cosine"
        decay_steps = max(int(total) - warmup, 1)

        def factor(step: int) -> float:
            if step < warmup:  # linear from 1/warmup to 1 over the warmup steps
                return (1 + step * (warmup - 1) / warmup) / warmup
            done = min(step - warmup, decay_steps) / decay_steps
            return 0.5 * (1 + math.cos(math.pi * done)) if cosine else 1 - done

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Never write a checkpoint of a run that has gone NaN (one host sync per checkpoint). Every rank
        # builds the checkpoint (only rank 0 writes it), so the ranks agree on the check.
        distributed = self._trainer is not None and self.trainer.world_size > 1
        self.nonfinite.check(all_ranks=distributed)
        check_finite_parameters(dict(self.named_parameters()))
        checkpoint["gan_lightning"] = {
            "module": type(self).__name__,
            "noise_seed": self.noise_seed,
            "epoch_loss_sums": self.epoch_loss_sums.detach().cpu(),
            "epoch_steps": self.epoch_steps,
            "images_seen": self.images_seen,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("gan_lightning")
        if state is not None:
            self.noise_seed = int(state["noise_seed"])
            if "epoch_loss_sums" in state:
                self.epoch_loss_sums = state["epoch_loss_sums"].to(self.device)
                self.epoch_steps = int(state["epoch_steps"])
            self.images_seen = int(state.get("images_seen", 0))


def _no_closure() -> None:
    return None


def _given(value, default):
    """`value` unless it is None: an explicit 0 (a frozen net) or (0, 0) stays as given."""
    return default if value is None else value
