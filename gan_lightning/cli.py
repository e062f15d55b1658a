"""The LightningCLI behind scripts/fit.py.

    python scripts/fit.py --config configs/pokemon.yaml [--trainer.max_epochs 5] [--ckpt_path last]

What it adds to LightningCLI:
- image size and channels are set once, on the data, and linked to the model;
- every run gets its own folder `<trainer.default_root_dir>/<name>/version_N/` holding the TensorBoard
  events, the resolved config, `checkpoints/` (last.ckpt, best.ckpt) and `samples/*.png`;
- `--ckpt_path last` finds the newest checkpoint of the newest run of that name (also the HPC
  checkpoint Lightning writes on SLURM preemption) and continues in the same folder and W&B run;
- always-on callbacks with their own config sections: `checkpoint:` (last.ckpt every N generator
  steps, at the end and on preemption), `samples:` (fixed-noise grids), `fid:` (FID, best.ckpt).
"""

import os
import re
import sys
import uuid
import warnings
from pathlib import Path

from jsonargparse import Namespace
from pytorch_lightning import Trainer
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import Logger, TensorBoardLogger, WandbLogger

from gan_lightning.callbacks.checkpoint import AtomicCheckpointIO, RunCheckpoint
from gan_lightning.callbacks.fid import FIDCallback
from gan_lightning.callbacks.progress_animation import ProgressAnimation
from gan_lightning.callbacks.run_report import RunReport
from gan_lightning.callbacks.run_summary import RunSummary
from gan_lightning.callbacks.sample_grid import FixedNoiseGrid
from gan_lightning.data import ImageDataModule
from gan_lightning.gans import GANModule
from gan_lightning.gans.loading import CheckpointError, read_checkpoint

RUN_DIR_ENV = "GAN_LIGHTNING_RUN_DIR"


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
        parser.add_argument(
            "--ckpt_path",
            type=str | None,
            default=None,
            help="Resume: 'last' (newest checkpoint of the newest run with this name) or a .ckpt path.",
        )
        parser.add_argument("--name", type=str | None, default=None, help="Run name (default: the config file's name).")
        parser.add_argument("--wandb", type=bool, default=False, help="Also log to Weights & Biases.")
        parser.add_argument("--wandb_project", type=str, default="gan-lightning", help="W&B project.")
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.add_lightning_class_args(FixedNoiseGrid, "samples")
        parser.add_lightning_class_args(FIDCallback, "fid")
        # End-of-run work runs in this order, after the final FID: animation, dashboards, report.
        parser.add_lightning_class_args(ProgressAnimation, "animation")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_lightning_class_args(RunReport, "report")

    def before_instantiate_classes(self) -> None:
        config = self.config
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

    def instantiate_trainer(self, **kwargs) -> Trainer:
        os.environ[RUN_DIR_ENV] = str(self.run_dir)  # DDP children inherit it and agree on the folder
        # default_root_dir is the run folder: Lightning's SLURM handler writes hpc_ckpt_*.ckpt there,
        # where --ckpt_path last looks for it.
        kwargs.setdefault("plugins", [*(self.config.trainer.plugins or []), AtomicCheckpointIO()])
        return super().instantiate_trainer(logger=self._loggers(), default_root_dir=str(self.run_dir), **kwargs)

    def _loggers(self) -> list[Logger]:
        run = self.run_dir
        loggers: list[Logger] = [TensorBoardLogger(save_dir=run.parent.parent, name=run.parent.name, version=run.name)]
        if self.config.wandb:
            loggers.append(
                WandbLogger(
                    project=self.config.wandb_project,
                    name=f"{run.parent.name}/{run.name}",
                    save_dir=str(run),
                    id=_wandb_run_id(run),
                    resume="allow",
                )
            )
        return loggers

    def fit(self) -> None:
        # weights_only: a checkpoint holds tensors and plain data; loading one never runs its code.
        try:
            self.trainer.fit(self.model, datamodule=self.datamodule, ckpt_path=self.resume_from, weights_only=True)
        finally:
            # Lightning leaves the W&B run open until the process exits; close it so its files are
            # complete now and a later fit in the same process starts a new run.
            for logger in self.trainer.loggers:
                if isinstance(logger, WandbLogger):
                    logger.experiment.finish()


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


