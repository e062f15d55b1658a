"""Fixed-noise sample grids: the same latent vectors rendered as training goes on.

Each grid goes to every logger that takes images (TensorBoard, W&B) under `samples/fixed_noise`
and to `<run>/samples/step_XXXXXXXX.png`, so a user can also make an animation of training.
"""

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger

from gan_lightning.images import make_grid, save_png
from gan_lightning.loops import epoch_finished
from gan_lightning.runs import run_dir_of

TAG = "samples/fixed_noise"


class FixedNoiseGrid(pl.Callback):
    """Render the module's fixed noise every `every_n_steps` generator steps and/or `every_n_epochs`.

    A grid is also drawn before training starts (step 0) and after the first generator step, as the
    MATLAB WGAN-GP example does. Only rank 0 draws and writes.
    """

    def __init__(
        self,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = 1,
        nrow: int = 8,
        save_png: bool = True,
    ) -> None:
        for name, value in (("every_n_steps", every_n_steps), ("every_n_epochs", every_n_epochs)):
            if value is not None and value < 1:
                raise ValueError(f"FixedNoiseGrid: {name} must be a positive integer or null, got {value}")
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.nrow = nrow
        self.save_png = save_png

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step == 0:
            self.log_grid(trainer, pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        step = trainer.global_step
        if step == 1 or (self.every_n_steps and step % self.every_n_steps == 0):
            self.log_grid(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not epoch_finished(trainer):  # max_steps stopped the run mid-epoch: this epoch has not ended
            return
        if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            if not (self.every_n_steps and trainer.global_step % self.every_n_steps == 0):
                self.log_grid(trainer, pl_module)

    def log_grid(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Draw the fixed noise now and send it everywhere (rank 0 only).

        Only rank 0 runs the rest, so nothing in it may be a collective: the run folder comes from
        run_dir_of (Lightning's trainer.log_dir is a broadcast), and sample() is one local forward pass.
        """
        if not trainer.is_global_zero:
            return
        grid = make_grid(pl_module.sample(), nrow=self.nrow)
        step = trainer.global_step
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(TAG, grid, global_step=step)
            elif isinstance(logger, WandbLogger):
                logger.log_image(key=TAG, images=[grid.permute(1, 2, 0).numpy()], step=step)
        run_dir = run_dir_of(trainer)
        if self.save_png and run_dir is not None:
            save_png(grid, run_dir / "samples" / f"step_{step:08d}.png")
