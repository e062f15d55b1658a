"""The parity check's parts: the fit.py command it runs, the original loops it compares against,
and the FID/KID it scores them with. The full check takes hours; these take seconds."""

import inspect
import os
import subprocess
import sys

import torch
import yaml

from gan_lightning.benchmarks import parity
from gan_lightning.benchmarks import reference_loops as originals
from tests.data.builders import SHARED_DATA, needs_shared

# Subprocesses import gan_lightning from this checkout.
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(parity.REPO), os.environ.get("PYTHONPATH", "")]))


def resolved_ablation_config(tmp_path, variant: str, seed: int, budget: int) -> dict:
    """The config fit.py resolves for the Pokemon ablation's `variant` (its --print_config)."""
    unit = parity.Unit(
        recipe="pokemon",
        side="config",
        variant=variant,
        seed=seed,
        budget=budget,
        data_root=str(tmp_path / "data"),
        out=str(tmp_path / "out"),
        overrides=parity.ABLATION_CONFIG[variant],
    )
    command = parity.fit_command(unit, tmp_path / "data")
    printed = subprocess.run([*command, "--print_config"], capture_output=True, text=True, timeout=120, env=ENV)
    assert printed.returncode == 0, printed.stderr[-3000:]
    return yaml.safe_load(printed.stdout)


def test_fit_command_is_the_shipped_config_with_only_budget_seed_and_folders_changed(tmp_path):
    resolved = resolved_ablation_config(tmp_path, "config+init_dcgan", seed=3, budget=2)
    shipped = yaml.safe_load((parity.CONFIGS / "pokemon.yaml").read_text())
    model = resolved["model"]["init_args"]
    # the ablation variant swaps the init and keeps every other net option of the config
    assert model["generator_options"] == {**shipped["model"]["init_args"]["generator_options"], "init": "dcgan"}
    assert model["discriminator_options"] == {
        **shipped["model"]["init_args"]["discriminator_options"],
        "init": "dcgan",
    }
    for key in ("lr", "betas", "latent_dim", "sample_batch_norm"):
        if key in shipped["model"]["init_args"]:
            assert model[key] == shipped["model"]["init_args"][key], key
    assert resolved["seed_everything"] == 3
    assert resolved["trainer"]["max_epochs"] == 2
    assert resolved["data"]["init_args"]["batch_size"] == shipped["data"]["init_args"]["batch_size"]
    assert resolved["fid"]["enabled"] is False


def test_ablation_variant_can_set_a_data_option(tmp_path):
    data = resolved_ablation_config(tmp_path, "config+drop_last", seed=0, budget=1)["data"]["init_args"]
    shipped = yaml.safe_load((parity.CONFIGS / "pokemon.yaml").read_text())["data"]["init_args"]
    assert shipped["drop_last"] is False and data["drop_last"] is True
    assert {k: v for k, v in data.items() if k in shipped and k != "drop_last"} == {
        k: v for k, v in shipped.items() if k not in ("drop_last", "root")
    } | {"root": str(tmp_path / "data")}


# Whether each recipe's original trains on an epoch's last partial batch: d2l's and PyTorch-GAN's
# and the PyTorch tutorial's DataLoader(shuffle=True) keep it; the @IT workshop's loader sets
# drop_last=True; the MathWorks example's minibatchqueue discards partial minibatches.
ORIGINAL_KEEPS_PARTIAL_BATCH = {
    "pokemon": True,
    "pokemon_diffaug": True,
    "fashion_mnist": True,
    "mnist": True,
    "celeba": True,
    "cifar10": False,
    "flowers": False,
}


def test_each_recipe_config_keeps_or_drops_the_last_partial_batch_as_its_original():
    for recipe, keeps in ORIGINAL_KEEPS_PARTIAL_BATCH.items():
        data = yaml.safe_load((parity.CONFIGS / f"{recipe}.yaml").read_text())["data"]["init_args"]
        assert data.get("drop_last", True) is (not keeps), recipe


def decoded(recipe: str, count: int) -> torch.Tensor:
    return parity.recipe_images(recipe, SHARED_DATA)[:count]


