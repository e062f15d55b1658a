"""progress.gif / progress.mp4 made from a run folder's grid PNGs, read back frame by frame."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.io import write_png

from gan_lightning.visuals.animation import AnimationSettings, ffmpeg_binary, write_progress_animation
from gan_lightning.visuals.grid_files import evenly_spaced
from tests.fit_runs import REPO, fit_env
from tests.visuals.frames import gif_frames, shows_caption

GRID_HEIGHT, GRID_WIDTH = 38, 74  # a 2 x 4 grid of 16-pixel tiles with 2-pixel padding


def grid_image(step: int) -> np.ndarray:
    """A grid PNG's pixels for `step`: flat blocks of a few colours (a GIF palette holds them exactly)."""
    image = np.zeros((GRID_HEIGHT, GRID_WIDTH, 3), dtype=np.uint8)
    image[:, : GRID_WIDTH // 2] = (step * 7 % 256, 40, 200)
    image[:, GRID_WIDTH // 2 :] = (250, step * 3 % 256, 10)
    return image


def fake_run(folder, steps: list[int]):
    """A run folder whose samples/ holds real PNG grids for `steps` (as FixedNoiseGrid names them)."""
    for step in steps:
        path = folder / "samples" / f"step_{step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(torch.from_numpy(grid_image(step)).permute(2, 0, 1).contiguous(), str(path))
    return folder


def test_gif_has_evenly_spaced_frames_each_labelled_with_its_step(tmp_path):
    run = fake_run(tmp_path, [0, 1, *range(10, 701, 10)])  # FixedNoiseGrid's cadence: 0, 1, then every 10
    settings = AnimationSettings(max_frames=8, frame_seconds=0.1, last_frame_seconds=1.0)
    written = write_progress_animation(run, settings, mp4=False)
    assert written == [run / "samples" / "progress.gif"]

    frames = gif_frames(written[0])
    expected_steps = [0, 100, 200, 300, 400, 500, 600, 700]  # 8 evenly spaced over steps 0..700
    assert len(frames) == len(expected_steps)
    band = frames[0].shape[0] - GRID_HEIGHT
    assert band > 0 and all(frame.shape == (GRID_HEIGHT + band, GRID_WIDTH, 3) for frame in frames)
    for frame, step in zip(frames, expected_steps):
        assert shows_caption(frame, band, f"step {step:,}"), f"frame of step {step} is labelled otherwise"
        assert np.array_equal(frame[band:], grid_image(step))  # the grid itself, unchanged
    with Image.open(written[0]) as gif:
        gif.seek(len(frames) - 1)
        assert gif.info["duration"] == 1000  # the last frame is held
        assert gif.info["loop"] == 0


def test_a_wrong_label_is_caught(tmp_path):
    """The caption check itself: a frame of step 100 does not pass for step 700 or 10."""
    run = fake_run(tmp_path, [0, 100])
    write_progress_animation(run, AnimationSettings(max_frames=2), mp4=False)
    frame = gif_frames(run / "samples" / "progress.gif")[1]
    band = frame.shape[0] - GRID_HEIGHT
    assert shows_caption(frame, band, "step 100")
    assert not shows_caption(frame, band, "step 700") and not shows_caption(frame, band, "step 10")


def test_evenly_spaced_follows_steps_not_file_count():
    # Dense grids early (every step), sparse later: frames are spread over steps, first and last kept.
    steps = [*range(0, 50), *range(100, 1001, 100)]
    assert evenly_spaced(steps, 6) == [0, 200, 400, 600, 800, 1000]  # not 0, 11, 22, ... by file count
    assert evenly_spaced(steps[:3], 5) == [0, 1, 2]
    with pytest.raises(ValueError):
        evenly_spaced(steps, 1)


@pytest.mark.skipif(ffmpeg_binary() is None, reason="no ffmpeg binary (pip install imageio-ffmpeg)")
def test_mp4_holds_the_same_frames_plus_the_held_last_one(tmp_path):
    import imageio_ffmpeg

    run = fake_run(tmp_path, [0, 1, 2, 3])
    settings = AnimationSettings(max_frames=10, frame_seconds=0.25, last_frame_seconds=1.0)
    written = write_progress_animation(run, settings, mp4=True)
    assert written[1] == run / "samples" / "progress.mp4"
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(written[1]))
    assert frames == 4 + 3  # 4 grids at 4 fps, the last held for 1 s (4 frames)
    assert seconds == pytest.approx(7 * 0.25, abs=0.05)
    gif_height = gif_frames(written[0])[0].shape[0]
    meta = next(imageio_ffmpeg.read_frames(str(written[1])))
    assert meta["size"] == (80, -(-gif_height // 16) * 16)  # padded to whole 16-pixel macroblocks


def test_script_makes_it_for_a_run_folder_and_refuses_one_without_grids(tmp_path):
    run = fake_run(tmp_path / "run", [0, 5, 10])
    script = [sys.executable, str(REPO / "scripts" / "animate.py")]
    done = subprocess.run([*script, str(run), "--no_mp4"], capture_output=True, text=True, cwd=REPO, env=fit_env())
    assert done.returncode == 0, done.stderr
    assert len(gif_frames(run / "samples" / "progress.gif")) == 3

    empty = tmp_path / "empty"
    (empty / "samples").mkdir(parents=True)
    failed = subprocess.run([*script, str(empty)], capture_output=True, text=True, cwd=REPO, env=fit_env())
    assert failed.returncode == 2
    assert "holds no fixed-noise grids" in failed.stderr and "Traceback" not in failed.stderr
    assert list((empty / "samples").iterdir()) == []  # nothing written
