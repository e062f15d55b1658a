"""The LightningCLI behind scripts/fit.py.

    python scripts/fit.py --config configs/pokemon.yaml [--trainer.max_epochs 5] [--ckpt_path last]

What it adds to LightningCLI:
- image size and channels are set once, on the data, and linked to the model; the model's n_critic is
  linked to the number of real batches the data serves per training step;
- every run gets its own folder `<trainer.default_root_dir>/<name>/version_N/` (gan_lightning.runs);
- `--ckpt_path last` finds the newest checkpoint of the newest run of that name (also the HPC
  checkpoint Lightning writes on SLURM preemption) and continues in the same folder and W&B run;
- always-on callbacks with their own config sections: `samples:` (fixed-noise grids), `fid:` (FID,
  best.ckpt), `checkpoint:` (last.ckpt every N generator steps, at the end and on preemption),
  `distributed:` (the collective timeout that turns a multi-process hang into an error);
- errors meant for the user (gan_lightning.errors.UserError) print as their message alone.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from pathlib import Path

from jsonargparse import Namespace
from pytorch_lightning import Trainer
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

from gan_lightning.callbacks.checkpoint import RunCheckpoint
from gan_lightning.callbacks.collective_timeout import CollectiveTimeout
from gan_lightning.callbacks.fid import FIDEvaluation
from gan_lightning.callbacks.progress_animation import ProgressAnimation
from gan_lightning.callbacks.run_report import RunReport
from gan_lightning.callbacks.run_summary import RunSummary
from gan_lightning.callbacks.sample_grid import FixedNoiseGrid
from gan_lightning.checkpoint_io import AtomicCheckpointIO
from gan_lightning.data import ImageDataModule
from gan_lightning.errors import DEBUG_ENV, ConfigError, UserError, exit_on_user_error, user_message_of
from gan_lightning.gans import GANModule
from gan_lightning.gans.loading import read_checkpoint
from gan_lightning.runs import RUN_DIR_ENV, resolve_run, wandb_run_id


class GANCLI(LightningCLI):
    """LightningCLI with linked image geometry, per-run folders and resume by `--ckpt_path last`."""

    def __init__(self, args: list[str] | None = None, **kwargs) -> None:
        super().__init__(
            model_class=GANModule,
            datamodule_class=ImageDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            run=False,
            save_config_kwargs={"overwrite": True},
            args=args,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.init_args.image_size", "model.init_args.image_size")
        parser.link_arguments("data.init_args.channels", "model.init_args.channels")
        parser.link_arguments("model.init_args.n_critic", "data.init_args.batches_per_step")
        parser.add_argument(
            "--ckpt_path",
            type=str | None,
            default=None,
            help="Resume: 'last' (newest checkpoint of the newest run with this name) or a .ckpt path.",
        )
        parser.add_argument("--name", type=str | None, default=None, help="Run name (default: the config file's name).")
        parser.add_argument("--wandb", type=bool, default=False, help="Also log to Weights & Biases.")
        parser.add_argument("--wandb_project", type=str, default="gan-lightning", help="W&B project.")
        parser.add_argument("--debug", type=bool, default=False, help="Show tracebacks of errors meant for the user.")
        # Order matters at an epoch's end: last.ckpt is written after the grids and FID of that epoch.
        parser.add_lightning_class_args(FixedNoiseGrid, "samples")
        parser.add_lightning_class_args(FIDEvaluation, "fid")
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.add_lightning_class_args(CollectiveTimeout, "distributed")
        # End-of-run work, in this order after the final FID: animation, dashboards' summary, report.
        parser.add_lightning_class_args(ProgressAnimation, "animation")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_lightning_class_args(RunReport, "report")

    def before_instantiate_classes(self) -> None:
        config = self.config
        if config.debug:
            os.environ[DEBUG_ENV] = "1"
        self.run_dir, self.resume_from = resolve_run(
            root=Path(config.trainer.default_root_dir or "runs"),
            name=config.name or _config_stem(config),
            ckpt_path=config.ckpt_path,
        )
        if self.resume_from is not None:
            # A truncated, foreign or code-carrying file fails here, with a clear message, before a
            # run folder is made or anything in the run is written.
            read_checkpoint(self.resume_from, mmap=True)
        _refresh_progress_bar_on_logging_steps(config.trainer)

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except Exception as error:
            message = user_message_of(error)
            if message is None:
                raise
            raise ConfigError(f"the config could not be built: {message}") from error

    def instantiate_trainer(self, **kwargs) -> Trainer:
        os.environ[RUN_DIR_ENV] = str(self.run_dir)  # DDP children inherit it and agree on the folder
        # default_root_dir is the run folder: Lightning's SLURM handler writes hpc_ckpt_*.ckpt there,
        # where --ckpt_path last looks for it.
        kwargs.setdefault("plugins", [*(self.config.trainer.plugins or []), AtomicCheckpointIO()])
        return super().instantiate_trainer(logger=self._loggers(), default_root_dir=str(self.run_dir), **kwargs)

    def _loggers(self) -> list[Logger]:
        run = self.run_dir
        # No hp_metric placeholder: RunSummary writes the HPARAMS entry with the run's best and final FID and KID.
        tensorboard = TensorBoardLogger(
            save_dir=run.parent.parent, name=run.parent.name, version=run.name, default_hp_metric=False
        )
        loggers: list[Logger] = [tensorboard]
        if self.config.wandb:
            loggers.append(
                WandbLogger(
                    project=self.config.wandb_project,
                    name=f"{run.parent.name}/{run.name}",
                    save_dir=str(run),
                    id=wandb_run_id(run),
                    resume="allow",
                )
            )
        return loggers

    def fit(self) -> None:
        # weights_only: a checkpoint holds tensors and plain data; loading one never runs its code.
        try:
            self.trainer.fit(self.model, datamodule=self.datamodule, ckpt_path=self.resume_from, weights_only=True)
        except BaseException:
            _stop_launched_ranks(self.trainer)
            raise
        finally:
            # Lightning leaves the W&B run open until the process exits; close it so its files are
            # complete now and a later fit in the same process starts a new run.
            for logger in self.trainer.loggers:
                if isinstance(logger, WandbLogger) and self.trainer.is_global_zero:
                    logger.experiment.finish()


def _stop_launched_ranks(trainer: Trainer, grace_s: float = 10.0) -> None:
    """After an error on this rank, end the ranks it launched (Lightning does on Ctrl-C and SIGTERM, not on
    an error): they would otherwise wait for this rank in their next collective until the timeout. They get
    `grace_s` to end on their own first, so a rank that failed too can print why."""
    launcher = trainer.strategy.launcher
    if not isinstance(launcher, _SubprocessScriptLauncher) or not launcher.procs:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(proc.poll() is None for proc in launcher.procs):
        time.sleep(0.1)
    launcher.kill(signal.SIGKILL)


def _refresh_progress_bar_on_logging_steps(trainer: Namespace) -> None:
    """Add a TQDM bar that refreshes every `log_every_n_steps` steps (unless one is configured).

    Each refresh reads the shown losses with `.item()`, a device sync; Lightning's default bar
    refreshes every step. The values only change on logging steps (GANModule._log_step) anyway.
    """
    if trainer.enable_progress_bar is False:
        return
    callbacks = trainer.callbacks or []
    if any("ProgressBar" in str(getattr(c, "class_path", "")) for c in callbacks):
        return
    every = trainer.log_every_n_steps or 50
    bar = Namespace(class_path="pytorch_lightning.callbacks.TQDMProgressBar", init_args=Namespace(refresh_rate=every))
    trainer.callbacks = [*callbacks, bar]


def _config_stem(config: Namespace) -> str:
    paths = config.get("config") or []
    return Path(str(paths[-1])).stem if paths else "gan"


def main(args: list[str] | None = None) -> None:
    """Entry point of scripts/fit.py and the `gan-fit` command."""
    # Lightning 2.6 warns on every periodic checkpoint of a manually optimized module that the weights
    # are those after the optimizer step. For a GAN that is what a checkpoint at generator step N means.
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
    try:
        GANCLI(args=args).fit()
    except UserError as error:
        exit_on_user_error("fit.py", error)
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
