"""FID of a trained generator against its dataset, or of one split of a dataset against another.

    python scripts/fid.py --config configs/mnist.yaml --root data --ckpt runs/mnist/version_0/checkpoints/last.ckpt
    python scripts/fid.py --config configs/mnist.yaml --root data --versus_split test     # MNIST train vs test

An alias of `scripts/evaluate.py --metrics fid` that keeps this script's flags (--root and --cache_dir stand
for --data.root and --data.cache_dir); every other flag is evaluate.py's (see `evaluate.py --help`).
"""

import sys

from gan_lightning.metrics.command import main

RENAMED = {"--root": "--data.root", "--cache_dir": "--data.cache_dir"}


def evaluate_arguments(argv: list[str]) -> list[str]:
    """This script's arguments as evaluate.py's."""
    return ["--metrics", "fid", *(RENAMED.get(arg, arg) for arg in argv)]


if __name__ == "__main__":
    sys.exit(main(evaluate_arguments(sys.argv[1:])))
