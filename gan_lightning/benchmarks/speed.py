"""How fast the fit path trains, against plain PyTorch loops of the same recipes.

    python scripts/benchmark.py --device cuda --out results.json --markdown
    python scripts/benchmark.py --device cpu --batch_dcgan 64 --steps 20 --warmup 3 --steps_wgan 4 \
        --rounds 3 --fid_samples 200 --loader_workers 2 --out cpu.json --markdown     # ~6 min on 2 cores

In one process, on one device:
1. DCGAN, Pokemon recipe (configs/pokemon.yaml): the fit path (trainer.fit of the DCGANModule on the
   datamodule, TensorBoard logging and fixed-noise grids on the config's cadence; no checkpoints,
   no FID, no progress bar unless --progress_bar) against d2l's loop (benchmarks/reference_loops.py)
   with the same nets and batch on data already on the device. On CUDA also in bf16 at batch 1024.
2. WGAN-GP, flowers recipe (configs/flowers.yaml): the fit path against the MATLAB example's loop.
3. The data loader alone: the cached uint8 loader against decoding the files every step
   (torchvision ImageFolder + Resize + ToTensor + Normalize, d2l's pipeline).
4. FID of --fid_samples generated images against cached real statistics (computed beforehand,
   not timed), extrapolated to 10,000 samples when fewer are measured.
Without pokemon.zip / flower_photos.tgz under --data_root the generated demo shapes stand in (the
output says so). Fit path and reference run back to back, alternating which goes first, for
--rounds rounds; the best round of each is reported (this machine may be shared and noisy).
time_ratio = fit path time per generator step / reference time per step (above 1 is slower).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import re
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
import torchvision
import yaml
from lightning_fabric.utilities.warnings import PossibleUserWarning
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.data import DataLoader

from gan_lightning.benchmarks.reference_loops import LoopSettings, dcgan_loop, device_batches, wgan_gp_loop
from gan_lightning.benchmarks.throughput import loader_images_per_second
from gan_lightning.benchmarks.timing import StepClock, StepTimer, synchronize
from gan_lightning.callbacks import FixedNoiseGrid
from gan_lightning.config import build_from_config
from gan_lightning.data import DemoDataModule, ImageDataModule
from gan_lightning.files import atomic_write
from gan_lightning.metrics.evaluation import Evaluator
from gan_lightning.metrics.frechet import feature_statistics, frechet_distance
from gan_lightning.metrics.generated import generated_features, seeded_noise
from gan_lightning.metrics.inception import extract_features
from gan_lightning.metrics.weights import resolve_fid_weights
from gan_lightning.nets import build_discriminator, build_generator

REPO = Path(__file__).resolve().parents[2]  # the checkout: configs/ and ../shared/data are found from it

PARTS = ("dcgan", "wgan", "loader", "fid")
FID_REFERENCE_SAMPLES = 10_000


# ---------------------------------------------------------------------------------------------
# Recipes: everything comes from the config a user runs, with the benchmark's overrides


@dataclass
class Recipe:
    """One config file (configs/*.yaml) as a dict, and the few things the benchmark reads from it."""

    name: str
    config: dict
    path: Path

    @property
    def model_args(self) -> dict:
        return self.config["model"]["init_args"]

    @property
    def log_every_n_steps(self) -> int:
        return self.config.get("trainer", {}).get("log_every_n_steps", 50)

    @property
    def samples(self) -> dict:
        return self.config.get("samples") or {}

    def cudnn_benchmark(self, args: argparse.Namespace) -> bool:
        """cuDNN autotuning for both loops: on when the config's trainer asks for it or --cudnn_benchmark."""
        return bool(args.cudnn_benchmark or self.config.get("trainer", {}).get("benchmark"))


def load_recipe(name: str, config_file: str) -> Recipe:
    return Recipe(name, yaml.safe_load((REPO / "configs" / config_file).read_text()), REPO / "configs" / config_file)


def _overrides(recipe: Recipe, args: argparse.Namespace) -> list[str]:
    """fit.py-style overrides of the config for the benchmark's --image_size, --width and --channels_last."""
    overrides = []
    if args.image_size:
        overrides += ["--data.image_size", str(args.image_size)]
    if args.width is not None:
        for key in ("generator_options", "discriminator_options"):
            options = {**(recipe.model_args.get(key) or {}), "width": args.width}
            overrides += [f"--model.init_args.{key}", json.dumps(options)]
    if args.channels_last:
        overrides += ["--model.init_args.channels_last", "true"]
    return overrides


def make_module(recipe: Recipe, args: argparse.Namespace) -> pl.LightningModule:
    """The config's LightningModule, built as scripts/fit.py builds it, with the benchmark's overrides."""
    module, _, _ = build_from_config(recipe.path, *_overrides(recipe, args))
    return module


def make_datamodule(recipe: Recipe, args: argparse.Namespace, batch_size: int) -> tuple[ImageDataModule, str]:
    """The config's datamodule on --data_root, or the demo shapes (with the same options) when its files
    are not there. Returns (datamodule, a sentence saying which data it is)."""
    overrides = ["--data.root", str(args.data_root), "--data.batch_size", str(batch_size), "--data.download", "false"]
    if args.cache_dir:
        overrides += ["--data.cache_dir", str(args.cache_dir)]
    _, real, _ = build_from_config(recipe.path, *_overrides(recipe, args), *overrides)
    source = real.find_source()
    if source is not None:
        return real, f"{real.name} ({source})"
    per_step = real.batches_per_step
    demo = DemoDataModule(
        root=str(args.data_root), image_size=real.image_size, batch_size=batch_size, cache_dir=args.cache_dir,
        channels=real.channels, num_workers=real.num_workers, random_flip=real.random_flip,
        batches_per_step=per_step, num_images=max(args.demo_images, 4 * batch_size * per_step),
    )  # fmt: skip
    return demo, (
        f"demo shapes {real.image_size}x{real.image_size}, {demo.num_images} images (stand-in: no {real.name} data "
        f"under {Path(args.data_root).resolve()})"
    )


# ---------------------------------------------------------------------------------------------
# One timed run of the fit path, one of the reference loop


def time_fit_path(recipe: Recipe, args, batch_size: int, bf16: bool, steps: int, workdir: Path) -> dict:
    """trainer.fit as a user runs it (logging and sample grids on), minus checkpoints and (unless
    --progress_bar) the progress bar."""
    pl.seed_everything(0, verbose=False)
    module = make_module(recipe, args)
    datamodule, _ = make_datamodule(recipe, args, batch_size)
    clock = StepClock(args.device, args.warmup, steps)
    trainer = pl.Trainer(
        accelerator="gpu" if args.device.type == "cuda" else "cpu",
        devices=1,
        precision="bf16-mixed" if bf16 else "32-true",
        max_steps=args.warmup + steps,
        max_epochs=-1,
        logger=TensorBoardLogger(str(workdir), name=recipe.name),
        log_every_n_steps=recipe.log_every_n_steps,
        callbacks=[FixedNoiseGrid(**recipe.samples), StepTimer(clock)],
        enable_checkpointing=False,
        enable_progress_bar=args.progress_bar,
        enable_model_summary=False,
        benchmark=recipe.cudnn_benchmark(args),
        default_root_dir=str(workdir),
    )
    trainer.fit(module, datamodule=datamodule)
    return clock.result() | {"threads": torch.get_num_threads()}


def time_reference(recipe: Recipe, args, batch_size: int, bf16: bool, steps: int) -> dict:
    """The plain loop with nets built from the same hyperparameters, on device-resident data."""
    pl.seed_everything(0, verbose=False)
    module = make_module(recipe, args)
    hp = module.hparams  # the config's values with the module's defaults filled in
    (lr_g, betas_g), (lr_d, betas_d) = module.adam_settings()
    device = args.device
    generator = build_generator(hp.generator, hp.latent_dim, hp.image_size, hp.channels, **(hp.generator_options or {}))
    discriminator = build_discriminator(
        hp.discriminator, hp.image_size, hp.channels, **(hp.discriminator_options or {})
    )
    memory_format = torch.channels_last if hp.channels_last else torch.contiguous_format
    generator.to(device, memory_format=memory_format)
    discriminator.to(device, memory_format=memory_format)
    datamodule, _ = make_datamodule(recipe, args, batch_size)
    batches = device_batches(datamodule.images(), batch_size, args.pool_batches, device)
    torch.backends.cudnn.benchmark = recipe.cudnn_benchmark(args)  # what the Trainer sets for the fit path
    clock = StepClock(device, args.warmup, steps)
    settings = LoopSettings(
        latent_dim=hp.latent_dim,
        lr_g=lr_g,
        lr_d=lr_d,
        betas_g=betas_g,
        betas_d=betas_d,
        channels_last=hp.channels_last,
        bf16=bf16,
        fused=fused_adam(hp, device),
    )
    if recipe.name == "wgan_gp":
        wgan_gp_loop(
            generator, discriminator, batches, args.warmup + steps, settings, clock.tick, hp.n_critic, hp.gp_weight
        )
    else:
        dcgan_loop(generator, discriminator, batches, args.warmup + steps, settings, clock.tick)
    return clock.result() | {"threads": torch.get_num_threads()}


def fused_adam(hp, device: torch.device) -> bool:
    """Whether the module's Adam is fused: its fused_optimizers, or (None) on CUDA only."""
    return hp.fused_optimizers if hp.fused_optimizers is not None else device.type == "cuda"


def with_rates(timing: dict, images_per_step: int) -> dict:
    return timing | {
        "images_per_s": images_per_step / timing["mean_step_s"],
        "gen_it_per_s": 1.0 / timing["mean_step_s"],
    }


def bench_gan(recipe: Recipe, args, batch_size: int, bf16: bool, steps: int, workdir: Path) -> dict:
    """Fit path and reference, back to back for --rounds rounds (alternating which goes first)."""
    hp = make_module(recipe, args).hparams
    n_critic = hp.n_critic
    _, data = make_datamodule(recipe, args, batch_size)
    rounds = []
    for r in range(args.rounds):
        order = ("fit", "reference") if r % 2 == 0 else ("reference", "fit")
        run = {}
        for which in order:
            print(
                f"[benchmark] {recipe.name} {'bf16' if bf16 else 'fp32'} batch {batch_size}: round {r + 1}, {which}",
                file=sys.stderr,
                flush=True,
            )
            if which == "fit":
                run[which] = time_fit_path(recipe, args, batch_size, bf16, steps, workdir / f"round{r}")
            else:
                run[which] = time_reference(recipe, args, batch_size, bf16, steps)
        rounds.append(run)
    images_per_step = batch_size * n_critic
    fit = with_rates(min((r["fit"] for r in rounds), key=lambda t: t["mean_step_s"]), images_per_step)
    ref = with_rates(min((r["reference"] for r in rounds), key=lambda t: t["mean_step_s"]), images_per_step)
    return {
        "data": data,
        "image_size": hp.image_size,
        "batch_size": batch_size,
        "n_critic": n_critic,
        "images_per_step": images_per_step,
        "precision": "bf16-mixed" if bf16 else "32-true",
        "channels_last": hp.channels_last,
        "fused_optimizers": fused_adam(hp, args.device),
        "cudnn_benchmark": recipe.cudnn_benchmark(args),
        "progress_bar": args.progress_bar,
        "warmup": args.warmup,
        "steps": steps,
        "fit": fit,
        "reference": ref,
        "time_ratio": fit["mean_step_s"] / ref["mean_step_s"],
        "time_ratio_median": fit["median_step_s"] / ref["median_step_s"],
        "rounds": rounds,
    }


# ---------------------------------------------------------------------------------------------
# Data loader alone


def image_folder(datamodule: ImageDataModule, workdir: Path) -> tuple[Path, str]:
    """An ImageFolder root of the same images as files: pokemon.zip extracted, the extracted folder
    itself, or (demo stand-in) the cached images written out as PNGs."""
    source = datamodule.find_source()
    if datamodule.name == "pokemon" and source is not None:
        if source.is_dir():
            return source, f"the extracted {source}"
        with zipfile.ZipFile(source) as archive:
            archive.extractall(workdir / "extracted")
        return workdir / "extracted" / "pokemon", f"{source.name} extracted"
    folder = workdir / "png" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(datamodule.images()):
        torchvision.io.write_png(image.clone(), str(folder / f"{i:06d}.png"))
    return folder.parent, "the demo images written as PNG files"


def decode_images_per_second(
    root: Path, image_size: int, batch_size: int, workers: int, device: torch.device, batches: int, warmup: int
) -> float:
    """d2l's loader: ImageFolder + Resize + ToTensor + Normalize(0.5, 0.5), shuffled, `workers`
    processes, a new epoch (and new workers) when the data runs out, each batch moved to `device`."""
    transform = torchvision.transforms.Compose(
        [
            torchvision.transforms.Resize((image_size, image_size)),
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize(0.5, 0.5),
        ]
    )
    dataset = torchvision.datasets.ImageFolder(str(root), transform=transform)
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, pin_memory=device.type == "cuda"
    )
    stream = (x for _ in itertools.count() for x, _ in loader)
    for x in itertools.islice(stream, warmup):
        x.to(device, non_blocking=True)
    synchronize(device)
    images, start = 0, time.perf_counter()
    for x in itertools.islice(stream, batches):
        images += x.to(device, non_blocking=True).shape[0]
    synchronize(device)
    return images / (time.perf_counter() - start)


def bench_loader(args, workdir: Path) -> dict:
    recipe = load_recipe("dcgan", "pokemon.yaml")
    datamodule, data = make_datamodule(recipe, args, args.batch_dcgan)
    cached = loader_images_per_second(datamodule, args.device, batches=args.loader_batches, warmup=2)
    root, files = image_folder(datamodule, workdir)
    decode = decode_images_per_second(
        root, datamodule.image_size, args.batch_dcgan, args.loader_workers, args.device, args.loader_batches, warmup=2
    )
    return {
        "data": data,
        "batch_size": args.batch_dcgan,
        "batches": args.loader_batches,
        "cached": {
            "images_per_s": cached,
            "num_workers": datamodule.num_workers,
            "what": "uint8 cache in memory, to the device, on_after_batch_transfer (to [-1, 1])",
        },
        "decode": {
            "images_per_s": decode,
            "num_workers": args.loader_workers,
            "what": f"ImageFolder + Resize + ToTensor + Normalize on {files}",
        },
        "speedup": cached / decode,
    }


# ---------------------------------------------------------------------------------------------
# FID


@torch.no_grad()
def bench_fid(args) -> dict:
    """Generate --fid_samples images (the DCGAN recipe's generator, eval mode, as FIDEvaluation.evaluate
    does), take their Inception features and the FID against real statistics computed beforehand."""
    weights = resolve_fid_weights(args.fid_weights, download=False)
    if weights is None:
        return {"skipped": "no weights: make them with `python scripts/convert_fid_weights.py`"}
    device = args.device
    recipe = load_recipe("dcgan", "pokemon.yaml")
    datamodule, data = make_datamodule(recipe, args, args.batch_dcgan)
    images = datamodule.images()
    real_images = min(len(images), args.fid_real_images or max(args.fid_samples, 2))
    layer = str(args.fid_feature)
    evaluator = Evaluator.from_weights(weights, ["fid"], layer, real_max_images=real_images, batch_size=args.fid_batch)
    evaluator.to(device)
    evaluator.load_reference(datamodule, progress=False)
    pl.seed_everything(0, verbose=False)
    module = make_module(recipe, args).to(device)
    warm_up = seeded_noise(min(args.fid_batch, args.fid_samples), module.latent_dim, 0).to(device)
    extract_features(evaluator.extractor, [module.sample(warm_up)], progress=False)  # warm-up, not timed
    synchronize(device)
    start = time.perf_counter()
    fake = generated_features(module, evaluator.extractor, args.fid_samples, 0, args.fid_batch, progress=False)
    synchronize(device)
    features_done = time.perf_counter()
    reference = evaluator.reference
    fid = frechet_distance(reference.mean, reference.cov, *feature_statistics(fake[layer]))
    synchronize(device)
    end = time.perf_counter()
    features_s, compute_s = features_done - start, end - features_done
    scale = FID_REFERENCE_SAMPLES / args.fid_samples
    return {
        "data": data,
        "weights": weights,
        "real_images": real_images,
        "num_samples": args.fid_samples,
        "batch_size": args.fid_batch,
        "feature": args.fid_feature,
        "seconds": end - start,
        "generate_and_features_s": features_s,
        "compute_s": compute_s,
        "images_per_s": args.fid_samples / features_s,
        "fid": fid,
        "seconds_10k": features_s * scale + compute_s,
        "seconds_10k_is": "measured"
        if args.fid_samples == FID_REFERENCE_SAMPLES
        else (
            f"extrapolated from {args.fid_samples} samples: generation and features x {scale:g}, plus the "
            "measured compute()"
        ),
    }


# ---------------------------------------------------------------------------------------------
# Targets and tables


#: Targets judged when no --target is given: the fit path within 10% of the plain loop's time per step.
DEFAULT_TARGETS = ("dcgan.time_ratio<=1.10", "wgan_gp.time_ratio<=1.10")
TARGET = re.compile(r"^(?P<part>\w+)\.(?P<key>[\w.]+)(?P<op><=|>=)(?P<bound>[0-9.eE+-]+)$")


def parse_target(text: str) -> dict:
    """'dcgan.fit.images_per_s>=40000' -> {part, key, op, bound}; ValueError on anything else."""
    match = TARGET.match(text.replace(" ", ""))
    if match is None:
        raise ValueError(
            f"--target {text!r}: expected PART.KEY<=NUMBER or PART.KEY>=NUMBER, e.g. dcgan.time_ratio<=1.1"
        )
    return match.groupdict() | {"bound": float(match["bound"])}


def targets(results: dict, wanted: list[str]) -> list[dict]:
    """Each target of `wanted` whose part was measured, with the measured value and whether it is met."""
    rows = []
    for target in map(parse_target, wanted):
        part, key, op, bound = target["part"], target["key"], target["op"], target["bound"]
        value = _dig(results.get(part, {}), tuple(key.split(".")))
        if part not in results or "skipped" in results[part] or value is None:
            continue
        met = value <= bound if op == "<=" else value >= bound
        rows.append({"part": part, "measure": key, "target": f"{key} {op} {bound:,g}", "value": value, "met": met})
    return rows


def _dig(d: dict, keys: tuple):
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    return d


def table_rows(results: dict) -> list[list[str]]:
    """[measurement, fit path, reference, time_ratio, target] rows of the summary table."""
    target_of = {row["part"]: f"{row['target']}: {'met' if row['met'] else 'NOT met'}" for row in results["targets"]}
    rows = []
    parts = (
        ("dcgan", "DCGAN", "images/s"),
        ("dcgan_bf16", "DCGAN bf16", "images/s"),
        ("wgan_gp", "WGAN-GP", "generator it/s"),
    )
    for part, model, unit in parts:
        r = results.get(part)
        if r is None:
            continue
        if "skipped" in r:
            rows.append([f"{model}: skipped ({r['skipped']})", "", "", "", ""])
            continue
        key = "images_per_s" if unit == "images/s" else "gen_it_per_s"
        model = model.split(" ")[0]
        critic = f", n_critic {r['n_critic']}" if r["n_critic"] > 1 else ""
        label = (
            f"{model} {r['data'].split(' ')[0]} {r['image_size']}px, batch {r['batch_size']}{critic}, "
            f"{r['precision']}: {unit}"
        )
        rows.append(
            [
                label,
                number(r["fit"][key]),
                number(r["reference"][key]),
                f"{r['time_ratio']:.3f} (median {r['time_ratio_median']:.3f})",
                target_of.get(part, ""),
            ]
        )
    if "loader" in results:
        r = results["loader"]
        rows.append(
            [
                f"data loader, {r['data'].split(' ')[0]}, batch {r['batch_size']}: images/s (fit path: uint8 cache, "
                f"{r['cached']['num_workers']} workers; reference: decode files, {r['decode']['num_workers']} workers)",
                number(r["cached"]["images_per_s"]),
                number(r["decode"]["images_per_s"]),
                f"{1 / r['speedup']:.3f}",
                "",
            ]
        )
    if "fid" in results:
        r = results["fid"]
        if "skipped" in r:
            rows.append([f"FID: skipped ({r['skipped']})", "", "", "", ""])
        else:
            how = "measured" if r["seconds_10k_is"] == "measured" else f"extrapolated from {r['num_samples']:,} samples"
            if r["feature"] != 2048:
                how += f", Inception feature {r['feature']}: a quick check, not FID"
            rows.append(
                [
                    f"FID of 10,000 samples, s ({how}; {number(r['images_per_s'])} images/s, "
                    f"compute() {r['compute_s']:.2f} s)",
                    number(r["seconds_10k"]),
                    "",
                    "",
                    target_of.get("fid", ""),
                ]
            )
    return rows


def number(x: float) -> str:
    """Three significant digits at least, thousands separated: 41,237 / 12.3 / 0.118."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


HEADER = ["measurement", "fit path", "reference", "time_ratio", "target"]


def markdown_table(results: dict) -> str:
    st = results["settings"]
    lines = [
        f"Machine: {machine_line(results['machine'])}. Time per generator step over {st['steps']} steps "
        f"(WGAN-GP: {st['steps_wgan']}) after {st['warmup']} warm-up steps, best of {st['rounds']} rounds; "
        "time_ratio = fit path / reference (mean step time).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * 3 + ["---"]) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines) + "\n"


def text_table(results: dict) -> str:
    rows = [HEADER, *table_rows(results)]
    widths = [min(max(len(row[i]) for row in rows), 90) for i in range(len(HEADER))]
    out = [machine_line(results["machine"])]
    for row in rows:
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(out)


def machine_line(m: dict) -> str:
    """One line naming the machine and the software, for both tables."""
    return (
        f"{m['name']} ({m['device']}), torch {m['torch']}, pytorch-lightning {m['lightning']}, "
        f"torch threads: {m['threads']}"
    )


def machine(device: torch.device) -> dict:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
            name = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        name = f"{name}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} CPUs"
    return {
        "name": name,
        "device": str(device),
        "torch": torch.__version__,
        "lightning": pl.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }


def write_json(results: dict, path: Path) -> None:
    """Written to a temp file beside `path`, then renamed: never half a file."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], required=True)
    p.add_argument("--out", type=Path, default=None, help="JSON file of all results")
    p.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="also print (or write to FILE) a markdown table for the README",
    )
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--steps", type=int, default=None, help="timed generator steps (default: cuda 200, cpu 20)")
    p.add_argument("--steps_wgan", type=int, default=None, help="timed WGAN-GP generator steps (default: --steps)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first, >= 1 (default: cuda 20, cpu 3)")
    p.add_argument("--rounds", type=int, default=2, help="fit/reference rounds; the best of each is reported")
    p.add_argument("--batch_dcgan", type=int, default=256)
    p.add_argument("--batch_bf16", type=int, default=1024)
    p.add_argument(
        "--bf16",
        choices=["auto", "on", "off"],
        default="auto",
        help="the bf16 DCGAN variant: auto runs it on cuda only",
    )
    p.add_argument("--batch_wgan", type=int, default=64)
    p.add_argument("--image_size", type=int, default=None, help="override the configs' 64 (e.g. 16 for a smoke test)")
    p.add_argument("--width", type=int, default=None, help="override the nets' width (e.g. 8 for a smoke test)")
    p.add_argument("--channels_last", action="store_true", help="both nets channels_last, in both loops")
    p.add_argument(
        "--cudnn_benchmark",
        action="store_true",
        help="torch.backends.cudnn.benchmark for both loops (also on when a config's trainer.benchmark is)",
    )
    p.add_argument(
        "--progress_bar",
        action="store_true",
        help="fit path with Lightning's progress bar (a user's default; off by default here)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--data_root", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--cache_dir", default=None, help="datamodules' cache folder (default: the project's)")
    p.add_argument("--demo_images", type=int, default=4096, help="size of the demo stand-in dataset")
    p.add_argument("--pool_batches", type=int, default=16, help="device-resident batches the reference loops cycle")
    p.add_argument("--loader_batches", type=int, default=40)
    p.add_argument("--loader_workers", type=int, default=4, help="workers of the decoding loader (d2l uses 4)")
    p.add_argument("--fid_samples", type=int, default=FID_REFERENCE_SAMPLES)
    p.add_argument(
        "--fid_real_images",
        type=int,
        default=None,
        help="real images in the (untimed) statistics (default: as many as --fid_samples)",
    )
    p.add_argument("--fid_batch", type=int, default=250)
    p.add_argument(
        "--fid_feature",
        type=int,
        default=2048,
        choices=[64, 192, 768, 2048],
        help="Inception layer: 2048 is FID; the others only for quick checks",
    )
    p.add_argument("--fid_weights", default=None, help="Inception weights file (default: found as training finds it)")
    p.add_argument(
        "--target",
        action="append",
        default=None,
        help="judge a result, e.g. 'dcgan.fit.images_per_s>=40000' (repeatable; default: "
        + ", ".join(DEFAULT_TARGETS)
        + ")",
    )
    args = p.parse_args(argv)
    for target in args.target or []:
        try:
            parse_target(target)
        except ValueError as error:
            p.error(str(error))
    args.only = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(args.only) - set(PARTS))
    if unknown:
        p.error(f"--only: unknown part(s) {unknown}; choose from {','.join(PARTS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available here; use --device cpu")
    cuda = args.device == "cuda"
    args.steps = args.steps or (200 if cuda else 20)
    args.steps_wgan = args.steps_wgan or args.steps
    args.warmup = args.warmup if args.warmup is not None else (20 if cuda else 3)
    if args.warmup < 1 or args.steps < 1 or args.steps_wgan < 1 or args.rounds < 1:
        p.error("--warmup, --steps, --steps_wgan and --rounds must be at least 1")
    if args.fid_samples < 2:
        p.error("--fid_samples must be at least 2")
    args.device = torch.device(args.device)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=PossibleUserWarning)  # "few workers", "few batches to log"
    warnings.filterwarnings("ignore", message=".*Tensor Cores.*")
    cuda = args.device.type == "cuda"
    bf16 = args.bf16 == "on" or (args.bf16 == "auto" and cuda)
    results: dict = {
        "machine": machine(args.device),
        "settings": {k: (str(v) if isinstance(v, (Path, torch.device)) else v) for k, v in vars(args).items()},
    }
    with tempfile.TemporaryDirectory(prefix="gan-benchmark-") as tmp:
        workdir = Path(tmp)
        if "dcgan" in args.only:
            dcgan = load_recipe("dcgan", "pokemon.yaml")
            results["dcgan"] = bench_gan(dcgan, args, args.batch_dcgan, False, args.steps, workdir / "dcgan")
            if bf16:
                results["dcgan_bf16"] = bench_gan(dcgan, args, args.batch_bf16, True, args.steps, workdir / "bf16")
            else:
                results["dcgan_bf16"] = {"skipped": "bf16 runs on cuda only (pass --bf16 on to force it)"}
        if "wgan" in args.only:
            wgan = load_recipe("wgan_gp", "flowers.yaml")
            results["wgan_gp"] = bench_gan(wgan, args, args.batch_wgan, False, args.steps_wgan, workdir / "wgan")
        if "loader" in args.only:
            print("[benchmark] data loader", file=sys.stderr, flush=True)
            results["loader"] = bench_loader(args, workdir / "loader")
        if "fid" in args.only:
            print("[benchmark] FID", file=sys.stderr, flush=True)
            results["fid"] = bench_fid(args)
    results["targets"] = targets(results, args.target or list(DEFAULT_TARGETS))
    results["markdown"] = markdown_table(results)
    if args.out is not None:
        write_json(results, args.out)
    print(text_table(results))
    if args.markdown == "-":
        print()
        print(results["markdown"], end="")
    elif args.markdown:
        Path(args.markdown).write_text(results["markdown"])
    return results
