"""Learning parity: does each recipe config, run as a user runs it, learn at least as well as its original?

    python scripts/parity.py --data_root ../shared/data --out ../parity_runs --jobs 2 \
        --markdown parity.md --json parity.json

For each recipe, and each seed: the config through `scripts/fit.py` (a real subprocess, with only the
budget, seed, data root and run folder given on the command line) and the plain loop of its original
(`gan_lightning.benchmarks.reference_loops`), on the same decoded uint8 images, for the same budget.
Each final generator draws n samples from the same fixed latents, sampled the way its code samples
(the config: its `sample_batch_norm`; the original: as its source does); FID and KID of those against
n real images (a fixed random subset) on the standard TF-Inception pool3 features. KID is the unbiased
MMD^2 with the cubic polynomial kernel over the whole sets (Binkowski et al. 2018, arXiv:1801.01401).

Parity: the config's mean FID and mean KID over seeds are each at most the original's mean plus the
spread between seeds (the larger max - min of the two sides).

`--ablation` instead trains d2l's loop with each deviation the Pokemon config once had, one at a
time, and that config through fit.py, for a short budget; every generator with batch norm is
evaluated with both ways of sampling (running statistics and batch statistics). `--guard` prints
the spreads of d2l's loop in the setting of the Pokemon collapse guard (tests/), which sets its
threshold. `--critic_check` measures the flowers critic's gradient penalty at initialisation with
the MathWorks example's final sigmoid and without it (the config), which explains their critic losses.

Every run is a unit kept under `--out/units/` (JSON, and the generator of a plain loop), so a rerun
reuses finished units; a long plain-loop run also keeps its generator at the ablation budget.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import os
import platform
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import torch
import yaml
from torch import Tensor, nn

from gan_lightning.benchmarks import reference_loops as loops
from gan_lightning.data import uint8_to_float
from gan_lightning.files import atomic_write
from gan_lightning.gans.losses import gradient_norm
from gan_lightning.images import make_grid, save_png
from gan_lightning.metrics.frechet import feature_statistics, frechet_distance
from gan_lightning.metrics.inception import build_inception, to_fid_input
from gan_lightning.metrics.kid import kernel_inception_distance
from gan_lightning.metrics.reference import statistics_subset
from gan_lightning.metrics.weights import OFFLINE_HINT, resolve_fid_weights
from gan_lightning.nets import has_batch_norm

REPO = Path(__file__).resolve().parents[2]
FIT = REPO / "scripts" / "fit.py"
CONFIGS = REPO / "configs"
EPOCH_TAGS = ("epoch/loss_d", "epoch/loss_g")  # the epoch means fit.py logs
NOISE_SEED = 2024  # the latents every generator is evaluated on
SAMPLE_BATCH = 100  # generated images per forward pass when evaluating


@dataclass(frozen=True)
class Recipe:
    """One recipe config and the original it reproduces."""

    name: str
    source: str  # the original, as the table names it
    files: tuple[str, ...]  # what must be under --data_root
    budget: int  # epochs, or generator steps when budget_unit is "steps"
    budget_unit: str
    train_original: Callable[..., loops.ReferenceRun] | None
    original_generator: Callable[[int, int], nn.Module] | None  # (image_size, channels) -> untrained generator
    n: int = 500  # generated and real images for FID and KID
    note: str = ""


# CIFAR-10's pickles are not in the shared data: its recipe trains on the CIFAR-10 JPEGs through the
# folder datamodule (the config's nets and settings otherwise).
CIFAR_JPEGS = Path("cifar10-jpeg") / "train"
CIFAR_FIT_DATA = ("--data", "gan_lightning.data.FolderDataModule", "--data.image_size", "32", "--data.channels", "3")


RECIPES: dict[str, Recipe] = {
    "pokemon": Recipe(
        "pokemon",
        "d2l.ai DCGAN chapter, its train() as printed",
        ("pokemon.zip",),
        20,
        "epochs",
        loops.d2l_train,
        loops.d2l_generator,
        n=1000,
    ),
    "fashion_mnist": Recipe(
        "fashion_mnist",
        "d2l.ai DCGAN chapter's loop and nets (32x32, 1 channel), its Fashion-MNIST exercise",
        ("FashionMNIST/raw",),
        1,
        "epochs",
        loops.d2l_train,
        loops.d2l_generator,
    ),
    "mnist": Recipe(
        "mnist",
        "eriklindernoren/PyTorch-GAN implementations/dcgan/dcgan.py",
        ("MNIST/raw",),
        300,
        "steps",
        loops.pytorch_gan_dcgan_train,
        loops.pytorch_gan_generator,
    ),
    "cifar10": Recipe(
        "cifar10",
        "@IT Deep Learning Workshop DCGAN on CIFAR-10 (2020-11-27), the simple no-BN nets",
        ("cifar10-jpeg-train.tar.gz",),
        300,
        "steps",
        loops.it_cifar10_train,
        loops.it_cifar10_generator,
        note="CIFAR-10 pickles are not here: both sides train on the shared CIFAR-10 JPEGs "
        "(lossy re-encode) through FolderDataModule",
    ),
    "flowers": Recipe(
        "flowers",
        "MathWorks example 'Train Wasserstein GAN with Gradient Penalty (WGAN-GP)'",
        ("flower_photos.tgz",),
        10,
        "steps",
        loops.matlab_wgan_gp_train,
        loops.matlab_wgan_gp_generator,
    ),
    "celeba": Recipe(
        "celeba",
        "PyTorch DCGAN tutorial (CelebA faces)",
        ("celeba/img_align_celeba",),
        0,
        "epochs",
        None,
        None,
        note="no CelebA data on this machine",
    ),
}

# d2l loop deviations the Pokemon config once had, each measured alone and all together.
ABLATION_ORIGINAL: dict[str, loops.D2LDeviations] = {
    "original": loops.D2LDeviations(),  # d2l as printed
    "original+init_dcgan": loops.D2LDeviations(init="dcgan"),
    "original+mean_loss": loops.D2LDeviations(reduction="mean"),
    "original+reuse_fake": loops.D2LDeviations(reuse_fake=True),
    "original+drop_last": loops.D2LDeviations(drop_last=True),
    "original+all_four": loops.D2LDeviations(init="dcgan", reduction="mean", reuse_fake=True, drop_last=True),
}
# The config through fit.py, as shipped, and with one setting it used to have ({section: {option: value}},
# given to fit.py as --section.init_args.option): the DCGAN tutorial's initialisation, full batches only.
ABLATION_CONFIG: dict[str, dict[str, dict]] = {
    "config": {},
    "config+init_dcgan": {
        "model": {"generator_options": {"init": "dcgan"}, "discriminator_options": {"init": "dcgan"}},
    },
    "config+drop_last": {"data": {"drop_last": True}},
}
ABLATION_BUDGET = 3  # epochs
ABLATION_N = 500


@dataclass
class Unit:
    """One training run: a recipe's config (side "config") or original (side "original"), one seed."""

    recipe: str
    side: str
    variant: str
    seed: int
    budget: int
    data_root: str
    out: str
    snapshot_budgets: tuple[int, ...] = ()
    overrides: dict[str, dict] = field(default_factory=dict)  # {"model" or "data": {option: value}}
    n: int = 500  # images for FID and KID

    @property
    def name(self) -> str:
        return f"{self.recipe}-{self.variant}-{self.budget}{RECIPES[self.recipe].budget_unit[0]}-seed{self.seed}"

    @property
    def json_path(self) -> Path:
        return Path(self.out) / "units" / f"{self.name}.json"


