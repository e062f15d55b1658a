"""`samples/progress.gif` (and `progress.mp4`): the fixed-noise grids over training, step on each frame.

Built from the grid PNGs in the run folder, so it can be made for any run (finished, crashed,
running) and a resumed run's animation continues the first part's. At most `max_frames` frames,
evenly spaced over the run, keep the file small for long runs; the last frame is held longer.
The MP4 needs an ffmpeg binary, which the imageio-ffmpeg package ships; without it only the GIF is made.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gan_lightning.files import atomic_write
from gan_lightning.visuals.grid_files import evenly_spaced, grid_files
from gan_lightning.visuals.text import caption_above, step_caption

GIF_NAME = "progress.gif"
MP4_NAME = "progress.mp4"


@dataclass(frozen=True)
class AnimationSettings:
    """How the animation is timed and sized (the `animation:` config section sets these)."""

    max_frames: int = 100
    frame_seconds: float = 0.25
    last_frame_seconds: float = 2.0


def progress_frames(run_dir: str | Path, max_frames: int) -> list[tuple[int, np.ndarray]]:
    """(step, uint8 (H, W, 3) frame with its step caption) for up to `max_frames` evenly spaced grids."""
    files = dict(grid_files(run_dir))
    frames = []
    for step in evenly_spaced(sorted(files), max_frames):
        grid = np.asarray(Image.open(files[step]).convert("RGB"))
        frames.append((step, caption_above(grid, step_caption(step))))
    return _same_size(frames)


def _same_size(frames: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """Pad frames to the largest (a run resumed with another `samples.nrow` has grids of two sizes)."""
    height = max(frame.shape[0] for _, frame in frames)
    width = max(frame.shape[1] for _, frame in frames)
    return [(step, _pad_to(frame, height, width)) for step, frame in frames]


def _pad_to(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    if frame.shape[:2] == (height, width):
        return frame
    padded = np.zeros((height, width, 3), dtype=np.uint8)
    padded[: frame.shape[0], : frame.shape[1]] = frame
    return padded


def gif_bytes(frames: list[np.ndarray], settings: AnimationSettings) -> bytes:
    """An endlessly looping GIF of `frames`; each shown `frame_seconds`, the last `last_frame_seconds`."""
    images = [Image.fromarray(frame) for frame in frames]
    durations = [round(settings.frame_seconds * 1000)] * (len(images) - 1) + [round(settings.last_frame_seconds * 1000)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buffer.getvalue()


def write_gif(frames: list[np.ndarray], path: str | Path, settings: AnimationSettings) -> None:
    """Write `frames` as a looping GIF to `path`, atomically."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(gif_bytes(frames, settings))


def ffmpeg_binary() -> str | None:
    """The ffmpeg executable imageio-ffmpeg provides (its own or the system's), or None."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the package is there but finds no binary for this platform
        return None


def write_mp4(frames: list[np.ndarray], path: Path, settings: AnimationSettings) -> None:
    """H.264 MP4 of `frames` at 1/frame_seconds frames per second (the last one held), written atomically.

    Frames are padded with black to multiples of 16 pixels, the H.264 macroblock, rather than resampled.
    """
    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    height16, width16 = -(-height // 16) * 16, -(-width // 16) * 16
    fps = 1.0 / settings.frame_seconds
    hold = max(round(settings.last_frame_seconds * fps), 1)
    with atomic_write(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (width16, height16),
            fps=fps,
            codec="libx264",
            macro_block_size=16,
            ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart", "-f", "mp4"],  # the temporary name has no .mp4
        )
        writer.send(None)
        for frame in [*frames, *[frames[-1]] * (hold - 1)]:
            writer.send(np.ascontiguousarray(_pad_to(frame, height16, width16)))
        writer.close()


def write_progress_animation(
    run_dir: str | Path, settings: AnimationSettings = AnimationSettings(), mp4: bool = True
) -> list[Path]:
    """Write `<run>/samples/progress.gif` (and `progress.mp4` when `mp4` and ffmpeg is there); returns the paths.

    Raises NoGridsError when the run folder has no grids.
    """
    frames = [frame for _, frame in progress_frames(run_dir, settings.max_frames)]
    samples = Path(run_dir) / "samples"
    gif = samples / GIF_NAME
    write_gif(frames, gif, settings)
    written = [gif]
    if mp4 and ffmpeg_binary() is not None:
        write_mp4(frames, samples / MP4_NAME, settings)
        written.append(samples / MP4_NAME)
    return written
