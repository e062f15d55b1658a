"""The evaluate command (scripts/evaluate.py): metrics of trained generators against their dataset.

    python scripts/evaluate.py --run runs/pokemon/version_0                   # best.ckpt and last.ckpt
    python scripts/evaluate.py --ckpt runs/mnist/version_0/checkpoints/last.ckpt --split test --metrics fid,kid
    python scripts/evaluate.py --config configs/mnist.yaml --versus_split test --data.root data   # a split vs another

The reference is the config's dataset (a run folder's config.yaml, or --config), built as fit.py builds it
(gan_lightning.config.build_from_config; `--data.*` overrides pass through, e.g. --data.root DIR), on its own
split unless --split names another. Each evaluation prints a table and appends one JSON line, the numbers
with their protocol, to <run>/metrics.jsonl (or --out).
"""

import argparse
import inspect
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from gan_lightning.errors import UserError, debugging
from gan_lightning.gans.loading import import_gan_modules, load_gan, read_checkpoint
from gan_lightning.metrics.evaluation import Evaluator
from gan_lightning.metrics.inception import POOL_LAYERS
from gan_lightning.metrics.results import append_jsonl, format_table
from gan_lightning.metrics.scores import METRICS, ScoreSettings, parse_metrics
from gan_lightning.metrics.weights import no_weights_message, resolve_fid_weights

NAME = "evaluate.py"


class EvaluationError(UserError, ValueError):
    """Bad input to the evaluate command: the message says what is wrong and what to do."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=NAME, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=Path, help="a run folder: evaluates its checkpoints/best.ckpt and last.ckpt")
    what.add_argument("--ckpt", type=Path, help="one checkpoint (the generator's EMA copy when it has one)")
    what.add_argument("--versus_split", help="no generator: this split of the config's dataset against the reference")
    parser.add_argument("--config", type=Path, help="training config (default: the run folder's config.yaml)")
    parser.add_argument("--split", help="reference split, where the dataset has several (train, test, all)")
    parser.add_argument("--metrics", default="fid,kid", help=f"comma-separated: {', '.join(METRICS)}; prdc; all")
    parser.add_argument("--num", type=int, default=10_000, help="generated samples (or images of --versus_split)")
    parser.add_argument("--real_max_images", type=int, default=50_000, help="reference images (fixed random subset)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed: the training callback's fid.latent_seed")
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--weights_path", help="Inception weights file (default: found as training finds it)")
    parser.add_argument("--feature", default="2048", choices=POOL_LAYERS, help="2048 (pool3) is the standard")
    parser.add_argument("--kid_subsets", type=int, default=ScoreSettings.kid_subsets)
    parser.add_argument("--kid_subset_size", type=int, default=ScoreSettings.kid_subset_size)
    parser.add_argument("--out", type=Path, help="metrics.jsonl to append to (default: <run>/metrics.jsonl)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first: the module defining your own GANModule subclass (repeatable)",
    )
    return parser


def run_folder_of(checkpoint: Path) -> Path:
    """<run> for <run>/checkpoints/x.ckpt, else the checkpoint's own folder."""
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent


def checkpoints_and_config(args: argparse.Namespace) -> tuple[list[Path], Path, Path | None]:
    """(checkpoints to evaluate, config file, run folder for metrics.jsonl), checked before any work starts."""
    if args.run is not None:
        if not args.run.is_dir():
            raise EvaluationError(f"--run {args.run}: no such folder")
        found = [args.run / "checkpoints" / name for name in ("best.ckpt", "last.ckpt")]
        checkpoints = [path for path in found if path.is_file()]
        if not checkpoints:
            raise EvaluationError(f"--run {args.run}: the run folder holds no checkpoints/best.ckpt or last.ckpt")
        run = args.run
    elif args.ckpt is not None:
        checkpoints, run = [args.ckpt], run_folder_of(args.ckpt)
    else:
        checkpoints, run = [], None
    for path in checkpoints:
        read_checkpoint(path, mmap=True)  # a missing, truncated or foreign file fails here, before any work
    config = args.config or (run / "config.yaml" if run is not None else None)
    if config is None or not config.is_file():
        where = f"{config} does not exist" if config is not None else "no run folder"
        raise EvaluationError(f"no config to build the reference dataset from ({where}); pass --config FILE")
    return checkpoints, config, run