# ------------------------------------------------------------------------------------------------
# Data


def config_yaml(recipe: str) -> dict:
    return yaml.safe_load((CONFIGS / f"{recipe}.yaml").read_text())


def prepare_root(recipe: str, data_root: Path, out: Path) -> Path:
    """The --data.root both sides train from (cifar10: the shared JPEGs, unpacked once under `out`)."""
    if recipe != "cifar10":
        return data_root
    folder = out / "data" / CIFAR_JPEGS
    if not folder.is_dir():
        with tarfile.open(data_root / "cifar10-jpeg-train.tar.gz") as archive:
            archive.extractall(out / "data", filter="data")
    return folder


def recipe_images(recipe: str, root: Path) -> Tensor:
    """The config's datamodule's decoded uint8 images (N, C, H, W): exactly what fit.py trains on."""
    data = config_yaml(recipe)["data"]
    class_path, init_args = data["class_path"], dict(data["init_args"])
    if recipe == "cifar10":
        class_path = "gan_lightning.data.FolderDataModule"
    module_name, class_name = class_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    init_args.update(root=str(root), download=False)
    datamodule = cls(**init_args)
    datamodule.prepare_data()
    return datamodule.images()


# ------------------------------------------------------------------------------------------------
# Training


def fit_command(unit: Unit, root: Path) -> list[str]:
    """scripts/fit.py with the recipe's config; only budget, seed, data root and run folder change
    (and, for an ablation variant, the model and data options it names)."""
    recipe = RECIPES[unit.recipe]
    budget = (
        ["--trainer.max_epochs", str(unit.budget), "--trainer.max_steps", "-1"]
        if recipe.budget_unit == "epochs"
        else ["--trainer.max_steps", str(unit.budget), "--trainer.max_epochs", "-1"]
    )
    command = [sys.executable, str(FIT), "--config", str(CONFIGS / f"{unit.recipe}.yaml")]
    if unit.recipe == "cifar10":
        command += list(CIFAR_FIT_DATA)
    command += ["--data.root", str(root), "--data.download", "false", "--seed_everything", str(unit.seed)]
    command += budget
    command += ["--trainer.default_root_dir", str(Path(unit.out) / "runs"), "--name", unit.name]
    command += ["--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.enable_progress_bar", "false"]
    command += ["--fid.enabled", "false"]
    for section, options in unit.overrides.items():
        init_args = config_yaml(unit.recipe)[section]["init_args"]
        for key, value in options.items():
            merged = {**init_args.get(key, {}), **value} if isinstance(value, dict) else value
            command += [f"--{section}.init_args.{key}", json.dumps(merged)]
    return command


