"""The shared base: argument checks and the errors every dataset shares."""

import pytest

from gan_lightning.data import DemoDataModule, ImageDataModule, PokemonDataModule


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"image_size": 0}, "image_size"),
        ({"channels": 2}, "channels"),
        ({"batch_size": 0}, "batch_size"),
        ({"num_workers": -1}, "num_workers"),
    ],
)
def test_bad_arguments_are_rejected_with_their_name(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DemoDataModule(**kwargs)


def test_attributes_and_subclass_defaults():
    dm = PokemonDataModule(batch_size=256)
    assert (dm.image_size, dm.channels, dm.batch_size, dm.random_flip, dm.name) == (64, 3, 256, False, "pokemon")
    assert isinstance(dm, ImageDataModule)
    assert dm.hparams["batch_size"] == 256  # saved into checkpoints


def test_dataset_smaller_than_one_batch_is_a_clear_error(tmp_path):
    dm = DemoDataModule(root=str(tmp_path), cache_dir=str(tmp_path / "cache"), image_size=4, num_images=5, batch_size=8)
    with pytest.raises(ValueError, match="5 images, fewer than one batch of 8"):
        dm.train_dataloader()