def resolve_run(root: Path, name: str, ckpt_path: str | None) -> tuple[Path, str | None]:
    """The run folder to write into and the checkpoint to resume from (None: start fresh).

    - no ckpt_path: a new `root/name/version_N` (N one past the highest); under DDP children read the
      folder their launcher chose; on SLURM or torchrun every process derives it from the job id,
      and a requeued job whose folder already holds a checkpoint resumes from the newest one.
    - 'last': the newest of `checkpoints/last.ckpt` and Lightning's `hpc_ckpt_*.ckpt` in the newest
      run folder that has one, continuing in that folder; if there is none, a fresh run (so a job
      script can always pass --ckpt_path last).
    - a path: resume from it; in its own run folder when it lies in one, else in a new folder.
    """
    if os.environ.get(RUN_DIR_ENV):
        run_dir = Path(os.environ[RUN_DIR_ENV])
        return run_dir, _resume_checkpoint(run_dir, ckpt_path)
    base = root / name
    if ckpt_path == "last":
        for run_dir in sorted(_versions(base), key=_version_number, reverse=True):
            newest = _newest_checkpoint(run_dir)
            if newest is not None:
                return run_dir, str(newest)
        print(f"gan-lightning: --ckpt_path last: no checkpoint under {base}; starting a new run.", file=sys.stderr)
        return _new_run_dir(base), None
    if ckpt_path is not None:
        path = Path(ckpt_path)
        if not path.is_file():
            raise FileNotFoundError(f"--ckpt_path {ckpt_path}: no such checkpoint file.")
        if path.parent.name == "checkpoints" and path.parent.parent.parent == base:
            return path.parent.parent, str(path)
        return _new_run_dir(base), str(path)
    run_dir = _new_run_dir(base)
    # A requeued SLURM job (or restarted torchrun) gets its job's folder back: continue from its newest
    # checkpoint rather than let Lightning pick an older hpc_ckpt_*.ckpt there (issue 13773).
    resume_from = _newest_checkpoint(run_dir) if run_dir.is_dir() else None
    if resume_from is not None:
        print(f"gan-lightning: {run_dir} is this job's folder and holds {resume_from.name}; resuming.", file=sys.stderr)
    return run_dir, str(resume_from) if resume_from is not None else None


def _resume_checkpoint(run_dir: Path, ckpt_path: str | None) -> str | None:
    if ckpt_path == "last" or (ckpt_path is None and _job_id()):
        newest = _newest_checkpoint(run_dir)
        return str(newest) if newest is not None else None
    return ckpt_path


def _newest_checkpoint(run_dir: Path) -> Path | None:
    """last.ckpt or an HPC checkpoint, whichever was written last (issue 13773: they must not fight)."""
    candidates = [p for p in [run_dir / "checkpoints" / "last.ckpt", *run_dir.glob("hpc_ckpt_*.ckpt")] if p.is_file()]
    return max(candidates, key=lambda p: p.stat().st_mtime_ns) if candidates else None


def _versions(base: Path) -> list[Path]:
    return [p for p in base.glob("version_*") if p.is_dir()] if base.is_dir() else []


def _version_number(path: Path) -> int:
    match = re.fullmatch(r"version_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def _job_id() -> str | None:
    """The SLURM job id or torchrun run id every process of one job shares, if any."""
    job = os.environ.get("SLURM_JOB_ID") or os.environ.get("TORCHELASTIC_RUN_ID")
    return job if job and job != "none" else None


def _new_run_dir(base: Path) -> Path:
    job = _job_id()
    if job:  # every process of a multi-node job must pick the same folder
        return base / f"version_{job}"
    taken = [_version_number(p) for p in _versions(base)]
    return base / f"version_{max(taken, default=-1) + 1}"


def _wandb_run_id(run_dir: Path) -> str:
    """A W&B run id kept in the run folder, so a resumed run continues the same W&B run."""
    id_file = run_dir / "wandb_id.txt"
    if id_file.is_file():
        return id_file.read_text().strip()
    run_id = uuid.uuid4().hex[:8]  # W&B ids are short lowercase alphanumerics
    run_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(run_id + "\n")
    return run_id


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
    except CheckpointError as error:  # a bad --ckpt_path: the message says it all, no traceback
        sys.exit(f"fit.py: {error}")
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