def train_config(unit: Unit, root: Path) -> dict:
    """Run fit.py to the end; return its per-epoch loss means and wall time."""
    log = Path(unit.out) / "logs" / f"{unit.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    env.pop("GAN_LIGHTNING_RUN_DIR", None)
    start = time.perf_counter()
    with log.open("w") as output:
        done = subprocess.run(fit_command(unit, root), stdout=output, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"fit.py failed for {unit.name} (rc {done.returncode}); see {log}")
    run_dir = max((Path(unit.out) / "runs" / unit.name).glob("version_*"), key=lambda p: p.stat().st_mtime)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    loss_d, loss_g = epoch_losses(run_dir, saved)
    steps = saved["global_step"]
    return {"loss_d": loss_d, "loss_g": loss_g, "wall_s": wall, "steps": steps, "checkpoint": str(checkpoint)}


def epoch_losses(run_dir: Path, last_checkpoint: dict) -> tuple[list[float], list[float]]:
    """The epoch/loss_d and epoch/loss_g means fit.py logged to TensorBoard, in order, and the mean of
    an epoch the budget ended inside (a steps budget shorter than an epoch: the flowers recipe's), from
    the partial sums the last checkpoint keeps, as the original's loop reports its last partial epoch."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    logged = events.Tags()["scalars"]
    loss_d, loss_g = ([e.value for e in events.Scalars(tag)] if tag in logged else [] for tag in EPOCH_TAGS)
    state = last_checkpoint["gan_lightning"]
    if state["epoch_steps"]:
        partial = (state["epoch_loss_sums"] / state["epoch_steps"]).tolist()
        loss_d, loss_g = loss_d + partial[:1], loss_g + partial[1:]
    return loss_d, loss_g


def train_original(unit: Unit, root: Path) -> dict:
    """Run the original's plain loop in this process; save its generator (and snapshots) beside the JSON."""
    recipe = RECIPES[unit.recipe]
    images = recipe_images(unit.recipe, root)
    kwargs = {"snapshot_epochs": tuple(unit.snapshot_budgets)}
    if unit.variant != "original":
        kwargs["deviations"] = ABLATION_ORIGINAL[unit.variant]
    if recipe.budget_unit == "steps":  # at most `budget` epochs, stopped after `budget` generator steps
        kwargs["max_steps"] = unit.budget
    if "steps_per_epoch" in inspect.signature(recipe.train_original).parameters:
        kwargs["steps_per_epoch"] = steps_per_epoch(unit.recipe, len(images))
    start = time.perf_counter()
    run = recipe.train_original(images, unit.budget, unit.seed, **kwargs)
    wall = time.perf_counter() - start
    generator_file = unit.json_path.with_suffix(".pt")
    with atomic_write(generator_file) as tmp:
        torch.save({"final": run.generator.state_dict(), "snapshots": run.snapshots}, tmp)
    return {
        "loss_d": run.loss_d,
        "loss_g": run.loss_g,
        "wall_s": wall,
        "epoch_seconds": run.epoch_seconds,
        "steps": run.steps,
        "generator": str(generator_file),
        "sample_batch_norm": run.sample_batch_norm,
        "latent_dim": run.latent_dim,
        "latent_as_map": run.latent_as_map,
        "image_shape": list(images.shape[1:]),
    }


def steps_per_epoch(recipe: str, num_images: int) -> int:
    """Generator steps in one epoch of the config's loader (full loader batches only)."""
    init_args = config_yaml(recipe)["model"]["init_args"]
    return num_images // (config_yaml(recipe)["data"]["init_args"]["batch_size"] * init_args.get("n_critic", 1))


def train_unit(unit: Unit) -> dict:
    """Train `unit` (unless its JSON exists) and write its JSON; returns it."""
    torch.set_num_threads(1)
    if unit.json_path.is_file():
        return json.loads(unit.json_path.read_text())
    root = prepare_root(unit.recipe, Path(unit.data_root), Path(unit.out))
    result = train_config(unit, root) if unit.side == "config" else train_original(unit, root)
    result = {**dataclasses.asdict(unit), "name": unit.name, **result, "metrics": {}}
    write_json(unit.json_path, result)
    return result


# ------------------------------------------------------------------------------------------------
# Evaluation