# The config option each hyperparameter of an original's loop lives in (model or data init_args).
LOOP_SETTING_IN_CONFIG = {
    "lr": "model",
    "lr_d": "model",
    "lr_g": "model",
    "latent_dim": "model",
    "batch_size": "data",
}


def test_each_recipe_config_trains_with_its_originals_learning_rate_batch_and_latent_size():
    """The settings each original's loop runs with by default (as its source prints them) are the
    config's: a config that silently trains at another rate or batch size is not the recipe."""
    checked = set()
    for name, recipe in parity.RECIPES.items():
        if recipe.train_original is None:
            continue
        config = yaml.safe_load((parity.CONFIGS / f"{name}.yaml").read_text())
        defaults = inspect.signature(recipe.train_original).parameters
        for setting, section in LOOP_SETTING_IN_CONFIG.items():
            if setting in defaults:
                shipped = config[section]["init_args"][setting]
                assert shipped == defaults[setting].default, f"{name}: {setting} {shipped} vs the original's"
                checked.add(name)
    assert checked == {name for name, recipe in parity.RECIPES.items() if recipe.train_original is not None}


@needs_shared("pokemon.zip")
def test_d2l_loop_keeps_the_last_partial_batch_and_samples_in_train_mode():
    images = decoded("pokemon", 40)
    run = originals.d2l_train(images, 1, 0, batch_size=16, snapshot_epochs=(1,))
    assert run.steps == 3  # 16 + 16 + 8: DataLoader's default keeps the partial batch
    assert len(run.loss_d) == len(run.loss_g) == 1 and all(map(torch.isfinite, torch.tensor(run.loss_d + run.loss_g)))
    assert run.sample_batch_norm == "batch" and run.latent_as_map
    dropped = originals.d2l_train(images, 1, 0, batch_size=16, deviations=originals.D2LDeviations(drop_last=True))
    assert dropped.steps == 2
    assert set(run.snapshots) == {1}


@needs_shared("MNIST/raw")
def test_pytorch_gan_loop_keeps_the_partial_batch():
    run = originals.pytorch_gan_dcgan_train(decoded("mnist", 40), 1, 0, batch_size=16)
    assert run.steps == 3 and run.generate(torch.randn(2, 100)).shape == (2, 1, 32, 32)


@needs_shared("flower_photos.tgz")
def test_matlab_loop_discards_partial_minibatches_and_groups_losses_by_epoch():
    images = decoded("flowers", 20)
    run = originals.matlab_wgan_gp_train(images, 2, 0, steps_per_epoch=2, batch_size=4, n_critic=2, max_steps=3)
    assert run.steps == 3 and len(run.loss_d) == 2  # epochs of 2 generator steps: 2 + 1
    assert run.generate(torch.randn(2, 100)).shape == (2, 3, 64, 64)
    # the first pass in the datastore's order, full minibatches only, then reshuffled
    batches = originals.matlab_minibatches(images, 8, torch.Generator().manual_seed(0))
    first = [next(batches) for _ in range(2)]
    expected = originals.uint8_to_float(images[:16]).split(8)
    for got, want in zip(first, expected):
        assert all(torch.equal(g, w) or torch.equal(g, w.flip(-1)) for g, w in zip(got, want))
    # 20 images: 4 left over, discarded; the next pass starts in a new order
    third = next(batches)
    assert third.shape[0] == 8
    assert not all(torch.equal(g, w) or torch.equal(g, w.flip(-1)) for g, w in zip(third, expected[0]))


@needs_shared("pokemon.zip")
def test_fid_and_kid_tell_real_sprites_from_other_real_sprites_and_from_noise(tmp_path, converted_weights):
    images = decoded("pokemon", 4895)
    features = parity.Features(tmp_path, converted_weights[0])
    picks = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:32]
    a, b = features(images[picks[:16]]), features(images[picks[16:]])
    noise = features(torch.rand(16, 3, 64, 64) * 2 - 1)
    fid_real, kid_real = parity.fid_kid(a, b)
    fid_noise, kid_noise = parity.fid_kid(a, noise)
    assert fid_noise > 2 * fid_real and kid_noise > 10 * abs(kid_real)
    assert abs(parity.fid_kid(a, a)[0]) < 1e-3  # FID of a set with itself


