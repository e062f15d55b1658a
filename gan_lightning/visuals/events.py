"""What a run logged, read back from its files: TensorBoard scalars and `metrics.jsonl` lines.

Reading the event files, rather than keeping values in memory, gives the whole run: a resumed run's
curves include the part before the resume (TensorBoard drops the steps a resume repeats), and a
report can be made for any run folder, finished, crashed or still running.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from tensorboard.backend.event_processing import event_accumulator

METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class Series:
    """One scalar over training: generator steps and values, by step."""

    steps: list[int]
    values: list[float]

    def lowest(self) -> tuple[int, float] | None:
        """(step, value) of the lowest finite value (the earliest on ties), or None when there is none."""
        finite = [(value, step) for step, value in zip(self.steps, self.values) if math.isfinite(value)]
        if not finite:
            return None
        value, step = min(finite)
        return step, value

    def final(self) -> tuple[int, float] | None:
        """(step, value) of the last point, or None for an empty series."""
        return (self.steps[-1], self.values[-1]) if self.steps else None


def read_scalars(run_dir: str | Path) -> dict[str, Series]:
    """Every scalar tag in the TensorBoard event files directly in `run_dir`, all points, by step."""
    accumulator = event_accumulator.EventAccumulator(
        str(run_dir),
        size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 1, event_accumulator.TENSORS: 1},
    )
    accumulator.Reload()
    scalars = {}
    for tag in accumulator.Tags()["scalars"]:
        by_step = {event.step: float(event.value) for event in accumulator.Scalars(tag)}  # a repeated step: last
        steps = sorted(by_step)
        scalars[tag] = Series(steps, [by_step[step] for step in steps])
    return scalars


def read_metrics_lines(run_dir: str | Path) -> tuple[list[dict], int]:
    """The JSON objects in `<run>/metrics.jsonl` (one per evaluation), and how many lines were unreadable
    (a half-written last line of a killed writer, say). ([], 0) when there is no such file."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return [], 0
    rows, bad = [], 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad += 1
    return rows, bad
