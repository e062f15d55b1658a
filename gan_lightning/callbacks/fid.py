"""FID (and KID) during training, and the best checkpoint.

The metrics are gan_lightning.metrics' (one Inception pass per evaluation feeds FID and KID; the numbers
equal scripts/evaluate.py's for the same checkpoint). The real images' features are computed at the first
evaluation and cached on disk; each evaluation generates `num_samples` images from fixed per-sample latents
(from the EMA generator when there is one), split across DDP ranks, so the value does not depend on the
number of devices. The scores go to every logger as `val/fid` (and `val/kid`, `val/kid_std`), and whenever
the monitored one improves the run is saved to `checkpoints/best.ckpt`: a GAN's last checkpoint is often not
its best. At fit start one line says what an evaluation costs on this device, measured.
"""

import math
import time
from pathlib import Path
from typing import Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn

from gan_lightning.callbacks.checkpoint import RunCheckpoint
from gan_lightning.loops import epoch_finished
from gan_lightning.metrics.evaluation import Evaluator
from gan_lightning.metrics.generated import seeded_noise
from gan_lightning.metrics.inception import POOL_LAYERS, extract_features
from gan_lightning.metrics.kid import KID_SUBSET_SIZE, KID_SUBSETS
from gan_lightning.metrics.scores import ScoreSettings
from gan_lightning.metrics.weights import agree_on_weights
from gan_lightning.runs import run_dir_of

TAG = "val/fid"
TAGS = {"fid": TAG, "kid": "val/kid", "kid_std": "val/kid_std"}


def _stopping(trainer: pl.Trainer) -> bool:
    """Whether the ranks agreed to stop (a signal): an evaluation then would eat the grace time."""
    checkpoint = trainer.checkpoint_callback
    return isinstance(checkpoint, RunCheckpoint) and checkpoint.stop_requested


