"""Every config in configs/ runs through the real CLI: on tiny data in each dataset's real on-disk
format, and on the real files in ../shared/data when they are there."""

import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gan_lightning.cli import main
from tests.data.builders import (
    SHARED_DATA,
    jpeg_bytes,
    make_tgz,
    make_zip,
    needs_shared,
    pokemon_files,
    write_files,
    write_idx_gz,
)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _photos(count: int, size: int = 40) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    return {
        f"class{i % 3}/img{i:03d}.jpg": jpeg_bytes(
            Image.fromarray(rng.integers(0, 256, (size, size + 8, 3), dtype=np.uint8))
        )
        for i in range(count)
    }


# Configs that train on another config's dataset.
DATASET_OF = {"pokemon_diffaug": "pokemon", "flowers_diffaug": "flowers", "cifar10_sngan": "cifar10"}


def build_tiny_root(config: str, root: Path, count: int = 24) -> None:
    """What each config's datamodule expects under --data.root, in the real format, `count` images (CIFAR-10:
    five batch files of count / 5 images each, rounded up)."""
    rng = np.random.default_rng(1)
    config = DATASET_OF.get(config, config)
    if config == "pokemon":
        make_zip(root / "pokemon.zip", pokemon_files(count))
    elif config == "flowers":
        make_tgz(root / "flower_photos.tgz", {f"flower_photos/{k}": v for k, v in _photos(count).items()})
    elif config == "cifar10":
        from tests.data.builders import cifar_batch_bytes

        batches = {
            f"cifar-10-batches-py/data_batch_{i}": cifar_batch_bytes(
                rng.integers(0, 256, (-(-count // 5), 3, 32, 32), dtype=np.uint8)
            )
            for i in range(1, 6)
        }
        write_files(root, batches)
    elif config in ("mnist", "fashion_mnist"):
        folder = "MNIST" if config == "mnist" else "FashionMNIST"
        write_idx_gz(
            root / folder / "raw" / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        )
    elif config == "celeba":
        write_files(
            root / "celeba" / "img_align_celeba",
            {f"{i + 1:06d}.jpg": v for i, v in enumerate(_photos(count, 64).values())},
        )
    elif config == "folder":
        write_files(root, _photos(count))


def fit_config(tmp_path: Path, config: str, root: Path, *extra: str) -> Path:
    main(
        [
            "--config",
            str(CONFIGS / f"{config}.yaml"),
            "--data.root",
            str(root),
            "--data.cache_dir",
            str(tmp_path / "cache"),
            "--data.download",
            "false",
            "--trainer.default_root_dir",
            str(tmp_path / "runs"),
            "--trainer.max_steps",
            "2",
            "--trainer.log_every_n_steps",
            "1",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.accelerator",
            "cpu",
            "--fid.enabled",
            "false",
            *extra,
        ]
    )
    (run,) = (tmp_path / "runs").glob("*/version_*")
    return run


def assert_recipe_ran(run: Path, config: str) -> None:
    recipe = yaml.safe_load((CONFIGS / f"{config}.yaml").read_text())
    saved = yaml.safe_load((run / "config.yaml").read_text())
    nets = ("generator", "discriminator", "generator_options", "discriminator_options")
    for key in (*nets, "lr", "n_critic", "loss", "augment"):
        if key in recipe["model"]["init_args"]:
            assert saved["model"]["init_args"][key] == recipe["model"]["init_args"][key], key
    assert saved["model"]["class_path"] == recipe["model"]["class_path"]
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    # image size and channels are set once, on the data, and linked to the model
    assert checkpoint["hyper_parameters"]["image_size"] == saved["data"]["init_args"]["image_size"]
    assert checkpoint["hyper_parameters"]["channels"] == saved["data"]["init_args"]["channels"]
    assert checkpoint["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())


TINY = [
    "pokemon",
    "pokemon_diffaug",
    "flowers",
    "flowers_diffaug",
    "cifar10",
    "cifar10_sngan",
    "mnist",
    "fashion_mnist",
    "celeba",
    "folder",
    "demo",
]


def test_every_config_has_tiny_data_in_its_real_format():
    """build_tiny_root knows every shipped config; tests/test_shipped_configs.py runs each on that data."""
    assert sorted(TINY) == sorted(p.stem for p in CONFIGS.glob("*.yaml"))


def test_sngan_recipe_runs_on_a_folder_of_images(tmp_path):
    root = tmp_path / "root"
    write_files(root, _photos(24))
    folder = ["--data", "gan_lightning.data.FolderDataModule", "--data.image_size", "32", "--data.batch_size", "4"]
    run = fit_config(tmp_path, "cifar10_sngan", root, *folder)
    assert_recipe_ran(run, "cifar10_sngan")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["class_path"] == "gan_lightning.data.FolderDataModule"


def test_one_line_switch_to_the_other_model_family(tmp_path):
    root = tmp_path / "root"
    write_files(root, _photos(24))
    run = fit_config(tmp_path, "folder", root, "--data.batch_size", "4", "--model", "gan_lightning.gans.WGANGPModule")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"]["class_path"] == "gan_lightning.gans.WGANGPModule"
    assert saved["model"]["init_args"]["n_critic"] == 5
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2


def test_unknown_config_key_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--config", str(CONFIGS / "demo.yaml"), "--model.init_args.learning_rate", "1e-3"])
    assert "learning_rate" in capsys.readouterr().err


SHARED = {
    "pokemon": ("pokemon.zip",),
    "flowers": ("flower_photos.tgz",),
    "mnist": ("MNIST/raw",),
    "fashion_mnist": ("FashionMNIST/raw",),
}


@pytest.mark.parametrize("config", sorted(SHARED))
def test_recipe_runs_on_the_real_shared_files(tmp_path_factory, tmp_path, config):
    needs = needs_shared(*SHARED[config])
    if needs.args[0]:
        pytest.skip(needs.kwargs["reason"])
    # The recipe's nets on the real files; a smaller batch keeps two generator steps quick on a CPU.
    shared_cache = str(tmp_path_factory.getbasetemp() / "shared-cache")
    run = fit_config(tmp_path, config, SHARED_DATA, "--data.cache_dir", shared_cache, "--data.batch_size", "4")
    assert_recipe_ran(run, config)


@needs_shared("cifar10-jpeg-train.tar.gz")
def test_cifar10_nets_through_the_folder_module_on_the_cifar_jpegs(tmp_path):
    root = tmp_path / "cifar-jpegs"
    with tarfile.open(SHARED_DATA / "cifar10-jpeg-train.tar.gz") as archive:
        members = [m for m in archive if m.name.startswith("cifar10-jpeg/train/airplane/")][:640]
        archive.extractall(root, members=members, filter="data")
    run = fit_config(
        tmp_path,
        "cifar10",
        root / "cifar10-jpeg" / "train",
        "--data",
        "gan_lightning.data.FolderDataModule",
        "--data.image_size",
        "32",
        "--data.batch_size",
        "16",
    )
    assert_recipe_ran(run, "cifar10")


def flat_settings(config: str) -> dict[str, object]:
    """A config's YAML as {"model.init_args.lr": 0.005, ...}."""

    def walk(node: dict, prefix: str) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(walk(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return out

    return walk(yaml.safe_load((CONFIGS / f"{config}.yaml").read_text()), "")


# What each variant config adds to the recipe it says it extends; everything else must stay the recipe's, or
# comparing the two runs no longer measures the addition alone.
VARIANT_CHANGES = {
    "pokemon_diffaug": ("pokemon", {"model.init_args.augment"}),
    "flowers_diffaug": ("flowers", {"model.init_args.augment"}),
}


@pytest.mark.parametrize("variant", sorted(VARIANT_CHANGES))
def test_a_variant_config_differs_from_its_recipe_only_in_what_it_adds(variant):
    base, added = VARIANT_CHANGES[variant]
    mine, theirs = flat_settings(variant), flat_settings(base)
    differing = {key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key)}
    assert differing == added, {key: (theirs.get(key), mine.get(key)) for key in differing}
