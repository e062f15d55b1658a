"""How fast a datamodule feeds a training device: images per second through the whole data path."""

from __future__ import annotations

import itertools
import time

import torch

from gan_lightning.data import ImageDataModule


def loader_images_per_second(
    datamodule: ImageDataModule, device: str | torch.device = "cpu", batches: int = 50, warmup: int = 3
) -> float:
    """Iterate the train loader (cycling over epochs), move each uint8 batch to `device` and run
    on_after_batch_transfer on it, as a training step would receive it. prepare_data() and setup()
    are called first; their one-off decoding is not timed."""
    datamodule.prepare_data()
    datamodule.setup("fit")
    device = torch.device(device)
    loader = datamodule.train_dataloader()

    def batches_forever():
        for epoch in itertools.count():
            loader.sampler.set_epoch(epoch)
            yield from loader

    stream = batches_forever()
    for batch in itertools.islice(stream, warmup):
        datamodule.on_after_batch_transfer(batch.to(device, non_blocking=True), 0)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    images, start = 0, time.perf_counter()
    for batch in itertools.islice(stream, batches):
        out = datamodule.on_after_batch_transfer(batch.to(device, non_blocking=True), 0)
        images += out.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return images / (time.perf_counter() - start)
