import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader


def image_loader(n_images: int, batch_size: int, image_size: int = 16, channels: int = 3) -> DataLoader:
    """Float images in [-1, 1] served n_critic*B at a time, as the datamodules do after transfer."""
    images = torch.rand(n_images, channels, image_size, image_size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    return DataLoader(images, batch_size=batch_size, shuffle=False, drop_last=True)


def cpu_trainer(**kwargs) -> pl.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    return pl.Trainer(**(defaults | kwargs))


@pytest.fixture
def small_nets() -> dict:
    """Options for nets small enough to train in milliseconds at 16x16."""
    return dict(
        image_size=16, channels=3, latent_dim=8, generator_options={"width": 8}, discriminator_options={"width": 8}
    )