NO_WEIGHTS = f"parity needs the FID Inception weights and found none; to make them offline: {OFFLINE_HINT}"


class Features:
    """TF-Inception pool3 features (the FID network), with the real ones cached per dataset and n."""

    def __init__(self, out: Path, weights_path: str | Path | None = None) -> None:
        weights = resolve_fid_weights(weights_path, download=False, warn=False)
        if weights is None:
            raise RuntimeError(NO_WEIGHTS)
        self.net = build_inception(weights, ["2048"])
        self.out = out

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        """(B, C, H, W) uint8 or float in [-1, 1] -> (B, 2048) float64."""
        (pool3,) = self.net(to_fid_input(images))
        return pool3.double()

    def real(self, recipe: str, root: Path, n: int) -> Tensor:
        cache = self.out / "features" / f"{recipe}-real-{n}.pt"
        if cache.is_file():
            return torch.load(cache, weights_only=True)
        images = recipe_images(recipe, root)
        picks = statistics_subset(len(images), n)
        features = torch.cat([self(images[chunk]) for chunk in picks.split(SAMPLE_BATCH)])
        with atomic_write(cache) as tmp:
            torch.save(features, tmp)
        return features


def fid_kid(real: Tensor, fake: Tensor) -> tuple[float, float]:
    """FID and KID of two feature sets. KID's subsets are the whole sets (n <= 1000 here), so its value is
    the unbiased MMD^2 of the sets themselves."""
    fid = frechet_distance(*feature_statistics(real), *feature_statistics(fake))
    kid, _ = kernel_inception_distance(real, fake, subsets=1, subset_size=min(len(real), len(fake)))
    return fid, kid


@torch.no_grad()
def generated(generate: Callable[[Tensor], Tensor], latent_dim: int, n: int) -> Tensor:
    """n images from the fixed evaluation latents, SAMPLE_BATCH at a time (batch norm in batch
    mode normalises over each such batch)."""
    noise = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(NOISE_SEED))
    return torch.cat([generate(chunk).float().clamp(-1, 1) for chunk in noise.split(SAMPLE_BATCH)])


def spread(images: Tensor) -> float:
    """Mean over pixels of the standard deviation across samples: near 0 when every latent draws
    the same image (mode collapse)."""
    return float(images.double().std(dim=0).mean())


def samplers(result: dict, budget: int) -> tuple[dict[str, Callable[[Tensor], Tensor]], int, str]:
    """{batch norm mode: z -> images} for the unit's generator after `budget`, its latent size and
    the mode its own code samples with."""
    from gan_lightning.gans.loading import load_gan
    from gan_lightning.nets import sampling_mode

    if result["side"] == "config":
        module = load_gan(result["checkpoint"])
        own = module.hparams.get("sample_batch_norm", "running")
        net = module.generator_ema if module.generator_ema is not None else module.generator

        def make(mode: str) -> Callable[[Tensor], Tensor]:
            def generate(z: Tensor) -> Tensor:
                with sampling_mode(net, mode):
                    return net(z)

            return generate

        modes = ("running", "batch") if has_batch_norm(net) else (own,)
        return {mode: make(mode) for mode in modes}, module.latent_dim, own
    saved = torch.load(result["generator"], weights_only=True)
    state = saved["final"] if budget == result["budget"] else saved["snapshots"][budget]
    channels, image_size = result["image_shape"][0], result["image_shape"][-1]
    generator = RECIPES[result["recipe"]].original_generator(image_size, channels)
    generator.load_state_dict(state)
    as_map = result["latent_as_map"]

    def make_original(mode: str) -> Callable[[Tensor], Tensor]:
        def generate(z: Tensor) -> Tensor:
            with sampling_mode(generator, mode):
                return generator(z[:, :, None, None] if as_map else z)

        return generate

    own = result["sample_batch_norm"]
    modes = ("running", "batch") if has_batch_norm(generator) else (own,)
    return {mode: make_original(mode) for mode in modes}, result["latent_dim"], own


def evaluate(result: dict, budget: int, n: int, features: Features) -> dict:
    """FID, KID and spread of the unit's generator after `budget`, for each way of sampling."""
    torch.set_num_threads(1)
    root = prepare_root(result["recipe"], Path(result["data_root"]), Path(result["out"]))
    real = features.real(result["recipe"], root, n)
    modes, latent_dim, own = samplers(result, budget)
    metrics = {"own_mode": own}
    for mode, generate in modes.items():
        images = generated(generate, latent_dim, n)
        fake = torch.cat([features(chunk) for chunk in images.split(SAMPLE_BATCH)])
        fid, kid = fid_kid(real, fake)
        metrics[mode] = {"fid": fid, "kid": kid, "spread": spread(images), "n": n}
        grid = Path(result["out"]) / "grids" / f"{result['name']}-at{budget}-{mode}.png"
        save_png(make_grid(images[:21], nrow=7), grid)
    return metrics


