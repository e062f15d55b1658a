"""Make `samples/progress.gif` (and `progress.mp4`) of a run's fixed-noise grids, the generator step on each frame.

    python scripts/animate.py runs/demo/version_0
    python scripts/animate.py runs/pokemon/version_2 --max_frames 50 --frame_seconds 0.2 --no_mp4

Works on any run folder with grids in samples/: finished, crashed, or still training (run it again
later for the newer grids). Training writes the same files when it ends.
"""

import argparse
import sys

from gan_lightning.visuals.animation import AnimationSettings, write_progress_animation
from gan_lightning.visuals.grid_files import NoGridsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a run folder, runs/<name>/version_N")
    defaults = AnimationSettings()
    parser.add_argument("--max_frames", type=int, default=defaults.max_frames, help="at most this many, evenly spaced")
    parser.add_argument("--frame_seconds", type=float, default=defaults.frame_seconds)
    parser.add_argument("--last_frame_seconds", type=float, default=defaults.last_frame_seconds)
    parser.add_argument("--no_mp4", action="store_true", help="only the GIF")
    args = parser.parse_args(argv)
    if args.max_frames < 2:
        parser.error(f"--max_frames must be at least 2 (the first and the last grid), got {args.max_frames}")
    if args.frame_seconds <= 0 or args.last_frame_seconds <= 0:
        parser.error("--frame_seconds and --last_frame_seconds must be positive")
    settings = AnimationSettings(args.max_frames, args.frame_seconds, args.last_frame_seconds)
    try:
        written = write_progress_animation(args.run_dir, settings, mp4=not args.no_mp4)
    except NoGridsError as error:
        print(f"animate.py: {error}", file=sys.stderr)
        return 2
    print("wrote " + " and ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
