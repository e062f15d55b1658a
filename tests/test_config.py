"""gan_lightning.config.build_from_config: the model and datamodule of a shipped config, as fit.py builds them."""

import pytest
import yaml

from gan_lightning.config import build_from_config
from tests.conftest import REPO

CONFIGS = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("name", CONFIGS)
def test_every_shipped_config_builds_with_the_geometry_linked_from_data_to_model(name):
    path = REPO / "configs" / f"{name}.yaml"
    shipped = yaml.safe_load(path.read_text())
    model, datamodule, config = build_from_config(path, "--data.image_size", "16")
    assert type(model).__name__ == shipped["model"]["class_path"].split(".")[-1]
    assert type(datamodule).__name__ == shipped["data"]["class_path"].split(".")[-1]
    assert model.hparams.image_size == datamodule.image_size == 16  # the override reached both through the link
    assert model.hparams.channels == datamodule.channels == shipped["data"]["init_args"]["channels"]
    assert model.generator(model.fixed_noise[:2]).shape == (2, datamodule.channels, 16, 16)
    assert config.model.init_args.image_size == 16


def test_a_bad_value_exits_with_the_parsers_message_as_fit_does(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_from_config(REPO / "configs" / "mnist.yaml", "--model.init_args.lr", "not-a-number")
    assert exit_info.value.code == 2
    assert "lr" in capsys.readouterr().err
