"""Under DDP, Lightning keeps the datamodule's sampler: each rank gets its own equal share of full batches."""

import pytest
import pytorch_lightning as pl
import torch

from gan_lightning.data import DemoDataModule, ResumableDistributedSampler


class ShardRecorder(pl.LightningModule):
    """Saves the indices of the images each rank trains on (found by matching pixels) to a file."""

    def __init__(self, out_dir: str) -> None:
        super().__init__()
        self.out_dir = out_dir
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.seen: list[torch.Tensor] = []

    def on_train_start(self) -> None:
        loader = self.trainer.train_dataloader
        assert isinstance(loader.sampler, ResumableDistributedSampler), type(loader.sampler)

    def training_step(self, batch, batch_idx):
        self.seen.append(batch)
        return (self.weight * batch.mean()) ** 2

    def on_train_end(self) -> None:
        torch.save(torch.cat(self.seen), f"{self.out_dir}/rank{self.global_rank}.pt")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_two_ranks_train_on_disjoint_equal_shards(tmp_path):
    cache = str(tmp_path / "cache")
    dm = DemoDataModule(root=str(tmp_path), cache_dir=cache, image_size=8, num_images=30, batch_size=4)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp_fork",
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(ShardRecorder(str(tmp_path)), datamodule=dm)
    dm.setup()
    reference = dm.images().flatten(1)
    assert len(set(map(tuple, reference.tolist()))) == 30  # all images distinct, so matches are unique
    shards = []
    for rank in range(2):
        seen = torch.load(tmp_path / f"rank{rank}.pt").add(1).mul(127.5).round().to(torch.uint8).flatten(1)
        assert seen.shape[0] == 12  # floor(30 / (2 ranks x 4)) = 3 full batches of 4 per rank
        equal = (seen[:, None] == reference[None]).all(dim=2)  # (seen, dataset) exact pixel matches
        assert (equal.sum(dim=1) == 1).all()  # every image trained on is one dataset image
        shards.append(set(equal.float().argmax(dim=1).tolist()))
    assert len(shards[0]) == len(shards[1]) == 12 and not shards[0] & shards[1]