def build_reference_data(config: Path, overrides: list[str], split: str | None):
    """The config's datamodule (as fit.py builds it), on `split` when given, with its images ready."""
    from gan_lightning.config import build_from_config  # LightningCLI: imported only when needed

    _, datamodule, _ = build_from_config(config, *overrides)
    if split is not None:
        if "split" not in inspect.signature(type(datamodule).__init__).parameters:
            raise EvaluationError(f"--split {split}: {type(datamodule).__name__} has one split; leave --split out")
        _, datamodule, _ = build_from_config(config, *overrides, "--data.split", split)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def evaluation_record(subject: str, result: dict, checkpoint: Path | None, seconds: float) -> dict:
    record = {"subject": subject, "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if checkpoint is not None:
        state = read_checkpoint(checkpoint, mmap=True)
        record |= {"checkpoint": str(checkpoint), "step": int(state["global_step"]), "epoch": int(state["epoch"])}
    return record | result | {"seconds": round(seconds, 2)}


def evaluate(args: argparse.Namespace, overrides: list[str]) -> list[dict]:
    """Run the evaluations `args` ask for; returns their records (each also printed and appended)."""
    try:
        names = parse_metrics(args.metrics)
    except ValueError as error:
        raise EvaluationError(f"--metrics {args.metrics}: {error}") from error
    if args.num < 2:
        raise EvaluationError("--num must be at least 2")
    checkpoints, config, run = checkpoints_and_config(args)
    datamodule = build_reference_data(config, overrides, args.split)
    weights = resolve_fid_weights(args.weights_path, download=True, warn=False)
    if weights is None:
        raise EvaluationError(no_weights_message(download=True).replace("Training goes on without FID. ", ""))
    progress = not args.no_progress
    settings = ScoreSettings(kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size)
    evaluator = Evaluator.from_weights(
        weights,
        names,
        args.feature,
        real_max_images=args.real_max_images,
        batch_size=args.batch_size,
        settings=settings,
    ).to(args.device)
    reference_seconds = evaluator.load_reference(datamodule, progress)
    print(f"reference: {evaluator.reference_info['n_real']} images of {datamodule.name} ({reference_seconds:.1f} s)")
    out = args.out or (run / "metrics.jsonl" if run is not None else None)
    records = []
    for checkpoint in checkpoints or [None]:
        start = time.perf_counter()
        if checkpoint is None:
            other = build_reference_data(config, overrides, args.versus_split)
            result = evaluator.evaluate_images(other.images(), args.num, progress)
            subject = f"{args.versus_split} split of {datamodule.name} against the reference"
        else:
            module = load_gan(checkpoint, map_location=args.device)
            result = evaluator.evaluate_generator(module, args.num, args.seed, progress)
            generator = "EMA generator" if getattr(module, "generator_ema", None) is not None else "generator"
            result["protocol"]["generator"] = generator
            subject = f"{checkpoint} ({generator})"
        record = evaluation_record(subject, result, checkpoint, time.perf_counter() - start)
        print(format_table(record))
        if out is not None:
            append_jsonl(out, record)
            print(f"  appended to {out}")
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    """Entry point of scripts/evaluate.py. Bad input prints one line and exits 2, having written nothing."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    unknown = [arg for arg in rest if arg.startswith("--") and not arg.startswith("--data.")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (only --data.* overrides pass to the config)")
    try:
        import_gan_modules(args.imports)
        evaluate(args, rest)
    except (UserError, FileNotFoundError) as error:
        if debugging():
            raise
        print(f"{NAME}: {error}", file=sys.stderr)
        return 2
    return 0
