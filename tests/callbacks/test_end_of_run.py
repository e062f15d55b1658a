"""What a run leaves when it ends, read back from its files: progress.gif/.mp4, report.html, the
TensorBoard HPARAMS entry and Custom Scalars layout, and the W&B run summary; then the same after a
resume made with the command the report gives.

A test-only callback logs `val/fid` and `val/kid` at known steps (as the FID callback would), so the
best and final values are known in advance.
"""

import base64
import html
import importlib.util
import io
import json
import re
import shlex

import pytest
import pytorch_lightning as pl
import torch
from PIL import Image
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2
from torchvision.io import decode_png

from gan_lightning.cli import main
from gan_lightning.visuals.animation import ffmpeg_binary
from tests.fit_runs import REPO, explain, run_dirs, run_fit, tiny_config
from tests.run_files import tensorboard_events, wandb_summary
from tests.visuals.frames import gif_frames, shows_caption

# step: (FID, KID) "evaluations"; the resumed part (steps 8, 10) improves on FID but not on KID.
EVALUATIONS = {2: (50.0, 0.05), 4: (30.0, 0.06), 6: (40.0, 0.02), 8: (20.0, 0.04), 10: (25.0, 0.03)}
FIRST_STEPS, RESUMED_STEPS = 6, 10
GRID_SIZE = 2 * 16 + 3 * 2  # the 4 fixed samples as a 2 x 2 grid


class LogEvaluations(pl.Callback):
    """Test-only: log val/fid and val/kid at the steps of EVALUATIONS, as an evaluation callback would."""

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.is_global_zero and trainer.global_step in EVALUATIONS:
            fid, kid = EVALUATIONS[trainer.global_step]
            for logger in trainer.loggers:
                logger.log_metrics({"val/fid": fid, "val/kid": kid}, step=trainer.global_step)


def run_config(folder):
    return tiny_config(
        folder,
        max_steps=FIRST_STEPS,
        model={"lr": 0.003},
        trainer={"callbacks": [{"class_path": "tests.callbacks.test_end_of_run.LogEvaluations"}]},
    )


