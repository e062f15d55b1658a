"""Write `report.html` for a run folder: one self-contained page (images embedded, no network needed).

    python scripts/report.py runs/demo/version_0
    python scripts/report.py runs/pokemon/version_2 --ckpt runs/pokemon/version_2/checkpoints/best.ckpt --data.root data

Curves and grids come from the run's files, so this works for a run that crashed or is still going.
Real vs fake and the latent walk need a checkpoint (default: checkpoints/last.ckpt) and the run's
dataset (from its config.yaml; any --data.* option overrides it, e.g. --data.root when the data moved);
without them the page says what is missing. Training writes the same page when it ends.
"""

import argparse
import sys
from pathlib import Path

from gan_lightning.visuals.grid_files import NoGridsError, grid_files
from gan_lightning.visuals.report import write_report
from gan_lightning.visuals.run_images import PictureSettings, pictures_from_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a run folder, runs/<name>/version_N")
    parser.add_argument(
        "--ckpt", type=Path, help="checkpoint for the generator pictures (default: checkpoints/last.ckpt)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images and the real ones chosen")
    parser.add_argument("--device", default="cpu")
    args, overrides = parser.parse_known_args(argv)
    unknown = [arg for arg in overrides if arg.startswith("--") and not arg.startswith("--data.")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (only --data.* options go to the run's config)")
    try:
        grid_files(args.run_dir)  # a folder without grids is not a run: say so before anything is made
    except NoGridsError as error:
        print(f"report.py: {error}", file=sys.stderr)
        return 2
    ckpt = args.ckpt or args.run_dir / "checkpoints" / "last.ckpt"
    pictures = pictures_from_files(args.run_dir, ckpt, overrides, PictureSettings(seed=args.seed), args.device)
    for reason in pictures.missing:
        print(f"report.py: {reason}", file=sys.stderr)
    print(f"wrote {write_report(args.run_dir, pictures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
