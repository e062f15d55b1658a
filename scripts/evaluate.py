"""Metrics of trained generators against their dataset: FID, KID, IS, precision/recall/density/coverage.

    python scripts/evaluate.py --run runs/pokemon/version_0 --metrics all
    python scripts/evaluate.py --ckpt runs/mnist/version_0/checkpoints/best.ckpt --split test
    python scripts/evaluate.py --help

See gan_lightning/metrics/command.py.
"""

import sys

from gan_lightning.metrics.command import main

if __name__ == "__main__":
    sys.exit(main())