# ------------------------------------------------------------------------------------------------
# The collapse guard's setting (tests/test_pokemon_collapse_guard.py): the Pokemon recipe on a small
# real subset for a few steps. Its threshold comes from d2l's loop in the same setting (--guard).

GUARD = {"images": 512, "batch_size": 32, "steps": 16, "samples": 64, "noise_seed": 7}


def write_pokemon_subset(source: Path, destination: Path, count: int) -> Path:
    """A pokemon.zip of `count` real sprites of `source`, picked with a fixed seed."""
    import zipfile

    with zipfile.ZipFile(source) as archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".png"))
        picks = torch.randperm(len(names), generator=torch.Generator().manual_seed(0))[:count].tolist()
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(destination, "w") as subset:
            for i in sorted(picks):
                subset.writestr(names[i], archive.read(names[i]))
    return destination


def guard_noise(latent_dim: int) -> Tensor:
    return torch.randn(GUARD["samples"], latent_dim, generator=torch.Generator().manual_seed(GUARD["noise_seed"]))


def guard_spreads(data_root: Path, out: Path, seeds: list[int]) -> dict[str, float]:
    """Spread of the samples of d2l's loop after the guard's budget on the guard's subset, per seed
    and sampling mode; the guard's threshold is half the smallest in d2l's own (batch) mode."""
    from gan_lightning.data import PokemonDataModule
    from gan_lightning.nets import sampling_mode

    torch.set_num_threads(1)
    root = out / "guard"
    write_pokemon_subset(data_root / "pokemon.zip", root / "pokemon.zip", GUARD["images"])
    images = PokemonDataModule(root=str(root), cache_dir=str(root / "cache"), download=False).images()
    epochs = GUARD["steps"] * GUARD["batch_size"] // len(images)
    spreads = {}
    for seed in seeds:
        run = loops.d2l_train(images, epochs, seed, batch_size=GUARD["batch_size"])
        for mode in ("batch", "running"):
            with torch.no_grad(), sampling_mode(run.generator, mode):
                spreads[f"seed {seed}, {mode}"] = spread(run.generate(guard_noise(run.latent_dim)))
    return spreads


# ------------------------------------------------------------------------------------------------
# The flowers critic (--critic_check). The MathWorks example's critic ends in a sigmoidLayer; the
# recipe leaves it out, because a Wasserstein critic's score must be unbounded (Arjovsky et al. 2017,
# arXiv:1701.07875; Gulrajani et al. 2017, arXiv:1704.00028). The sigmoid's slope is at most 1/4, so
# it shrinks the critic's input gradients, hence the gradient penalty the critic loss includes.


def critic_penalty_at_init(
    images: Tensor, seeds: list[int], batch_size: int = 64, lam: float = 10.0, latent_dim: int = 100
) -> list[dict]:
    """Per seed: the example's freshly initialised nets, a batch of real images and one of G(z); the
    critic's mean input-gradient norm at the interpolates, the gradient penalty, and the Wasserstein
    term mean D(G(z)) - mean D(x), with the example's final sigmoid and without it (the config's critic:
    the same layers and weights but the sigmoid)."""
    rows = []
    for seed in seeds:
        torch.manual_seed(seed)
        generator, critic = loops.matlab_wgan_gp_nets(images.shape[1], latent_dim)
        real = uint8_to_float(images[torch.randperm(len(images))[:batch_size]])
        with torch.no_grad():
            fake = generator(torch.randn(len(real), latent_dim))
        eps = torch.rand(len(real), 1, 1, 1)
        for name, net in (("with sigmoid (MATLAB example)", critic), ("without sigmoid (config)", critic[:-1])):
            interpolates = (eps * real + (1 - eps) * fake).requires_grad_(True)
            norms = gradient_norm(net(interpolates), interpolates).detach()  # WGANGPModule's own penalty norm
            with torch.no_grad():
                wasserstein = float(net(fake).mean() - net(real).mean())
            rows.append(
                {
                    "seed": seed,
                    "critic": name,
                    "grad_norm": float(norms.mean()),
                    "penalty": float(lam * ((norms - 1) ** 2).mean()),
                    "wasserstein": wasserstein,
                }
            )
    return rows


