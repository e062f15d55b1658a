"""The results table: every recipe config trained at a stated budget, FID and KID of its final and best checkpoints.

    python scripts/results.py --data_root data --out results/ --jobs 2 --markdown results.md
    python scripts/results.py --only pokemon,pokemon_diffaug,pokemon_sn_hinge --seeds 0,1 ...   # the cures
    python scripts/results.py --device cuda --budget long ...                                    # on a GPU

Each row is one config (or a config with the overrides that define an arm, such as spectral norm and the
hinge loss on the Pokemon recipe) run through `scripts/fit.py` in a subprocess, exactly as a user runs it,
with only the budget, seed, data root, run folder and the FID protocol given on the command line. FID and
KID come from the run's own FID callback (`val/fid`, `val/kid`), which evaluates n generated samples
against n real images of the training split on the standard TF-Inception pool3 features at a few steps
and at the end; `best.ckpt` is the checkpoint of the evaluation with the lowest FID, so its numbers are
that evaluation's (scripts/evaluate.py gives the same numbers for it: tests/callbacks/test_fid.py).
Short budgets are called short: they show a run learning, not a published number.

Every run is kept under `--out/runs/`, and its summary under `--out/summaries/`, so a rerun reuses what
finished. The D(x) - D(G(z)) gap (train/D_x - train/D_G_z1, the discriminator's view before its update)
is summarised per quarter of the run: a gap that grows towards 1 is a discriminator memorising its data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan_lightning.files import atomic_write

REPO = Path(__file__).resolve().parents[2]
FIT = REPO / "scripts" / "fit.py"


@dataclass(frozen=True)
class Row:
    """One row of the table: a config, the overrides that define it, and its budget on each kind of device."""

    name: str
    config: str
    what: str
    cpu_budget: tuple[str, ...]  # fit.py overrides that set the run length (and FID cadence) on a CPU
    long_budget: tuple[str, ...]  # the same for --budget long (a GPU)
    overrides: tuple[str, ...] = ()
    data: str = "config"  # "config": the config's own datamodule under --data_root; "cifar_jpegs": see below
    needs: tuple[str, ...] = ()  # paths under --data_root; without them the row says "no data here"


# Pokemon on a 2-core CPU: ~9 s per step (batch 256, 64x64), so 5 of the recipe's 20 epochs (95 steps) per
# arm, FID at the end: enough to compare the arms early on, not to show memorisation.
POKEMON_CPU = ("--trainer.max_epochs", "5", "--fid.every_n_epochs", "5")

SN_HINGE = (
    "--model.init_args.loss",
    "hinge",
    "--model.init_args.discriminator_options",
    '{"width": 64, "first_layer_batch_norm": true, "init": "d2l", "spectral_norm": true}',  # pokemon.yaml's + SN
)
ROWS = {
    row.name: row
    for row in [
        Row("demo", "demo", "DCGAN, generated shapes 32x32", ("--trainer.max_steps", "3000",
            "--fid.every_n_steps", "1000"), ("--trainer.max_steps", "3000", "--fid.every_n_steps", "1000")),
        Row("mnist", "mnist", "DCGAN (upsample G, dropout D), MNIST 32x32",
            ("--trainer.max_epochs", "1", "--fid.every_n_epochs", "null", "--fid.every_n_steps", "468"),
            ("--trainer.max_epochs", "25"), needs=("MNIST",)),
        Row("fashion_mnist", "fashion_mnist", "DCGAN, Fashion-MNIST 32x32",
            ("--trainer.max_epochs", "1", "--fid.every_n_epochs", "null", "--fid.every_n_steps", "117"),
            ("--trainer.max_epochs", "20"), needs=("FashionMNIST",)),
        Row("pokemon", "pokemon", "DCGAN, d2l recipe, Pokemon 64x64", POKEMON_CPU,
            ("--trainer.max_epochs", "20"), needs=("pokemon.zip",)),
        Row("pokemon_diffaug", "pokemon_diffaug", "the d2l recipe + DiffAugment color,translation,cutout",
            POKEMON_CPU, ("--trainer.max_epochs", "20"), needs=("pokemon.zip",)),
        Row("pokemon_sn_hinge", "pokemon", "the d2l recipe + spectral norm on D + hinge loss",
            POKEMON_CPU, ("--trainer.max_epochs", "20"), overrides=SN_HINGE,
            needs=("pokemon.zip",)),
        Row("cifar10", "cifar10", "DCGAN simple nets (no BN), CIFAR-10 32x32 (JPEG copy, folder module)",
            ("--trainer.max_epochs", "2", "--fid.every_n_epochs", "1"), ("--trainer.max_epochs", "80"),
            data="cifar_jpegs", needs=("cifar10-jpeg-train.tar.gz",)),
        Row("flowers", "flowers", "WGAN-GP, MATLAB recipe, flowers 64x64",
            ("--trainer.max_steps", "300", "--fid.every_n_steps", "100"),
            ("--trainer.max_steps", "10000"), needs=("flower_photos.tgz",)),
        Row("celeba", "celeba", "DCGAN (paper variant), CelebA 64x64", ("--trainer.max_epochs", "1"),
            ("--trainer.max_epochs", "5"), needs=("celeba",)),
    ]
}  # fmt: skip


@dataclass
class Result:
    """One run: what was run, how long it took, and its numbers."""

    row: str
    seed: int
    command: list[str]
    status: str  # "done", "failed: ...", "no data here: ..."
    wall_s: float = 0.0
    steps: int = 0
    final: dict = field(default_factory=dict)  # {"step", "fid", "kid", "kid_std"}
    best: dict = field(default_factory=dict)
    gap_by_quarter: list[float] = field(default_factory=list)
    protocol: dict = field(default_factory=dict)


def data_root_for(row: Row, data_root: Path, workdir: Path) -> tuple[list[str], str | None]:
    """fit.py data overrides for `row`, or (…, the reason it cannot run here)."""
    missing = [p for p in row.needs if not (data_root / p).exists()]
    if missing:
        return [], f"no data here ({', '.join(missing)} not under {data_root})"
    if row.data == "cifar_jpegs":
        # The CIFAR-10 pickles are not on this machine; a JPEG copy of the training split is, and the
        # recipe's nets train on it through the folder module. Extracted once.
        folder = workdir / "cifar10-jpeg"
        if not (folder / "train").is_dir():
            with tarfile.open(data_root / "cifar10-jpeg-train.tar.gz") as archive:
                archive.extractall(workdir, filter="data")
        return ["--data", "gan_lightning.data.FolderDataModule", "--data.root", str(folder / "train"),
                "--data.image_size", "32"], None  # fmt: skip
    return ["--data.root", str(data_root)], None


def run_one(row: Row, seed: int, args: argparse.Namespace) -> Result:
    """Train (unless a finished summary exists) and summarise one run."""
    summary = args.out / "summaries" / f"{row.name}_seed{seed}.json"
    if summary.is_file() and not args.rerun:
        return Result(**json.loads(summary.read_text()))
    data, missing = data_root_for(row, args.data_root, args.out)
    budget = row.long_budget if args.budget == "long" else row.cpu_budget
    protocol = ["--fid.enabled", "true", "--fid.kid", "true", "--fid.num_samples", str(args.n),
                "--fid.real_max_images", str(args.n)]  # fmt: skip
    command = [
        sys.executable, str(FIT), "--config", str(REPO / "configs" / f"{row.config}.yaml"), *data, *row.overrides,
        *budget, *protocol, "--seed_everything", str(seed), "--name", f"{row.name}_seed{seed}",
        "--trainer.default_root_dir", str(args.out / "runs"), "--trainer.accelerator", args.accelerator,
        "--trainer.devices", "1", "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip
    if missing:
        return Result(row.name, seed, command, missing)
    log = args.out / "logs" / f"{row.name}_seed{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        return Result(row.name, seed, command, f"failed (rc {process.returncode}; see {log})", wall)
    result = summarise(row, seed, command, newest_run(args.out / "runs" / f"{row.name}_seed{seed}"), wall, args.n)
    with atomic_write(summary) as tmp:
        tmp.write_text(json.dumps(asdict(result), indent=2))
    return result


def newest_run(base: Path) -> Path:
    return max(base.glob("version_*"), key=lambda p: int(p.name.split("_")[1]))


def summarise(row: Row, seed: int, command: list[str], run: Path, wall: float, n: int) -> Result:
    """Final and best (lowest FID) evaluations, and the D(x) - D(G(z)) gap per quarter, from the event files."""
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    scalars = {tag: {p.step: p.value for p in events.Scalars(tag)} for tag in events.Tags()["scalars"]}
    fid, kid, kid_std = scalars["val/fid"], scalars.get("val/kid", {}), scalars.get("val/kid_std", {})
    at = lambda step: {"step": step, "fid": fid[step], "kid": kid.get(step), "kid_std": kid_std.get(step)}  # noqa: E731
    final, best = max(fid), min(fid, key=fid.get)
    d_x, d_g_z = scalars.get("train/D_x", {}), scalars.get("train/D_G_z1", {})
    gaps = [(step, d_x[step] - d_g_z[step]) for step in sorted(d_x) if step in d_g_z]
    quarters = [[g for s, g in gaps if q * (final / 4) <= s < (q + 1) * (final / 4)] for q in range(4)]
    protocol = {"reference": "train split", "n_real": n, "n_fake": n, "features": "TF-Inception pool3 (2048)",
                "run": str(run)}  # fmt: skip
    return Result(row.name, seed, command, "done", wall, final, at(final), at(best),
                  [statistics.fmean(q) if q else float("nan") for q in quarters], protocol)  # fmt: skip


def markdown(results: list[Result], args: argparse.Namespace) -> str:
    """One row per config: budget, seeds, wall time, and final and best FID and KID (mean ± std over seeds)."""
    lines = [
        f"Machine: {machine()}. FID and KID x 1000 of {args.n:,} samples against {args.n:,} training images "
        "(TF-Inception pool3); best = the evaluation with the lowest FID; mean ± std over seeds.",
        "",
        "| config | what | budget | seeds | wall per run | final FID | final KID×1000 | best FID (step) "
        "| best KID×1000 | D(x) − D(G(z)) by quarter |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in dict.fromkeys(r.row for r in results):
        row, runs = ROWS[name], [r for r in results if r.row == name]
        done = [r for r in runs if r.status == "done"]
        budget = " ".join(row.long_budget if args.budget == "long" else row.cpu_budget)
        if not done:
            lines.append(f"| `{row.config}` | {row.what} | {budget} | | | {runs[0].status} | | | | |")
            continue
        steps = done[0].steps
        short = " (short)" if args.budget != "long" and budget != " ".join(row.long_budget) else ""
        lines.append(
            f"| `{name}` | {row.what} | {steps:,} generator steps{short} | {len(done)} | "
            f"{statistics.fmean(r.wall_s for r in done) / 60:.1f} min | "
            f"{spread([r.final['fid'] for r in done])} | {spread([1000 * r.final['kid'] for r in done])} | "
            f"{spread([r.best['fid'] for r in done])} ({', '.join(str(r.best['step']) for r in done)}) | "
            f"{spread([1000 * r.best['kid'] for r in done])} | "
            f"{', '.join(f'{statistics.fmean(q):.2f}' for q in zip(*(r.gap_by_quarter for r in done)))} |"
        )
    return "\n".join(lines) + "\n"


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}"


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_root", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--only", default=",".join(ROWS), help=f"comma-separated rows of: {', '.join(ROWS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds of every row (e.g. 0,1,2)")
    parser.add_argument("--seeds_of", action="append", default=[], metavar="ROW=SEEDS",
                        help="seeds of one row, e.g. mnist=0,1,2 (repeatable)")  # fmt: skip
    parser.add_argument("--n", type=int, default=1000, help="generated samples and real images per evaluation")
    parser.add_argument("--budget", choices=["cpu", "long"], default="cpu")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--jobs", type=int, default=1, help="runs at the same time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--rerun", action="store_true", help="train again even when a summary exists")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    unknown = [name for name in args.only.split(",") if name not in ROWS]
    if unknown:
        parser.error(f"--only: unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    args.accelerator = "gpu" if args.device == "cuda" else "cpu"
    return args


def main(argv: list[str] | None = None) -> list[Result]:
    args = parse_args(argv)
    seeds_of = {k: v for k, v in (item.split("=", 1) for item in args.seeds_of)}
    plan = [
        (ROWS[name], int(seed)) for name in args.only.split(",") for seed in seeds_of.get(name, args.seeds).split(",")
    ]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each run is its own fit.py process
        results = list(pool.map(lambda job: run_one(*job, args), plan))
    for result in results:
        print(f"{result.row} seed {result.seed}: {result.status}, {result.wall_s / 60:.1f} min, final {result.final}")
    table = markdown(results, args)
    print(table)
    if args.markdown:
        with atomic_write(args.markdown) as tmp:
            tmp.write_text(table)
    if args.json:
        with atomic_write(args.json) as tmp:
            tmp.write_text(json.dumps({"machine": machine(), "results": [asdict(r) for r in results]}, indent=2))
    return results
