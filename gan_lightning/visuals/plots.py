"""Charts of a run's scalars for the report: matplotlib, PNG bytes, x axis in generator steps.

Sized for a laptop screen (about 900 pixels wide), labelled axes, legends that do not cover the
curves, and matplotlib's constrained layout so titles, labels and ticks never overlap.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only: no display, safe in a headless training job

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from gan_lightning.visuals.events import Series  # noqa: E402

WIDTH_INCHES, HEIGHT_INCHES, DPI = 9.0, 3.4, 100
STEP_AXIS_LABEL = "generator step"


def line_chart(panels: list[tuple[str, str, dict[str, Series]]]) -> bytes:
    """PNG of one row of charts; each panel is (title, y-axis label, {legend label: series})."""
    figure, axes = plt.subplots(
        1, len(panels), figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained", squeeze=False
    )
    try:
        for ax, (title, ylabel, curves) in zip(axes[0], panels):
            for label, series in curves.items():
                marker = "o" if len(series.steps) <= 30 else None  # a few evaluations: show the points
                ax.plot(series.steps, series.values, label=label, linewidth=1.2, marker=marker, markersize=3)
            ax.set_title(title, fontsize=11)
            ax.set_xlabel(STEP_AXIS_LABEL)
            ax.set_ylabel(ylabel)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
            ax.grid(alpha=0.3)
            if len(curves) > 1:  # below the axes, never over a curve
                ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(curves), frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
