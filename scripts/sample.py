"""Draw samples from a trained GAN: a grid, separate PNGs, latent walks, nearest real neighbours, real vs fake.

    python scripts/sample.py --ckpt runs/pokemon/version_0/checkpoints/best.ckpt --num 64 --out grid.png
    python scripts/sample.py --ckpt last.ckpt --num 100 --out samples/ --separate --seed 1 --device cuda
    python scripts/sample.py --ckpt last.ckpt --interpolate 10 --num 8 --out walk.png   # also walk.gif
    python scripts/sample.py --ckpt last.ckpt --nearest 8 --out nearest.png [--data.root DIR]
    python scripts/sample.py --ckpt last.ckpt --real_vs_fake --num 32 --out real_vs_fake.png [--data.root DIR]

Uses the EMA generator when the run kept one. The checkpoint is loaded with weights_only=True.
Every mode is seeded (--seed): the same command writes the same files.
--nearest and --real_vs_fake take the real images from the run's dataset, built from the resolved
config.yaml in the checkpoint's run folder (or --config) as fit.py builds it; any --data.* option
overrides that config (e.g. --data.root when the data has moved).
A checkpoint of your own GANModule subclass needs the module that defines it: --import my_project.my_gan.
"""

import argparse
import sys
from pathlib import Path

import torch

from gan_lightning.errors import UserError
from gan_lightning.gans.loading import import_gan_modules, load_gan
from gan_lightning.images import make_grid, save_png
from gan_lightning.visuals.animation import AnimationSettings, write_gif
from gan_lightning.visuals.latent_walk import walk_images
from gan_lightning.visuals.neighbours import inception_space, neighbours_figure, pixel_space
from gan_lightning.visuals.panels import as_uint8_images, save_figure
from gan_lightning.visuals.real_images import dataset_images, real_subset, run_config_of_checkpoint
from gan_lightning.visuals.run_images import generated, real_vs_fake_figure, walk_frames, walk_grid

DEFAULT_NUM = {"grid": 64, "interpolate": 8, "nearest": None, "real_vs_fake": 32}
WALK_TIMING = AnimationSettings(frame_seconds=0.12, last_frame_seconds=0.12)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The script's own options, and the --data.* overrides for the run's config."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="checkpoint file (.ckpt)")
    parser.add_argument("--out", required=True, help="PNG file (a folder with --separate)")
    parser.add_argument(
        "--num", type=int, help="samples (grid: 64), walks (--interpolate: 8), per side (--real_vs_fake: 32)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--separate", action="store_true", help="write one PNG per sample into --out")
    mode.add_argument("--interpolate", type=int, metavar="K", help="latent walks of K steps (slerp): PNG grid + GIF")
    mode.add_argument("--nearest", type=int, metavar="N", help="N samples, each beside its nearest real images")
    mode.add_argument("--real_vs_fake", action="store_true", help="real images beside generated ones")
    parser.add_argument("--nrow", type=int, default=8, help="images per grid row")
    parser.add_argument("--seed", type=int, default=0, help="noise (and real-image choice) seed: same seed, same files")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--neighbours", type=int, default=5, help="--nearest: real images shown per sample")
    parser.add_argument(
        "--max_real", type=int, default=1000, help="--nearest: search a seeded random subset of this many real images"
    )
    parser.add_argument("--fid_weights", help="--nearest: Inception weights file (default: found as FID finds it)")
    parser.add_argument("--config", help="the run's config.yaml (default: the one in the checkpoint's run folder)")
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first: the module defining your own GANModule subclass (repeatable; "
        "a checkpoint alone never makes sample.py import code)",
    )
    args, rest = parser.parse_known_args(argv)
    unknown = [arg for arg in rest if arg.startswith("--") and not arg.startswith("--data.")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (only --data.* options go to the run's config)")
    if rest and not (args.nearest or args.real_vs_fake):
        parser.error("--data.* options only apply to --nearest and --real_vs_fake, which read real images")
    mode_name = next((m for m in ("interpolate", "nearest", "real_vs_fake") if getattr(args, m)), "grid")
    if args.num is None:
        args.num = DEFAULT_NUM[mode_name]
    if args.interpolate is not None and args.interpolate < 2:
        parser.error(f"--interpolate K needs K >= 2 (a walk's two ends), got {args.interpolate}")
    if args.nearest is not None and args.nearest < 1:
        parser.error(f"--nearest N needs N >= 1, got {args.nearest}")
    if args.num is not None and args.num < 1:
        parser.error("--num must be at least 1")
    if args.neighbours < 1 or args.max_real < 1:
        parser.error("--neighbours and --max_real must be at least 1")
    return args, rest


def real_images(args: argparse.Namespace, overrides: list[str]) -> torch.Tensor:
    config = Path(args.config) if args.config else run_config_of_checkpoint(args.ckpt)
    return dataset_images(config, *overrides)


def main(argv: list[str] | None = None) -> int:
    args, overrides = parse_args(argv)
    out = Path(args.out)
    try:
        # Everything that can fail on bad input (checkpoint, config, dataset) before any file is written.
        import_gan_modules(args.imports)
        module = load_gan(args.ckpt, map_location=args.device)
        reals = real_images(args, overrides) if (args.nearest or args.real_vs_fake) else None
    except UserError as error:  # a bad checkpoint, no run config, data not found or damaged
        print(f"sample.py: {error}", file=sys.stderr)
        return 2
    if args.interpolate:
        walks = walk_images(module, args.num, args.interpolate, args.seed, args.batch_size)
        save_figure(walk_grid(walks), out)
        gif = out.with_suffix(".gif")
        write_gif(walk_frames(walks), gif, WALK_TIMING)
        print(f"wrote {args.num} latent walks of {args.interpolate} steps to {out} and {gif}")
    elif args.nearest:
        try:
            space = inception_space(args.fid_weights, args.device)
        except FileNotFoundError as error:  # a --fid_weights file that is not there
            print(f"sample.py: {error}", file=sys.stderr)
            return 2
        if space is None:
            print("sample.py: no FID Inception weights found; nearest neighbours in pixel space", file=sys.stderr)
            space = pixel_space()
        pool = real_subset(reals, args.max_real, args.seed)
        samples = as_uint8_images(generated(module, args.nearest, args.seed, args.batch_size))
        figure, _ = neighbours_figure(samples, pool, space, args.neighbours, args.batch_size)
        save_figure(figure, out)
        print(f"wrote {args.nearest} samples beside their nearest of {len(pool)} real images ({space.name}) to {out}")
    elif args.real_vs_fake:
        save_figure(real_vs_fake_figure(module, reals, args.num, args.seed, args.nrow), out)
        print(f"wrote {args.num} real images beside {args.num} generated ones to {out}")
    elif args.separate:
        images = generated(module, args.num, args.seed, args.batch_size)
        for i, image in enumerate(images):
            save_png(make_grid(image[None], nrow=1), out / f"sample_{i:05d}.png")
        print(f"wrote {len(images)} PNGs to {out}/")
    else:
        save_png(make_grid(generated(module, args.num, args.seed, args.batch_size), nrow=args.nrow), out)
        print(f"wrote a grid of {args.num} samples to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
