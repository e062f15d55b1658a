"""Draw samples from a trained GAN.

    python scripts/sample.py --ckpt runs/pokemon/version_0/checkpoints/best.ckpt --num 64 --out grid.png
    python scripts/sample.py --ckpt last.ckpt --num 100 --out samples/ --separate --seed 1 --device cuda

Uses the EMA generator when the run kept one. The checkpoint is loaded with weights_only=True.
A checkpoint of your own GANModule subclass needs the module that defines it: --import my_project.my_gan.
"""

import argparse
import sys
from pathlib import Path

import torch

from gan_lightning.gans.loading import CheckpointError, import_gan_modules, load_gan
from gan_lightning.images import make_grid, save_png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="checkpoint file (.ckpt)")
    parser.add_argument("--num", type=int, default=64, help="number of samples")
    parser.add_argument("--out", required=True, help="PNG file for one grid, or a folder with --separate")
    parser.add_argument("--separate", action="store_true", help="write one PNG per sample into --out")
    parser.add_argument("--nrow", type=int, default=8, help="images per grid row")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: same seed, same samples")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first: the module defining your own GANModule subclass (repeatable; "
        "a checkpoint alone never makes sample.py import code)",
    )
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error("--num must be at least 1")
    try:
        import_gan_modules(args.imports)
        module = load_gan(args.ckpt, map_location=args.device)
    except CheckpointError as error:
        print(f"sample.py: {error}", file=sys.stderr)
        return 2
    images = torch.cat([batch.cpu() for batch in module.sample_seeded(args.num, args.seed, args.batch_size)])
    out = Path(args.out)
    if args.separate:
        for i, image in enumerate(images):
            save_png(make_grid(image[None], nrow=1), out / f"sample_{i:05d}.png")
        print(f"wrote {len(images)} PNGs to {out}/")
    else:
        save_png(make_grid(images, nrow=args.nrow), out)
        print(f"wrote a grid of {len(images)} samples to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