def critic_check_markdown(rows: list[dict]) -> str:
    lines = [
        "The flowers critic at initialisation (the MathWorks example's nets, one batch of 64 real images "
        "and 64 of G(z)), with the example's final sigmoid and without it (the config):",
        "",
        "| seed | critic | input-gradient norm | gradient penalty (λ = 10) | mean D(G(z)) − mean D(x) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['critic']} | {r['grad_norm']:.2f} | {r['penalty']:.1f} | {r['wasserstein']:.3f} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# Units, jobs and tables


def write_json(path: Path, data: dict) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def find_trained(unit: Unit) -> tuple[dict, int] | None:
    """The finished run behind `unit`: its own JSON, or a longer plain-loop run of the same recipe,
    variant and seed that kept its generator at this budget."""
    if unit.json_path.is_file():
        return json.loads(unit.json_path.read_text()), unit.budget
    for path in (Path(unit.out) / "units").glob(f"{unit.recipe}-{unit.variant}-*-seed{unit.seed}.json"):
        result = json.loads(path.read_text())
        if unit.budget in result.get("snapshot_budgets", []) and result["variant"] == unit.variant:
            return result, unit.budget
    return None


def evaluate_unit(unit: Unit) -> dict:
    """The unit's metrics at its budget (computed once, then kept in the run's JSON)."""
    torch.set_num_threads(1)
    n = unit.n
    result, budget = find_trained(unit)
    key = f"{budget}/{n}"
    if key not in result["metrics"]:
        result["metrics"][key] = evaluate(result, budget, n, Features(Path(unit.out)))
        write_json(Path(unit.out) / "units" / f"{result['name']}.json", result)
    return summary(result, budget, n)


def summary(result: dict, budget: int, n: int) -> dict:
    """What the tables show of one unit at `budget`."""
    epochs = budget if RECIPES[result["recipe"]].budget_unit == "epochs" else len(result["loss_d"])
    if result["budget"] != budget:  # a snapshot of a longer run: its first `budget` epochs
        wall = sum(result["epoch_seconds"][:budget])
    else:
        wall = result["wall_s"]
    return {
        "recipe": result["recipe"],
        "side": result["side"],
        "variant": result["variant"],
        "seed": result["seed"],
        "budget": budget,
        "loss_d": result["loss_d"][:epochs],
        "loss_g": result["loss_g"][:epochs],
        "wall_s": wall,
        "n": n,
        "metrics": result["metrics"][f"{budget}/{n}"],
    }


def finished_summaries(units: list[Unit]) -> list[dict]:
    """Summaries of the units already trained and evaluated under --out (nothing is run)."""
    out = []
    for unit in units:
        found = find_trained(unit)
        if found is not None and f"{found[1]}/{unit.n}" in found[0]["metrics"]:
            out.append(summary(found[0], found[1], unit.n))
    return out


def run_units(units: list[Unit], jobs: int) -> list[dict]:
    """Train what is missing, then evaluate, `jobs` processes at a time; one summary per unit."""
    todo = [u for u in units if find_trained(u) is None]
    with ProcessPoolExecutor(max_workers=max(jobs, 1), mp_context=get_context("spawn")) as pool:
        for unit, _ in zip(todo, pool.map(train_unit, todo)):
            print(f"trained {unit.name}", flush=True)
        return list(pool.map(evaluate_unit, units))


def parity_units(recipes: list[str], seeds: list[int], args: argparse.Namespace) -> list[Unit]:
    units = []
    for name in recipes:
        recipe = RECIPES[name]
        if recipe.train_original is None or not has_files(recipe, Path(args.data_root)):
            continue
        budget = args.budget.get(name, recipe.budget)
        snapshots = (ABLATION_BUDGET,) if name == "pokemon" and budget > ABLATION_BUDGET else ()
        for seed in seeds:
            n = args.n or recipe.n
            common = dict(recipe=name, seed=seed, budget=budget, data_root=args.data_root, out=args.out, n=n)
            units.append(Unit(side="config", variant="config", **common))
            units.append(Unit(side="original", variant="original", snapshot_budgets=snapshots, **common))
    return units


def ablation_units(seeds: list[int], args: argparse.Namespace) -> list[Unit]:
    units = []
    for seed in seeds:
        n = args.n or ABLATION_N
        common = dict(recipe="pokemon", seed=seed, budget=ABLATION_BUDGET, data_root=args.data_root, out=args.out, n=n)
        units += [Unit(side="original", variant=v, **common) for v in ABLATION_ORIGINAL]
        units += [Unit(side="config", variant=v, overrides=o, **common) for v, o in ABLATION_CONFIG.items()]
    return units


def has_files(recipe: Recipe, root: Path) -> bool:
    return all((root / f).exists() for f in recipe.files)


def mean_and_spread(values: list[float]) -> tuple[float, float]:
    return sum(values) / len(values), max(values) - min(values)


def side_stats(rows: list[dict], metric: str, mode: str | None = None) -> tuple[float, float, list[float]]:
    """Mean, spread (max - min) and per-seed values of `metric` over `rows`, sampled in `mode`
    (default: each unit's own way of sampling)."""
    values = [r["metrics"][mode or r["metrics"]["own_mode"]][metric] for r in rows]
    return (*mean_and_spread(values), values)


def verdict(config: list[dict], original: list[dict]) -> dict:
    """Parity on FID and on KID: config mean <= original mean + the larger spread between seeds."""
    out = {}
    for metric in ("fid", "kid"):
        c_mean, c_spread, _ = side_stats(config, metric)
        o_mean, o_spread, _ = side_stats(original, metric)
        out[metric] = c_mean <= o_mean + max(c_spread, o_spread)
    out["parity"] = out["fid"] and out["kid"]
    return out


def fmt(mean: float, spread: float, scale: float = 1.0, digits: int = 1) -> str:
    return f"{mean * scale:.{digits}f} ± {spread * scale / 2:.{digits}f}"


def losses_line(rows: list[dict], key: str) -> str:
    """Per-epoch mean over seeds of one loss, as a comma-separated list."""
    epochs = min(len(r[key]) for r in rows)
    return ", ".join(f"{sum(r[key][e] for r in rows) / len(rows):.2f}" for e in range(epochs))


def cpu_name() -> str:
    """The CPU's model name (Linux), else the platform's machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def budget_text(recipe: Recipe, budget: int) -> str:
    unit = recipe.budget_unit if budget != 1 else recipe.budget_unit[:-1]
    return f"{budget} {'generator steps' if unit.startswith('step') and budget != 1 else unit}"


def parity_markdown(summaries: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"Parity of each recipe config (scripts/fit.py) against its original's plain loop, same data and budget, "
        f"seeds {', '.join(map(str, args.seeds))}; FID and KID of n samples vs n real images "
        f"(TF-Inception pool3), mean ± half the spread between seeds; each side sampled as its code samples. "
        f"Parity: config mean ≤ original mean + the larger spread, for FID and KID. "
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, CPU only, one thread per run.",
        "",
        "| recipe | original | budget | side | wall per run | n | FID | KID × 1000 | spread | parity |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in args.recipes:
        rows = [s for s in summaries if s["recipe"] == name and s["variant"] in ("config", "original")]
        recipe = RECIPES[name]
        if not rows:
            reason = recipe.note if recipe.train_original is None else "data not under --data_root"
            if recipe.train_original is not None and getattr(args, "finished_only", False):
                reason = "no finished run under --out"
            lines.append(f"| {name} | {recipe.source} | — | — | — | — | — | — | — | not run: {reason} |")
            continue
        config = [r for r in rows if r["side"] == "config"]
        original = [r for r in rows if r["side"] == "original"]
        check = verdict(config, original) if config and original else None
        budget = budget_text(recipe, rows[0]["budget"])
        for side, group in (("config", config), ("original", original)):
            if not group:
                lines.append(f"| {name} | | {budget} | {side} | — | — | — | — | — | not finished |")
                continue
            fid, kid, spr = side_stats(group, "fid"), side_stats(group, "kid"), side_stats(group, "spread")
            wall = sum(r["wall_s"] for r in group) / len(group)
            mode = group[0]["metrics"]["own_mode"]
            result = "" if side != "config" or check is None else "yes" if check["parity"] else "**no**"
            if check is not None and side == "config" and min(len(config), len(original)) < 2:
                result += " (1 seed: no spread to allow)"
            lines.append(
                f"| {name} | {recipe.source if side == 'config' else ''} | {budget} | {side} ({mode} BN stats) | "
                f"{wall / 60:.1f} min | {group[0]['n']} | {fmt(fid[0], fid[1])} | {fmt(kid[0], kid[1], 1000)} | "
                f"{fmt(spr[0], spr[1], digits=3)} | {result} |"
            )
        if recipe.note:
            lines.append(f"| | *{recipe.note}* | | | | | | | | |")
    lines += ["", "Per-epoch loss means (mean over seeds; loss_d is the mean of the real and fake parts):", ""]
    lines += ["| recipe | side | loss_d per epoch | loss_g per epoch |", "|---|---|---|---|"]
    for name in args.recipes:
        for side in ("config", "original"):
            group = [s for s in summaries if s["recipe"] == name and s["side"] == side and s["variant"] in (side,)]
            if group:
                lines.append(f"| {name} | {side} | {losses_line(group, 'loss_d')} | {losses_line(group, 'loss_g')} |")
    return "\n".join(lines) + "\n"


def ablation_markdown(summaries: list[dict], args: argparse.Namespace) -> str:
    n = args.n or ABLATION_N
    lines = [
        f"Ablation on the Pokemon recipe, {ABLATION_BUDGET} epochs (batch 256, lr 0.005), seeds "
        f"{', '.join(map(str, args.seeds))}: d2l's loop as printed, with one deviation at a time, and the config "
        f"through fit.py. FID / KID × 1000 of {n} samples vs {n} real images, mean ± half the spread between "
        "seeds, for samples drawn with batch norm on the batch's statistics (train mode, as d2l) and on the "
        "running statistics (eval mode).",
        "",
        "| variant | loss_d per epoch | loss_g per epoch | FID (batch) | KID (batch) | FID (running) | KID (running) "
        "| spread (batch / running) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant in [*ABLATION_ORIGINAL, *ABLATION_CONFIG]:
        rows = [s for s in summaries if s["variant"] == variant]
        if not rows:
            continue
        cells = []
        for mode in ("batch", "running"):
            fid, kid = side_stats(rows, "fid", mode), side_stats(rows, "kid", mode)
            cells += [fmt(fid[0], fid[1]), fmt(kid[0], kid[1], 1000)]
        spreads = [side_stats(rows, "spread", mode)[0] for mode in ("batch", "running")]
        lines.append(
            f"| {variant} | {losses_line(rows, 'loss_d')} | {losses_line(rows, 'loss_g')} | {' | '.join(cells)} | "
            f"{spreads[0]:.3f} / {spreads[1]:.3f} |"
        )
    lines += [
        "",
        "- original: d2l's train() as printed: every parameter N(0, 0.02), BCE summed over the batch, G(z) "
        "computed again for the generator step, the last partial batch kept.",
        "- +init_dcgan: batch norm scale N(1, 0.02) and shift 0 (the PyTorch DCGAN tutorial's init); +mean_loss: "
        "batch-mean BCE; +reuse_fake: the generator step reuses the discriminator step's G(z); +drop_last: the last "
        "partial batch dropped; +all_four: all four, the fit path's arithmetic before it followed d2l.",
        "- config: configs/pokemon.yaml through scripts/fit.py as shipped; config+init_dcgan: with the DCGAN "
        "tutorial's initialisation it used to have (it sampled with running statistics: its 'running' columns); "
        "config+drop_last: training on full batches only, as it did before it kept d2l's last partial batch.",
    ]
    return "\n".join(lines) + "\n"


def parse_budgets(items: list[str]) -> dict[str, int]:
    budgets = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in RECIPES or not value.isdigit():
            raise argparse.ArgumentTypeError(f"--budget takes RECIPE=N with RECIPE in {sorted(RECIPES)}, got {item!r}")
        budgets[name] = int(value)
    return budgets


def main(argv: list[str] | None = None) -> int:
    """Entry point of scripts/parity.py."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--data_root", required=True, help="folder with the datasets' files (e.g. ../shared/data)")
    parser.add_argument("--out", required=True, help="folder for runs, units, grids and feature caches")
    parser.add_argument("--n", type=int, help="generated and real images for FID and KID (default: per recipe)")
    parser.add_argument("--budget", nargs="*", default=[], help="RECIPE=N overrides (epochs, or steps for flowers)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained (and evaluated) at once")
    parser.add_argument("--ablation", action="store_true", help="the Pokemon ablation instead of the parity table")
    parser.add_argument("--guard", action="store_true", help="d2l's spreads in the collapse guard's setting")
    parser.add_argument(
        "--critic_check", action="store_true", help="the flowers critic's gradient penalty with and without its sigmoid"
    )
    parser.add_argument(
        "--finished_only", action="store_true", help="tables of the runs already finished under --out; run nothing"
    )
    parser.add_argument("--markdown", help="write the table(s) here")
    parser.add_argument("--json", help="write every run's summary here")
    args = parser.parse_args(argv)
    args.budget = parse_budgets(args.budget)
    args.data_root = str(Path(args.data_root).resolve())
    args.out = str(Path(args.out).resolve())
    if len(args.seeds) < 2 and not args.finished_only:
        parser.error("parity needs 2 or more seeds (it compares within the spread between seeds)")
    if args.guard:
        spreads = guard_spreads(Path(args.data_root), Path(args.out), args.seeds)
        print(json.dumps(spreads, indent=1))
        smallest = min(v for k, v in spreads.items() if k.endswith("batch"))
        print(f"threshold (half the smallest spread of d2l's own, batch-statistics, samples): {smallest / 2:.4f}")
        return 0
    if args.critic_check:
        torch.set_num_threads(1)
        images = recipe_images("flowers", prepare_root("flowers", Path(args.data_root), Path(args.out)))
        table = critic_check_markdown(critic_penalty_at_init(images, args.seeds))
        print(table)
        if args.markdown:
            Path(args.markdown).write_text(table)
        return 0
    if not args.finished_only and resolve_fid_weights(None, download=False, warn=False) is None:
        parser.error(NO_WEIGHTS)  # before hours of training, not after them
    units = ablation_units(args.seeds, args) if args.ablation else parity_units(args.recipes, args.seeds, args)
    summaries = finished_summaries(units) if args.finished_only else run_units(units, args.jobs)
    if args.finished_only:
        args.seeds = sorted({s["seed"] for s in summaries})
    table = ablation_markdown(summaries, args) if args.ablation else parity_markdown(summaries, args)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": summaries}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
