"""`<run>/report.html`: one self-contained page that shows a run to a colleague.

Everything is inside the file (images as data: URIs, no script or style from the network), so it
opens offline in any browser and can be mailed. It holds the progress animation and the final grid,
real vs fake and a latent walk (when a generator and the data are at hand), the loss curves,
D(x) and D(G(z)) before and after the discriminator's update, FID and KID over steps (all read
from the run's TensorBoard event files), the metrics table of `metrics.jsonl`, the resolved config
and the command that resumes the run. The plotted numbers are also embedded as JSON
(`<script type="application/json" id="scalars">`), so what the page shows can be checked.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
import shlex
from pathlib import Path

import numpy as np
from PIL import Image

from gan_lightning.files import atomic_write
from gan_lightning.visuals.animation import GIF_NAME, AnimationSettings, gif_bytes, progress_frames
from gan_lightning.visuals.events import Series, read_metrics_lines, read_scalars
from gan_lightning.visuals.grid_files import NoGridsError, grid_files
from gan_lightning.visuals.run_images import GeneratorPictures

REPORT_NAME = "report.html"
MAX_POINTS = 2000  # per curve: more than a laptop screen has pixels across a chart

LOSS_CURVES = {"train/loss_d": "loss_d (D / critic)", "train/loss_g": "loss_g (G)"}
CRITIC_CURVES = {"train/wasserstein_distance": "Wasserstein estimate", "train/gradient_penalty": "gradient penalty"}
D_CURVES = {
    "train/D_x": "D(x), real",
    "train/D_G_z1": "D(G(z)) before D update",
    "train/D_G_z2": "D(G(z)) after D update",
}
EVALUATION_CURVES = {"val/fid": ("FID", "FID (lower is better)"), "val/kid": ("KID", "KID (lower is better)")}


def thin(series: Series, max_points: int = MAX_POINTS) -> Series:
    """At most about `max_points` evenly strided points of `series`, always with its last point."""
    stride = max(math.ceil(len(series.steps) / max_points), 1)
    keep = list(range(0, len(series.steps), stride))
    if keep and keep[-1] != len(series.steps) - 1:
        keep.append(len(series.steps) - 1)
    return Series([series.steps[i] for i in keep], [series.values[i] for i in keep])


def png_data_uri(image: np.ndarray | bytes) -> str:
    """A data: URI of PNG bytes, or of a uint8 (H, W, 3) array encoded as PNG."""
    if isinstance(image, np.ndarray):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        image = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


def gif_data_uri(gif: bytes) -> str:
    return "data:image/gif;base64," + base64.b64encode(gif).decode("ascii")


def resume_command(run_dir: Path) -> str:
    """The fit.py command that continues this run in its own folder from its last.ckpt.

    The saved config is named config.yaml and knows neither the run's name nor where it lies, so the
    command names both; `--ckpt_path` then points inside this very run folder and fit.py continues there.
    """
    return shlex.join(
        [
            "python",
            "scripts/fit.py",
            "--config",
            str(run_dir / "config.yaml"),
            "--name",
            run_dir.parent.name,
            "--trainer.default_root_dir",
            str(run_dir.parent.parent),
            "--ckpt_path",
            str(run_dir / "checkpoints" / "last.ckpt"),
        ]
    )


def _image(uri: str, alt: str, element_id: str, natural_width: int, room: int = 900) -> str:
    """An <img> shown at the largest whole multiple (up to 3) of its size that fits `room` pixels:
    small grids are enlarged with their pixels kept sharp."""
    shown = natural_width * max(1, min(3, room // max(natural_width, 1)))
    return (
        f'<img id="{element_id}" class="pixels" src="{uri}" alt="{html.escape(alt)}" '
        f'style="width:{shown}px" width="{shown}">'
    )


def _chart(title: str, panels: list[tuple[str, str, dict[str, Series]]], element_id: str) -> str:
    panels = [(name, ylabel, curves) for name, ylabel, curves in panels if curves]
    if not panels:
        return f'<p class="missing">{html.escape(title)}: not logged in this run.</p>'
    # Here, not at the top: importing matplotlib takes a second, which every fit.py start would pay.
    from gan_lightning.visuals.plots import line_chart

    uri = png_data_uri(line_chart(panels))
    return f'<img id="{element_id}" class="chart" src="{uri}" alt="{html.escape(title)}">'


def _pick(scalars: dict[str, Series], names: dict[str, str]) -> dict[str, Series]:
    return {label: scalars[tag] for tag, label in names.items() if tag in scalars and scalars[tag].steps}


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _flatten(row: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _table(rows: list[dict[str, object]], element_id: str) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_format(row.get(c, '')))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f'<div class="scroll"><table id="{element_id}"><tr>{head}</tr>{body}</table></div>'


def _progress_gif(run_dir: Path, newest_grid: Path) -> bytes:
    """samples/progress.gif when it is up to date with the grids, else the same animation made now."""
    written = run_dir / "samples" / GIF_NAME
    if written.is_file() and written.stat().st_mtime_ns >= newest_grid.stat().st_mtime_ns:
        return written.read_bytes()
    settings = AnimationSettings()
    return gif_bytes([frame for _, frame in progress_frames(run_dir, settings.max_frames)], settings)


def _section(title: str, body: str, element_id: str) -> str:
    return f'<section id="{element_id}"><h2>{html.escape(title)}</h2>{body}</section>'


def build_report(run_dir: str | Path, pictures: GeneratorPictures | None = None) -> str:
    """The HTML of the report of `run_dir` (raises NoGridsError when the run has no grids yet)."""
    run_dir = Path(run_dir)
    pictures = pictures or GeneratorPictures(missing=["no generator was given"])
    grids = grid_files(run_dir)
    last_step, newest_grid = grids[-1]
    final_grid = newest_grid.read_bytes()
    final_width = Image.open(newest_grid).width
    scalars = {tag: thin(series) for tag, series in read_scalars(run_dir).items()}
    sections = [
        _section(
            "Training progress",
            '<div class="row"><figure>'
            + _image(
                gif_data_uri(_progress_gif(run_dir, newest_grid)), "progress animation", "progress", final_width, 560
            )
            + f"<figcaption>The fixed noise from step {grids[0][0]:,} to {last_step:,} "
            f"({len(grids)} grids; samples/{GIF_NAME})</figcaption></figure><figure>"
            + _image(png_data_uri(final_grid), f"grid at step {last_step}", "final-grid", final_width, 560)
            + f"<figcaption>Final grid, step {last_step:,} ({newest_grid.name})</figcaption></figure></div>",
            "progress-section",
        ),
        _section("Real and generated", _generator_pictures(pictures), "generator-section"),
        _section("Curves", _curves(scalars), "curves-section"),
        _section("Evaluations (metrics.jsonl)", _metrics(run_dir), "metrics-section"),
        _section("Resume", f"<pre id='resume'>{html.escape(resume_command(run_dir))}</pre>", "resume-section"),
        _section("Resolved config", _config(run_dir), "config-section"),
    ]
    data = {
        tag: [[step, value if math.isfinite(value) else None] for step, value in zip(s.steps, s.values)]
        for tag, s in scalars.items()
    }
    data_json = json.dumps(data).replace("</", "<\\/")  # a "</script>" inside a string cannot end the block
    written = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(_run_name(run_dir))}: gan-lightning report</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(_run_name(run_dir))}</h1>"
        f"<p class='meta'>{html.escape(str(run_dir))} &middot; generator step {last_step:,} &middot; "
        f"report written {written}</p>" + "".join(sections) + "<script type='application/json' id='scalars'>"
        f"{data_json}</script></body></html>\n"
    )


def _run_name(run_dir: Path) -> str:
    return f"{run_dir.parent.name}/{run_dir.name}"


def _generator_pictures(pictures: GeneratorPictures) -> str:
    figures = [
        (
            pictures.real_vs_fake,
            "real vs generated",
            "real-vs-fake",
            "Real images (a seeded random choice) beside generated ones",
        ),
        (
            pictures.latent_walk,
            "latent walks",
            "latent-walk",
            "Latent walks: each row a spherical interpolation between two seeded latents "
            "(smooth change, not jumps, means the generator has not memorised its data)",
        ),
    ]
    parts = [
        f"<figure>{_image(png_data_uri(image), alt, element_id, image.shape[1])}"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for image, alt, element_id, caption in figures
        if image is not None
    ]
    parts += [f'<p class="missing">{html.escape(reason)}</p>' for reason in pictures.missing]
    return "".join(parts)


def _curves(scalars: dict[str, Series]) -> str:
    evaluation = [(title, ylabel, _pick(scalars, {tag: title})) for tag, (title, ylabel) in EVALUATION_CURVES.items()]
    return "".join(
        [
            _chart(
                "Losses",
                [
                    ("Losses", "loss", _pick(scalars, LOSS_CURVES)),
                    ("Critic terms (WGAN-GP)", "value", _pick(scalars, CRITIC_CURVES)),
                ],
                "losses-chart",
            ),
            _chart(
                "D(x) and D(G(z))",
                [("D(x) and D(G(z)) before / after the D update", "mean D output", _pick(scalars, D_CURVES))],
                "d-chart",
            ),
            _chart("FID and KID", evaluation, "evaluation-chart"),
            _last_values(scalars),
        ]
    )


def _last_values(scalars: dict[str, Series]) -> str:
    rows = [
        {"scalar": tag, "step": series.steps[-1], "last value": series.values[-1]}
        for tag, series in sorted(scalars.items())
        if series.steps
    ]
    return "<h3>Last logged values</h3>" + _table(rows, "last-values") if rows else ""


def _metrics(run_dir: Path) -> str:
    rows, unreadable = read_metrics_lines(run_dir)
    if not rows:
        return '<p class="missing">No metrics.jsonl in this run folder (scripts/evaluate.py writes it).</p>'
    note = f'<p class="missing">{unreadable} unreadable line(s) skipped.</p>' if unreadable else ""
    return _table([_flatten(row) for row in rows], "metrics-table") + note


def _config(run_dir: Path) -> str:
    config = run_dir / "config.yaml"
    if not config.is_file():
        return '<p class="missing">No config.yaml in this run folder.</p>'
    return f"<pre id='config'>{html.escape(config.read_text())}</pre>"


def write_report(run_dir: str | Path, pictures: GeneratorPictures | None = None) -> Path:
    """Write `<run>/report.html` atomically; returns its path. Raises NoGridsError for a run without grids."""
    path = Path(run_dir) / REPORT_NAME
    page = build_report(run_dir, pictures)
    with atomic_write(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1180px; margin: 1.5em auto;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1em; } .meta { color: #666; margin-top: 0; }
.row { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0.5em 0; max-width: 100%; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; height: auto; } img.pixels { image-rendering: pixelated; }
img.chart { width: 100%; max-width: 900px; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
#resume { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.9em; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; font-size: 0.8em; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; white-space: nowrap; }
.missing { color: #a55; font-style: italic; }
"""

__all__ = ["GeneratorPictures", "NoGridsError", "REPORT_NAME", "build_report", "resume_command", "write_report"]
