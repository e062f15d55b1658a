"""FID during training, and the best-FID checkpoint.

FID is torchmetrics' FrechetInceptionDistance on the standard TF-Inception pool3 features (see
gan_lightning.metrics.fid). The real statistics are computed once per dataset and resolution and
cached on disk; each evaluation generates `num_samples` images from fixed per-sample latents (from
the EMA generator when there is one), split across DDP ranks, so the value does not depend on the
number of devices. The score goes to every logger as `val/fid`, and whenever it improves the run is
saved to `checkpoints/best.ckpt`: a GAN's last checkpoint is often not its best.
"""

import math
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from tqdm import tqdm

from gan_lightning.metrics.fid import build_fid_metric, compute_fid, load_or_compute_real_stats, to_fid_input

TAG = "val/fid"


class FIDCallback(pl.Callback):
    """Compute FID every `every_n_steps` generator steps and/or `every_n_epochs`, and at the end."""

    def __init__(
        self,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = None,
        num_samples: int = 10_000,
        real_max_images: int | None = 50_000,
        batch_size: int = 250,
        weights_path: str | None = None,
        noise_seed: int = 0,
        at_end: bool = True,
        enabled: bool = True,
        feature: int = 2048,
        download: bool = True,
    ) -> None:
        """
        Args:
            num_samples: generated images per evaluation (10,000 by default; 50,000 for numbers
                comparable with papers).
            real_max_images: real images in the reference statistics (None: the whole dataset).
            weights_path: the Inception weights file (e.g. made by scripts/convert_fid_weights.py);
                None looks in the usual places and downloads when online (see resolve_fid_weights).
            noise_seed: seed of the per-sample latents, the same at every evaluation.
            at_end: also evaluate when training ends.
            enabled: False turns FID off entirely.
            feature: Inception layer (2048 is FID as published; 64, 192 or 768 only for quick checks).
            download: fetch torch-fidelity's weights when none are found locally.
        """
        if num_samples < 2:
            raise ValueError(f"FIDCallback: num_samples must be at least 2, got {num_samples}")
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.real_max_images = real_max_images
        self.batch_size = batch_size
        self.weights_path = weights_path
        self.noise_seed = noise_seed
        self.at_end = at_end
        self.enabled = enabled
        self.feature = feature
        self.download = download
        self.metric = None
        self.best_fid = math.inf
        self.best_step = -1
        self._last_step = -1

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and self.enabled and self.metric is None:
            self.metric = build_fid_metric(
                self.weights_path, device="cpu", download=self.download, feature=self.feature
            )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.metric is None:
            return
        self.metric = self.metric.to(pl_module.device)
        datamodule = trainer.datamodule
        cache_file = Path(datamodule.cache_dir) / "fid" / f"{datamodule.cache_key}.pt"
        load_or_compute_real_stats(
            self.metric,
            datamodule.images(),
            cache_file,
            batch_size=self.batch_size,
            max_images=self.real_max_images,
            progress=trainer.is_global_zero,
        )
        # Latents of sample i are the same at every evaluation and for any number of ranks.
        self.noise = torch.randn(
            self.num_samples, pl_module.latent_dim, generator=torch.Generator().manual_seed(self.noise_seed)
        )

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self.evaluate(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_end:
            self.evaluate(trainer, pl_module)

    @torch.no_grad()
    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> float | None:
        """FID of the current generator (all ranks call this together); logs it and keeps the best."""
        step = trainer.global_step
        if self.metric is None or step == self._last_step:
            return None
        self._last_step = step
        self.metric.reset()  # keeps the real statistics (reset_real_features=False)
        mine = self.noise[trainer.global_rank :: trainer.world_size]
        chunks = mine.split(self.batch_size)
        for noise in tqdm(
            chunks, desc=f"FID ({self.num_samples} samples)", leave=False, disable=not trainer.is_global_zero
        ):
            self.metric.update(to_fid_input(pl_module.sample(noise.to(pl_module.device))), real=False)
        fid = compute_fid(self.metric)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({TAG: fid}, step=step)
        trainer.callback_metrics[TAG] = torch.tensor(fid)
        if fid < self.best_fid:
            self.best_fid, self.best_step = fid, step
            path = self.best_checkpoint_path(trainer)
            if path is not None:
                trainer.save_checkpoint(path, weights_only=False)  # the full run state, resumable
        rank_zero_info(f"FID {fid:.2f} at generator step {step} (best {self.best_fid:.2f} at step {self.best_step})")
        return fid

    @staticmethod
    def best_checkpoint_path(trainer: pl.Trainer) -> Path | None:
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and checkpoint.dirpath:
            return Path(checkpoint.dirpath) / "best.ckpt"
        return Path(trainer.log_dir) / "checkpoints" / "best.ckpt" if trainer.log_dir else None

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid, "best_step": self.best_step}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_fid = float(state_dict["best_fid"])
        self.best_step = int(state_dict["best_step"])