class FIDEvaluation(pl.Callback):
    """Compute FID (and KID) every `every_n_steps` generator steps and/or `every_n_epochs`, and at the end."""

    def __init__(
        self,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = None,
        num_samples: int = 10_000,
        real_max_images: int | None = 50_000,
        batch_size: int = 250,
        weights_path: str | None = None,
        latent_seed: int = 0,
        at_end: bool = True,
        enabled: bool = True,
        feature: int = 2048,
        download: bool = True,
        kid: bool = False,
        kid_subsets: int = KID_SUBSETS,
        kid_subset_size: int = KID_SUBSET_SIZE,
        monitor: Literal["fid", "kid"] = "fid",
        report_cost: bool = True,
    ) -> None:
        """
        Args:
            num_samples: generated images per evaluation (10,000 by default; 50,000 for numbers
                comparable with papers).
            real_max_images: real images in the reference (None: the whole dataset).
            weights_path: the Inception weights file (e.g. made by scripts/convert_fid_weights.py);
                None looks in the usual places and downloads when online (see resolve_fid_weights).
            latent_seed: seed of the per-sample latents, the same at every evaluation.
            at_end: also evaluate when training ends.
            enabled: False turns FID off entirely.
            feature: Inception layer (2048 is FID as published; 64, 192 or 768 only for quick checks).
            download: fetch torch-fidelity's weights when none are found locally.
            kid: also log KID (`val/kid`, `val/kid_std`) from the same samples and features: no extra
                Inception pass, only the kernel sums over `kid_subsets` subsets of `kid_subset_size`.
            monitor: the metric best.ckpt follows ("kid" computes KID even when `kid` is false).
            report_cost: at fit start, measure and print what one evaluation costs on this device.
        """
        if num_samples < 2:
            raise ValueError(f"FIDEvaluation: num_samples must be at least 2, got {num_samples}")
        if str(feature) not in POOL_LAYERS:
            raise ValueError(f"FIDEvaluation: feature must be one of {', '.join(POOL_LAYERS)}, got {feature}")
        if monitor not in ("fid", "kid"):
            raise ValueError(f"FIDEvaluation: monitor must be 'fid' or 'kid', got {monitor!r}")
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.real_max_images = real_max_images
        self.batch_size = batch_size
        self.weights_path = weights_path
        self.latent_seed = latent_seed
        self.at_end = at_end
        self.enabled = enabled
        self.feature = feature
        self.download = download
        self.metrics = ["fid", "kid"] if kid or monitor == "kid" else ["fid"]
        self.settings = ScoreSettings(kid_subsets=kid_subsets, kid_subset_size=kid_subset_size)
        self.monitor = monitor
        self.report_cost = report_cost
        self.evaluator: Evaluator | None = None
        self.best_value = math.inf
        self.best_step = -1
        self._last_step = -1

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or not self.enabled or self.evaluator is not None:
            return
        # Every rank calls this (a collective): rank 0 finds the weights and every rank gets its decision.
        weights = agree_on_weights(self.weights_path, self.download, trainer.strategy.root_device)
        if weights is not None:
            self.evaluator = Evaluator.from_weights(
                weights,
                self.metrics,
                str(self.feature),
                real_max_images=self.real_max_images,
                batch_size=self.batch_size,
                settings=self.settings,
            )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.evaluator is None:
            return
        self.evaluator.to(pl_module.device)
        if self.report_cost:
            rank_zero_info(self.cost_line(trainer, pl_module))

    @torch.no_grad()
    def cost_line(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> str:
        """One line: the seconds one evaluation takes here, from timing generator + Inception on a few images
        (after a warm-up batch), and how to make it cheaper. Runs on every rank (no collectives, no RNG use)."""
        count = min(8, self.num_samples)
        noise = seeded_noise(count + 1, pl_module.latent_dim, self.latent_seed).to(pl_module.device)
        extractor = self.evaluator.extractor
        extract_features(extractor, [pl_module.sample(noise[:1])], progress=False)  # warm-up: lazy init, caches
        synchronize(pl_module.device)
        start = time.perf_counter()
        extract_features(extractor, [pl_module.sample(noise[1:])], progress=False)
        synchronize(pl_module.device)
        per_second = count / (time.perf_counter() - start)
        world = trainer.world_size
        line = (
            f"FID{'+KID' if 'kid' in self.metrics else ''}: one evaluation of {self.num_samples:,} samples takes "
            f"about {duration(math.ceil(self.num_samples / world) / per_second)} here ({per_second:.1f} images/s "
            f"of generator + Inception measured on {pl_module.device}{f', x {world} ranks' if world > 1 else ''})"
        )
        datamodule = trainer.datamodule
        if not self.evaluator.reference_is_cached(datamodule):
            real = len(datamodule.images()) if self.real_max_images is None else self.real_max_images
            real = min(real, len(datamodule.images()))
            line += f"; the first also computes the features of {real:,} real images once (about "
            line += f"{duration(math.ceil(real / world) / per_second)}, then cached)"
        return (
            f"{line}. Cheaper: fewer samples (--fid.num_samples; FID is biased at small n, KID is not: "
            "--fid.kid true), fewer evaluations (--fid.every_n_steps / --fid.every_n_epochs), a GPU, "
            "or --fid.enabled false."
        )

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0 and not _stopping(trainer):
            self.evaluate(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not epoch_finished(trainer) or _stopping(trainer):  # max_steps stopped it mid-epoch, or a stop is due
            return
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_end:
            self.evaluate(trainer, pl_module)

    @torch.no_grad()
    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, float] | None:
        """FID (and KID) of the current generator; logs them and keeps the best checkpoint.

        Every rank calls this at the same step (the hooks above fire on all ranks alike, and `evaluator` is
        set or not on all ranks alike: setup's agreed decision). The Evaluator's methods are collectives and
        return rank 0's values on every rank, so every rank takes the same "is it the best" branch and calls
        save_checkpoint (a collective) together."""
        step = trainer.global_step
        if self.evaluator is None or step == self._last_step:
            return None
        self._last_step = step
        if not self.evaluator.reference_loaded:
            self.evaluator.load_reference(trainer.datamodule, progress=trainer.is_global_zero)
        result = self.evaluator.evaluate_generator(
            pl_module, self.num_samples, self.latent_seed, trainer.is_global_zero
        )
        values = {TAGS[name]: value for name, value in result["metrics"].items()}
        if trainer.is_global_zero:
            # Safe on rank 0 alone: loggers' log_metrics write files (rank_zero_only), no collective.
            for logger in trainer.loggers:
                logger.log_metrics(values, step=step)
        for tag, value in values.items():
            trainer.callback_metrics[tag] = torch.tensor(value)
        current = result["metrics"][self.monitor]
        if current < self.best_value:
            self.best_value, self.best_step = current, step
            self._save_best(trainer)
        shown = ", ".join(f"{name.upper()} {value:.4g}" for name, value in result["metrics"].items())
        rank_zero_info(
            f"{shown} at generator step {step} (best {self.monitor.upper()} {self.best_value:.4g} at step "
            f"{self.best_step})"
        )
        return result["metrics"]

    @staticmethod
    def _save_best(trainer: pl.Trainer) -> None:
        """Write `checkpoints/best.ckpt` for this step (every rank calls this: save_checkpoint is a collective).

        With the CLI's RunCheckpoint, that callback writes it at this step's save point, after the epoch-end
        hooks when this is an epoch's last step (see gan_lightning.loops), so best.ckpt resumes as exactly as
        last.ckpt. Without one (a Trainer built by hand), it is written now, into the run folder.
        """
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, RunCheckpoint):
            checkpoint.request_best()
            return
        run_dir = (
            Path(checkpoint.dirpath).parent if checkpoint is not None and checkpoint.dirpath else run_dir_of(trainer)
        )
        if run_dir is not None:
            trainer.save_checkpoint(run_dir / "checkpoints" / "best.ckpt", weights_only=False)

    def state_dict(self) -> dict:
        return {"monitor": self.monitor, "best_value": self.best_value, "best_step": self.best_step}

    def load_state_dict(self, state_dict: dict) -> None:
        monitor = state_dict.get("monitor", "fid")  # checkpoints written before KID kept "best_fid"
        if monitor != self.monitor:
            rank_zero_warn(f"best.ckpt followed {monitor} before this resume and follows {self.monitor} now: restarted")
            return
        self.best_value = float(state_dict.get("best_value", state_dict.get("best_fid", math.inf)))
        self.best_step = int(state_dict["best_step"])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def duration(seconds: float) -> str:
    """12 s, 3.4 min, 1.2 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