GRIDS_ON = ["--samples.every_n_steps", "2", "--samples.save_png", "true", "--samples.nrow", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The run folder and its report after 6 steps, then after resuming to step 10 with the report's command."""
    folder = tmp_path_factory.mktemp("end_of_run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        patch.setenv("WANDB_SILENT", "true")
        torch.set_num_threads(1)
        main(["--config", str(run_config(folder)), *GRIDS_ON, "--wandb", "true"])
        (run,) = run_dirs(folder)
        first = {
            "report": (run / "report.html").read_text(),
            "gif_frames": gif_frames(run / "samples" / "progress.gif"),
            "summary": wandb_summary(next(run.glob("wandb/offline-run-*/run-*.wandb"))),
        }
        resume = shlex.split(embedded_text(first["report"], "resume"))
        assert resume[:2] == ["python", "scripts/fit.py"]
        main([*resume[2:], "--trainer.max_steps", str(RESUMED_STEPS)])
    assert run_dirs(folder) == [run], "the report's resume command must continue in the same run folder"
    return run, first


def script_main(name: str):
    """scripts/<name>.py's main(argv), imported from the file (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_script", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def embedded_text(page: str, element_id: str) -> str:
    match = re.search(rf"<(pre|script)[^>]*id=['\"]{element_id}['\"][^>]*>(.*?)</\1>", page, re.S)
    assert match, f"no #{element_id} in the report"
    return html.unescape(match.group(2)) if match.group(1) == "pre" else match.group(2)


def embedded_image(page: str, element_id: str) -> bytes:
    match = re.search(rf'<img id="{element_id}"[^>]*src="data:image/(png|gif);base64,([^"]+)"', page)
    assert match, f"no embedded image #{element_id} in the report"
    return base64.b64decode(match.group(2))


def test_progress_animation_covers_the_run_and_a_resume_continues_it(runs):
    run, first = runs
    for frames, steps in (
        (first["gif_frames"], [0, 1, 2, 4, 6]),
        (gif_frames(run / "samples" / "progress.gif"), [0, 1, 2, 4, 6, 8, 10]),
    ):
        assert len(frames) == len(steps)
        band = frames[0].shape[0] - GRID_SIZE
        # One size for all: the grid under its caption (widened where "step 10" is wider than the grid).
        assert all(frame.shape == frames[0].shape for frame in frames) and frames[0].shape[1] >= GRID_SIZE
        for frame, step in zip(frames, steps):
            assert shows_caption(frame, band, f"step {step}"), f"frame of step {step}"
    if ffmpeg_binary() is not None:
        assert (run / "samples" / "progress.mp4").stat().st_size > 0


def test_hparams_tab_lists_hyperparameters_with_best_and_final_metrics(runs):
    run, _ = runs
    events = tensorboard_events(run)
    content = events.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metric_names = {info.name.tag for info in experiment.metric_infos}
    assert metric_names == {f"val/{m}_{kind}" for m in ("fid", "kid") for kind in ("best", "best_step", "final")}
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model"].string_value == "DCGANModule"
    assert start.hparams["model.lr"].number_value == pytest.approx(0.003)
    assert start.hparams["data.batch_size"].number_value == 8
    assert start.hparams["model.generator_options.width"].number_value == 8
    assert "_hparams_/session_end_info" in content

    # The metric columns' values: the last point of each tag, over the whole run (both parts).
    scalars = set(events.Tags()["scalars"])
    assert metric_names <= scalars and "hp_metric" not in scalars  # no Lightning placeholder
    last = {tag: events.Scalars(tag)[-1].value for tag in metric_names}
    assert last == pytest.approx(
        {
            "val/fid_best": 20.0,
            "val/fid_best_step": 8,
            "val/fid_final": 25.0,
            "val/kid_best": 0.02,
            "val/kid_best_step": 6,  # from before the resume
            "val/kid_final": 0.03,
        }
    )


def test_custom_scalars_layout_draws_the_d_outputs_and_the_losses_together(runs):
    run, _ = runs
    events = tensorboard_events(run)
    (tensor_event, *_) = events.Tensors("custom_scalars__config__")
    layout = layout_pb2.Layout.FromString(tensor_event.tensor_proto.string_val[0])
    charts = {chart.title: list(chart.multiline.tag) for category in layout.category for chart in category.chart}
    scalars = events.Tags()["scalars"]
    drawn = {
        title: {tag for tag in scalars if any(re.search(p, tag) for p in patterns)}
        for title, patterns in charts.items()
    }
    assert sorted(drawn.values(), key=len) == [
        {"train/loss_d", "train/loss_g"},
        {"train/D_x", "train/D_G_z1", "train/D_G_z2"},
    ]


def test_wandb_summary_holds_best_and_final_metrics(runs):
    run, first = runs
    summary = {key: value for key, value in first["summary"].items() if key.endswith(("_best", "_best_step", "_final"))}
    assert summary == pytest.approx(
        {
            "val/fid_best": 30.0,
            "val/fid_best_step": 4,
            "val/fid_final": 40.0,
            "val/kid_best": 0.02,
            "val/kid_best_step": 6,
            "val/kid_final": 0.02,
        }
    )
    resumed = max(run.glob("wandb/offline-run-*/run-*.wandb"), key=lambda path: path.stat().st_mtime)
    assert wandb_summary(resumed)["val/fid_best"] == 20.0  # the resumed part's file: the whole run's best


def test_report_embeds_the_runs_files_and_event_data(runs):
    run, _ = runs
    page = (run / "report.html").read_text()
    assert "http://" not in page and "https://" not in page.replace("https://pytorch.org", "")  # nothing to fetch

    # The plotted numbers are the event files' numbers.
    events = tensorboard_events(run)
    data = json.loads(embedded_text(page, "scalars"))
    for tag in ("train/loss_d", "train/loss_g", "train/D_x", "train/D_G_z1", "train/D_G_z2", "val/fid", "val/kid"):
        points = events.Scalars(tag)
        assert [s for s, _ in data[tag]] == [p.step for p in points], tag
        assert [v for _, v in data[tag]] == pytest.approx([p.value for p in points], rel=1e-6), tag
    assert [s for s, _ in data["val/fid"]] == sorted(EVALUATIONS)

    # The final grid is the last grid file and TensorBoard's last image; the animation is progress.gif.
    final = embedded_image(page, "final-grid")
    assert final == (run / "samples" / f"step_{RESUMED_STEPS:08d}.png").read_bytes()
    (last_image,) = [i for i in events.Images("samples/fixed_noise") if i.step == RESUMED_STEPS]
    tb = decode_png(torch.frombuffer(bytearray(last_image.encoded_image_string), dtype=torch.uint8))
    assert torch.equal(decode_png(torch.frombuffer(bytearray(final), dtype=torch.uint8)), tb)
    assert embedded_image(page, "progress") == (run / "samples" / "progress.gif").read_bytes()

    # Pictures of the generator, and charts, as real images.
    walk = Image.open(io.BytesIO(embedded_image(page, "latent-walk")))
    assert walk.size == (10 * 18 + 2, 6 * 18 + 2)  # 6 walks of 10 steps
    for element in ("real-vs-fake", "losses-chart", "d-chart", "evaluation-chart"):
        assert Image.open(io.BytesIO(embedded_image(page, element))).width > 100, element
    assert embedded_text(page, "config") == (run / "config.yaml").read_text()


def test_report_script_adds_the_metrics_table_and_refuses_a_folder_without_grids(runs, tmp_path, capsys):
    run, _ = runs
    lines = [
        {"step": 10, "checkpoint": "last.ckpt", "fid": 24.5, "kid": {"mean": 0.031, "std": 0.002}},
        {"step": 8, "checkpoint": "best.ckpt", "fid": 19.75, "kid": {"mean": 0.041, "std": 0.003}},
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"step": 12, "fi')
    report = script_main("report")
    assert report([str(run)]) == 0
    page = (run / "report.html").read_text()
    table = re.search(r'<table id="metrics-table">(.*?)</table>', page, re.S).group(1)
    rows = [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)]
    assert rows[0] == ["step", "checkpoint", "fid", "kid.mean", "kid.std"]
    assert rows[1:] == [["10", "last.ckpt", "24.5", "0.031", "0.002"], ["8", "best.ckpt", "19.75", "0.041", "0.003"]]
    assert "1 unreadable line" in page
    assert embedded_image(page, "real-vs-fake") and embedded_image(page, "latent-walk")

    empty = tmp_path / "runs" / "x" / "version_0"
    empty.mkdir(parents=True)
    assert report([str(empty)]) == 2
    assert "no fixed-noise grids" in capsys.readouterr().err
    assert list(empty.iterdir()) == []


def test_two_process_ddp_run_writes_them_once_without_hanging(tmp_path):
    """Rank 0 alone draws grids and writes the animation, summary and report; nothing may wait on it."""
    process = run_fit(
        run_config(tmp_path),
        *GRIDS_ON,
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
        timeout=300,
    )
    assert process.returncode == 0, explain(process)
    (run,) = run_dirs(tmp_path)
    assert len(gif_frames(run / "samples" / "progress.gif")) == 5
    assert (run / "report.html").is_file()
    assert tensorboard_events(run).Scalars("val/fid_best")[-1].value == 30.0
