"""A run's line in the dashboards' comparison views: TensorBoard HPARAMS, Custom Scalars, W&B summary.

- HPARAMS: the run's hyperparameters (`model.*`, `data.*`, as the config names them) with its best
  and final FID and KID as metrics, so the runs of a sweep compare in one table. Lightning's
  placeholder metric `hp_metric = -1` is switched off: TensorBoard keeps the first hparams record of
  a run, and it would hide these.
- Custom Scalars: D(x) with D(G(z)) before and after the D update on one chart, loss_d with loss_g
  on another, as the PyTorch DCGAN tutorial plots them.
- W&B: the same best and final values in the run summary.

Best and final values are read back from the run's event files at the end of training, so a resumed
run's best includes evaluations from before the resume and any callback's `val/fid` or `val/kid` counts.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from torch.utils.tensorboard.summary import hparams

from gan_lightning.runs import run_dir_of
from gan_lightning.visuals.events import read_scalars

EVALUATION_TAGS = ("val/fid", "val/kid")
CUSTOM_SCALARS_LAYOUT = {
    "GAN": {
        "D(x) and D(G(z)) before / after the D update": [
            "Multiline",
            [r"^train/D_x$", r"^train/D_G_z1$", r"^train/D_G_z2$"],
        ],
        "loss_d and loss_g": ["Multiline", [r"^train/loss_d$", r"^train/loss_g$"]],
    }
}


def summary_names(tag: str) -> tuple[str, str, str]:
    """The summary metrics of an evaluation tag: its best value, the step of that, and its final value."""
    return f"{tag}_best", f"{tag}_best_step", f"{tag}_final"


def summary_metrics(scalars: dict) -> dict[str, float]:
    """Best (lowest) and final value of each evaluation tag the run logged, with the best one's step."""
    values: dict[str, float] = {}
    for tag in EVALUATION_TAGS:
        series = scalars.get(tag)
        if series is None or series.lowest() is None:
            continue
        best_name, best_step_name, final_name = summary_names(tag)
        (best_step, best), (_, final) = series.lowest(), series.final()
        values |= {best_name: best, best_step_name: float(best_step), final_name: final}
    return values


def flat_hparams(pl_module: pl.LightningModule, datamodule: pl.LightningDataModule | None) -> dict[str, object]:
    """The run's hyperparameters as TensorBoard takes them: `model.lr`, `data.batch_size`, ... (str, number, bool)."""
    flat: dict[str, object] = {"model": type(pl_module).__name__}
    sources = [("model", pl_module.hparams_initial)]
    if datamodule is not None:
        sources.append(("data", datamodule.hparams_initial))
    for prefix, params in sources:
        for key, value in _flatten(dict(params), prefix).items():
            flat[key] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return flat


def _flatten(params: dict, prefix: str) -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in params.items():
        if str(key).startswith("_"):  # LightningCLI's own bookkeeping (_instantiator, _class_path)
            continue
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}.{key}")
        else:
            flat[f"{prefix}.{key}"] = value
    return flat


class RunSummary(pl.Callback):
    """HPARAMS entry and Custom Scalars layout in TensorBoard; best and final metrics in both dashboards."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not self.enabled:
            return
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                # Lightning logs hparams after on_fit_start with a placeholder metric unless this is off
                # (TensorBoardLogger(default_hp_metric=False) does the same where the logger is made).
                logger._default_hp_metric = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Rank 0 only; safe under DDP: it writes to this process's own event file and talks to no rank.
        if not (self.enabled and trainer.is_global_zero):
            return
        metric_names = {name: 0.0 for tag in EVALUATION_TAGS for name in summary_names(tag)}
        experiment, session_start, _ = hparams(flat_hparams(pl_module, trainer.datamodule), metric_names)
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                writer = logger.experiment
                writer.add_custom_scalars(CUSTOM_SCALARS_LAYOUT)
                # As TensorBoardLogger.log_hyperparams writes them: into the run's own event file, not
                # SummaryWriter.add_hparams's subfolder, so the metrics come from this run's scalars.
                file_writer = writer._get_file_writer()
                file_writer.add_summary(experiment)
                file_writer.add_summary(session_start)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Rank 0 only; safe under DDP: flushing and reading local files, writing to its own loggers'
        # files and W&B's local run: no collective (run_dir_of is not one, unlike trainer.log_dir).
        if not (self.enabled and trainer.is_global_zero):
            return
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.flush()  # the FID of the last step must be in the files read next
        run_dir = run_dir_of(trainer)
        values = summary_metrics(read_scalars(run_dir)) if run_dir is not None else {}
        _, _, session_end = hparams({}, {})
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                if values:
                    logger.log_metrics(values, step=trainer.global_step)
                logger.experiment._get_file_writer().add_summary(session_end)
                logger.experiment.flush()
            elif isinstance(logger, WandbLogger) and values:
                logger.experiment.summary.update(values)
