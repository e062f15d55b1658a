"""Exact resume: after a checkpoint, the batches (and their flips) continue as if never interrupted."""

import logging

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from gan_lightning.data import DemoDataModule, ResumableDistributedSampler, uint8_to_float


def demo(tmp_path, **kwargs) -> DemoDataModule:
    return DemoDataModule(
        root=str(tmp_path),
        cache_dir=str(tmp_path / "cache"),
        image_size=4,
        num_images=26,
        batch_size=4,
        random_flip=True,
        seed=11,
        **kwargs,
    )


def run_epochs(dm, loader, epochs, first_epoch=0, stop_after=None):
    """Drive the loader as Lightning does: set_epoch at each epoch start, then one transfer per batch.
    With stop_after=(epoch, n), stop after n training batches of that epoch, one batch prefetched."""
    seen = []
    for epoch in range(first_epoch, epochs):
        loader.sampler.set_epoch(epoch)
        iterator = iter(loader)
        for index, batch in enumerate(iterator):
            seen.append(dm.on_after_batch_transfer(batch, 0))
            if stop_after == (epoch, index + 1):
                next(iterator, None)  # Lightning has already fetched the next batch: it must not count
                return seen
    return seen


def prepared(dm):
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_batch_sequence_continues_exactly_after_restore(tmp_path):
    reference_dm = prepared(demo(tmp_path))
    reference = run_epochs(reference_dm, reference_dm.train_dataloader(), epochs=3)
    assert len(reference) == 3 * 6  # floor(26 / 4) full batches per epoch

    first = prepared(demo(tmp_path))
    before = run_epochs(first, first.train_dataloader(), epochs=3, stop_after=(1, 2))
    state = first.state_dict()
    assert state["epoch"] == 1 and state["batches_consumed"] == 2

    resumed = prepared(demo(tmp_path))
    resumed.load_state_dict(state)
    after = run_epochs(resumed, resumed.train_dataloader(), epochs=3, first_epoch=1)
    continued = before + after
    assert len(continued) == len(reference)
    for got, expected in zip(continued, reference, strict=True):
        assert torch.equal(got, expected)


def test_restore_from_the_end_of_an_epoch_starts_the_next_one(tmp_path):
    reference_dm = prepared(demo(tmp_path))
    reference = run_epochs(reference_dm, reference_dm.train_dataloader(), epochs=3)
    first = prepared(demo(tmp_path))
    run_epochs(first, first.train_dataloader(), epochs=2)
    resumed = prepared(demo(tmp_path))
    resumed.load_state_dict(first.state_dict())  # epoch 1, all 6 batches consumed
    loader = resumed.train_dataloader()
    assert loader.sampler.epoch == 2
    after = [resumed.on_after_batch_transfer(batch, 0) for batch in loader]
    assert all(torch.equal(a, b) for a, b in zip(after, reference[12:], strict=True))


class BatchRecorder(pl.LightningModule):
    """Trains a scalar on the real batches and records every batch its training_step receives (two loader
    batches per step, like WGAN-GP with n_critic 2: the datamodule is given batches_per_step=2)."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.seen: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(batch.detach().clone())
        optimizer = self.optimizers()
        optimizer.zero_grad()
        self.manual_backward((self.weight * batch.mean()) ** 2)
        optimizer.step()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def trainer(tmp_path, **kwargs) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=3,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        **kwargs,
    )


@pytest.mark.filterwarnings("ignore:.*(manual optimization|callbacks used to create|exists and is not empty)")
@pytest.mark.parametrize(
    "drop_last, steps_per_epoch, last_shape, message",
    [
        # 26 images, 2 x 4 per step -> 3 steps per epoch (2 images left over)
        (True, 3, (8, 3, 4, 4), "each epoch uses 24 of 26 images (3 batches of 8 per rank"),
        # ... and a 4th step on the 2 left: one image for each of its 2 minibatches
        (False, 4, (2, 3, 4, 4), "each epoch uses 26 of 26 images (3 batches of 8 and one of 2 per rank"),
    ],
)
def test_lightning_resume_from_mid_epoch_checkpoint_continues_the_sequence(
    tmp_path, caplog, drop_last, steps_per_epoch, last_shape, message
):
    model = BatchRecorder()
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpt", filename="{step}", every_n_train_steps=1, save_top_k=-1)
    with caplog.at_level(logging.INFO):
        trainer(tmp_path, callbacks=[checkpoints]).fit(
            model, datamodule=demo(tmp_path, batches_per_step=2, drop_last=drop_last)
        )
    reference = model.seen
    assert len(reference) == 3 * steps_per_epoch and reference[0].shape == (8, 3, 4, 4)
    assert reference[steps_per_epoch - 1].shape == last_shape
    assert reference[0].dtype == torch.float32 and reference[0].min() >= -1 and reference[0].max() <= 1
    assert sum(message in r.getMessage() for r in caplog.records) == 1

    # mid-epoch (epoch 1, after its first step), just before an epoch's last step, and at an epoch's end
    for step in (steps_per_epoch + 1, steps_per_epoch - 1, steps_per_epoch):
        resumed_model = BatchRecorder()
        resumed_trainer = trainer(tmp_path)
        resumed_trainer.fit(
            resumed_model,
            datamodule=demo(tmp_path, batches_per_step=2, drop_last=drop_last),
            ckpt_path=tmp_path / "ckpt" / f"step={step}.ckpt",
        )
        assert len(resumed_model.seen) == 3 * steps_per_epoch - step
        for got, expected in zip(resumed_model.seen, reference[step:], strict=True):
            assert torch.equal(got, expected)


def test_worker_processes_deliver_the_same_batches(tmp_path):
    single = prepared(demo(tmp_path))
    workers = prepared(demo(tmp_path, num_workers=2))
    expected = run_epochs(single, single.train_dataloader(), epochs=2)
    got = run_epochs(workers, workers.train_dataloader(), epochs=2)
    assert len(got) == len(expected) == 12
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


def test_resume_with_another_batch_size_continues_at_the_same_point_with_a_warning(tmp_path):
    reference_dm = prepared(demo(tmp_path))
    first = prepared(demo(tmp_path))
    run_epochs(first, first.train_dataloader(), epochs=1, stop_after=(0, 2))  # 2 batches of 4 = 8 images
    resumed = DemoDataModule(
        root=str(tmp_path),
        cache_dir=str(tmp_path / "cache"),
        image_size=4,
        num_images=26,
        batch_size=2,
        random_flip=False,
        seed=11,
    )
    resumed.setup()
    resumed.load_state_dict(first.state_dict())
    with pytest.warns(UserWarning, match="same fraction"):
        loader = resumed.train_dataloader()
    first_batch = resumed.on_after_batch_transfer(next(iter(loader)), 0)
    unflipped = uint8_to_float(reference_dm.images()[list(ResumableDistributedSampler(range(26), 4, seed=11))[8:10]])
    assert torch.equal(first_batch, unflipped)  # images 9 and 10 of the epoch's order
