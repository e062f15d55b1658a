"""The fixed-noise grids a run leaves in `<run>/samples/step_XXXXXXXX.png`, and a choice among them.

The PNG files are the source of truth for the animation: they are written as training goes, so a run
that crashed or is still running has them, and a resumed run adds to the same folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gan_lightning.errors import UserError

GRID_NAME = re.compile(r"step_(\d+)\.png")


class NoGridsError(UserError, FileNotFoundError):
    """A run folder without any fixed-noise grid PNGs."""


def grid_files(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(generator step, PNG path) of every grid under `run_dir/samples`, by step; raises NoGridsError if none."""
    samples = Path(run_dir) / "samples"
    found = sorted(
        (int(match.group(1)), path)
        for path in (samples.iterdir() if samples.is_dir() else [])
        if (match := GRID_NAME.fullmatch(path.name)) and path.is_file()
    )
    if not found:
        raise NoGridsError(
            f"{samples} holds no fixed-noise grids (step_XXXXXXXX.png). Grids are written while training "
            "when `samples.save_png` is true (the default); is this a run folder?"
        )
    return found


def evenly_spaced(steps: list[int], max_count: int) -> list[int]:
    """At most `max_count` of the sorted `steps`, as evenly spaced over the run (in steps) as they allow.

    The first and the last are always kept; each target step in between takes the nearest grid not
    yet taken, so uneven cadences (step 1, every N steps, epoch ends) still give an even animation.
    """
    if max_count < 2:
        raise ValueError(f"max_count must be at least 2 (the first and the last grid), got {max_count}")
    if len(steps) <= max_count:
        return list(steps)
    available = np.asarray(steps, dtype=np.int64)
    chosen: list[int] = []
    for target in np.linspace(available[0], available[-1], max_count):
        index = int(np.abs(available - target).argmin())
        if not chosen or available[index] > chosen[-1]:
            chosen.append(int(available[index]))
    return chosen  # the last target is the last step, so the last grid is always in
