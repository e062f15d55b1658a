"""FID of a trained generator against its dataset, or of one split of a dataset against another.

    python scripts/fid.py --config configs/mnist.yaml --root data --ckpt runs/mnist/version_0/checkpoints/last.ckpt
    python scripts/fid.py --config configs/mnist.yaml --root data --versus_split test     # MNIST train vs test

The reference is the config's dataset (its `data:` section: dataset, image size, channels), with
statistics cached where training caches them. FID is the project's: torchmetrics on the standard
TF-Inception pool3 features (see gan_lightning/metrics/fid.py); weights as in training
(--weights_path, $GAN_LIGHTNING_FID_WEIGHTS, or the converted file's default place).
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import yaml

import gan_lightning.data as datasets
from gan_lightning.gans.loading import CheckpointError, load_gan
from gan_lightning.metrics.fid import (
    build_fid_metric,
    compute_fid,
    load_or_compute_real_stats,
    statistics_subset,
    to_fid_input,
)


def build_datamodule(config: Path, root: str | None, cache_dir: str | None, **overrides) -> datasets.ImageDataModule:
    """The datamodule of a config's `data:` section; only gan_lightning.data classes are accepted."""
    data = yaml.safe_load(config.read_text()).get("data") or {}
    name = str(data.get("class_path", "")).rsplit(".", 1)[-1]
    cls = getattr(datasets, name, None)
    if not (isinstance(cls, type) and issubclass(cls, datasets.ImageDataModule)):
        raise SystemExit(f"fid.py: {config} has no gan_lightning.data datamodule under data.class_path")
    init = dict(data.get("init_args") or {}) | {k: v for k, v in (("root", root), ("cache_dir", cache_dir)) if v}
    return cls(**(init | overrides))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--config", type=Path, required=True, help="a training config; its data: section is the reference"
    )
    parser.add_argument("--root", help="overrides data.root")
    parser.add_argument("--cache_dir", help="overrides data.cache_dir")
    other = parser.add_mutually_exclusive_group(required=True)
    other.add_argument("--ckpt", help="a checkpoint: FID of its generator's samples (EMA when kept)")
    other.add_argument("--versus_split", help="FID of this split of the same dataset (e.g. test) against the reference")
    parser.add_argument("--num", type=int, default=10_000, help="generated samples, or images of --versus_split")
    parser.add_argument("--real_max_images", type=int, default=50_000, help="reference images (a fixed random subset)")
    parser.add_argument("--weights_path", help="FID Inception weights file")
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0, help="noise seed for --ckpt")
    parser.add_argument(
        "--feature", type=int, default=2048, help="Inception layer: 2048 is FID; 64/192/768 quick checks"
    )
    args = parser.parse_args(argv)

    reference = build_datamodule(args.config, args.root, args.cache_dir)
    reference.prepare_data()
    reference.setup("fit")
    metric = build_fid_metric(args.weights_path, args.device, download=True, feature=args.feature)
    if metric is None:
        return 2
    start = time.perf_counter()
    cache_file = Path(reference.cache_dir) / "fid" / f"{reference.cache_key}.pt"
    load_or_compute_real_stats(metric, reference.images(), cache_file, args.batch_size, args.real_max_images)
    real_seconds = time.perf_counter() - start

    start = time.perf_counter()
    if args.ckpt:
        try:
            module = load_gan(args.ckpt, map_location=args.device)
        except CheckpointError as error:
            print(f"fid.py: {error}", file=sys.stderr)
            return 2
        batches = module.sample_seeded(args.num, args.seed, args.batch_size)
        label = f"{args.num} samples of {args.ckpt}"
    else:
        other = build_datamodule(args.config, args.root, args.cache_dir, split=args.versus_split)
        other.prepare_data()
        other.setup("fit")
        images = other.images()[statistics_subset(len(other.images()), args.num)]
        batches = iter(images.split(args.batch_size))
        label = f"{len(images)} images of the {args.versus_split} split"
    with torch.no_grad():
        for images in batches:
            metric.update(to_fid_input(images).to(args.device), real=False)
    fid = compute_fid(metric)
    seconds = time.perf_counter() - start
    reference_size = int(metric.real_features_num_samples)
    print(f"FID {fid:.4f}: {label} against {reference_size} images of {reference.name} ({args.config.name})")
    print(
        f"time: reference statistics {real_seconds:.1f} s (cached after the first run), "
        f"the rest {seconds:.1f} s, on {args.device}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