def test_parity_verdict_allows_the_spread_between_seeds():
    def rows(*fids):
        return [{"metrics": {"own_mode": "batch", "batch": {"fid": f, "kid": f / 1000}}} for f in fids]

    assert parity.verdict(rows(100, 110), rows(100, 104))["parity"]  # 105 <= 102 + 10
    assert not parity.verdict(rows(130, 132), rows(100, 104))["parity"]  # 131 > 102 + 4
    assert parity.verdict(rows(90, 92), rows(100, 101))["parity"]


def test_parity_script_refuses_a_single_seed(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(parity.REPO / "scripts" / "parity.py"),
            "--data_root",
            str(tmp_path),
            "--out",
            str(tmp_path),
            "--seeds",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert run.returncode == 2 and "2 or more seeds" in run.stderr


def test_parity_script_without_fid_weights_says_how_to_make_them_before_training_anything(tmp_path):
    no_weights = {"GAN_LIGHTNING_CACHE": str(tmp_path / "cache"), "TORCH_HOME": str(tmp_path / "torch")}
    env = {k: v for k, v in ENV.items() if k != "GAN_LIGHTNING_FID_WEIGHTS"} | no_weights
    out = tmp_path / "out"
    command = [sys.executable, str(parity.REPO / "scripts" / "parity.py"), "--recipes", "fashion_mnist"]
    run = subprocess.run(
        [*command, "--data_root", str(tmp_path), "--out", str(out), "--seeds", "0", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 2, run.stderr[-3000:]
    assert "scripts/convert_fid_weights.py" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()  # refused before any run started


def test_epoch_losses_read_the_logged_epochs_and_add_the_epoch_a_steps_budget_ended_inside(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    for epoch, (d, g) in enumerate([(0.5, 2.0), (0.75, 1.5)]):
        writer.add_scalar("epoch/loss_d", d, epoch)
        writer.add_scalar("epoch/loss_g", g, epoch)
    writer.close()
    ended_inside = {"gan_lightning": {"epoch_loss_sums": torch.tensor([1.5, 3.0]), "epoch_steps": 3}}
    assert parity.epoch_losses(tmp_path, ended_inside) == ([0.5, 0.75, 0.5], [2.0, 1.5, 1.0])
    at_epoch_end = {"gan_lightning": {"epoch_loss_sums": torch.zeros(2), "epoch_steps": 0}}
    assert parity.epoch_losses(tmp_path, at_epoch_end) == ([0.5, 0.75], [2.0, 1.5])
    # a budget shorter than one epoch (the flowers recipe's 10 steps): only step scalars were logged
    with SummaryWriter(str(tmp_path / "short")) as short:
        short.add_scalar("train/loss_d", 9.0, 0)
    assert parity.epoch_losses(tmp_path / "short", ended_inside) == ([0.5], [1.0])


def test_critic_check_measures_the_config_critic_and_the_examples_sigmoid_shrinks_its_gradients():
    from gan_lightning.nets import build_discriminator

    images = torch.randint(0, 256, (64, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    rows = parity.critic_penalty_at_init(images, [0, 1], batch_size=16)
    assert [(r["seed"], "without" in r["critic"]) for r in rows] == [(0, False), (0, True), (1, False), (1, True)]
    for with_sigmoid, without in (rows[0:2], rows[2:4]):
        # Per sample |grad sigmoid(f)| = sigmoid'(f) |grad f| <= |grad f| / 4.
        assert 0 < with_sigmoid["grad_norm"] <= without["grad_norm"] / 4
        assert abs(with_sigmoid["wasserstein"]) < 1  # a difference of probabilities
    # "Without sigmoid" is the critic configs/flowers.yaml trains: the same layers, parameter for parameter.
    options = parity.config_yaml("flowers")["model"]["init_args"]
    critic = build_discriminator(options["discriminator"], 64, 3, **options["discriminator_options"])
    _, example = originals.matlab_wgan_gp_nets(3)
    assert [p.shape for p in critic.parameters()] == [p.shape for p in example[:-1].parameters()]
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in critic.modules())
    assert isinstance(example[-1], torch.nn.Sigmoid)
