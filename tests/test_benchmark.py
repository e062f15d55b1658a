"""Smoke tests of scripts/benchmark.py: it runs end to end in a real process and its JSON holds every
field with values that make sense. No timing is asserted (the numbers depend on the machine)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARK = REPO / "scripts" / "benchmark.py"
# 16x16 images, width-8 nets, a 64-image generated stand-in dataset: seconds, not minutes.
TINY = [
    "--device",
    "cpu",
    "--image_size",
    "16",
    "--width",
    "8",
    "--batch_dcgan",
    "8",
    "--batch_bf16",
    "16",
    "--batch_wgan",
    "4",
    "--steps",
    "2",
    "--warmup",
    "1",
    "--rounds",
    "1",
    "--threads",
    "1",
    "--demo_images",
    "64",
    "--pool_batches",
    "2",
    "--loader_batches",
    "2",
    "--loader_workers",
    "0",
]


def run_benchmark(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    out = tmp_path / "out" / "results.json"
    run = subprocess.run(
        [
            sys.executable,
            str(BENCHMARK),
            *TINY,
            "--data_root",
            str(tmp_path / "no-data"),
            "--cache_dir",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, f"rc={run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    assert [p.name for p in out.parent.iterdir()] == ["results.json"], "a temp file was left beside the JSON"
    return json.loads(out.read_text()) | {"_stdout": run.stdout}


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def check_timing(timing: dict, steps: int) -> None:
    assert timing["steps"] == steps
    for key in ("total_s", "mean_step_s", "median_step_s", "min_step_s", "max_step_s", "images_per_s", "gen_it_per_s"):
        assert positive(timing[key]), (key, timing)
    assert timing["min_step_s"] <= timing["median_step_s"] <= timing["max_step_s"]
    assert math.isclose(timing["mean_step_s"], timing["total_s"] / steps)
    assert math.isclose(timing["gen_it_per_s"], 1 / timing["mean_step_s"])


def check_gan(result: dict, batch_size: int, n_critic: int, precision: str) -> None:
    assert result["data"].startswith("demo shapes 16x16"), result["data"]  # the stand-in, and it says so
    assert (result["batch_size"], result["n_critic"], result["precision"]) == (batch_size, n_critic, precision)
    assert result["images_per_step"] == batch_size * n_critic
    for side in ("fit", "reference"):
        check_timing(result[side], steps=2)
        assert math.isclose(result[side]["images_per_s"], batch_size * n_critic / result[side]["mean_step_s"])
    assert result["fit"]["threads"] == result["reference"]["threads"] == 1
    assert math.isclose(result["time_ratio"], result["fit"]["mean_step_s"] / result["reference"]["mean_step_s"])
    assert positive(result["time_ratio_median"])
    assert len(result["rounds"]) == 1 and set(result["rounds"][0]) == {"fit", "reference"}


def test_every_part_writes_its_fields(tmp_path):
    """All four parts with bf16 forced on the CPU; no FID weights anywhere, so FID says it is skipped."""
    env = {k: v for k, v in os.environ.items() if k != "GAN_LIGHTNING_FID_WEIGHTS"}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "TORCH_HOME": str(tmp_path / "torch")}
    markdown = tmp_path / "table.md"
    results = run_benchmark(tmp_path, "--bf16", "on", "--markdown", str(markdown), env=env)

    assert results["machine"]["device"] == "cpu" and results["machine"]["threads"] == 1
    assert results["machine"]["name"] and results["machine"]["torch"] and results["machine"]["lightning"]
    assert results["settings"]["steps"] == 2
    check_gan(results["dcgan"], batch_size=8, n_critic=1, precision="32-true")
    check_gan(results["dcgan_bf16"], batch_size=16, n_critic=1, precision="bf16-mixed")
    check_gan(results["wgan_gp"], batch_size=4, n_critic=5, precision="32-true")

    loader = results["loader"]
    assert positive(loader["cached"]["images_per_s"]) and positive(loader["decode"]["images_per_s"])
    assert "PNG" in loader["decode"]["what"]  # the demo stand-in is written out as files to decode
    assert math.isclose(loader["speedup"], loader["cached"]["images_per_s"] / loader["decode"]["images_per_s"])

    assert "no weights" in results["fid"]["skipped"]

    # On the CPU the targets are the time ratios of both modules, judged against 1.10.
    targets = {row["part"]: row for row in results["targets"]}
    assert set(targets) == {"dcgan", "wgan_gp"}
    for part, row in targets.items():
        assert row["value"] == results[part]["time_ratio"] and row["met"] == (row["value"] <= 1.10)

    table = markdown.read_text()
    assert table == results["markdown"]
    assert "| measurement | fit path | reference | time_ratio | target |" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "measurement" not in line]
    assert len(rows) == 5, table  # dcgan, dcgan bf16, wgan_gp, loader, fid
    assert f"{results['dcgan']['time_ratio']:.3f}" in rows[0]
    assert "measurement" in results["_stdout"] and "WGAN-GP" in results["_stdout"]  # the printed table


def test_fid_part_with_weights(tmp_path, converted_weights):
    """FID measured with real (converted) weights; a small Inception layer keeps compute() quick."""
    weights, _ = converted_weights
    results = run_benchmark(
        tmp_path,
        "--only",
        "fid",
        "--fid_samples",
        "6",
        "--fid_batch",
        "4",
        "--fid_feature",
        "64",
        "--fid_weights",
        str(weights),
    )
    fid = results["fid"]
    assert fid["weights"] == str(weights) and fid["num_samples"] == 6 and fid["real_images"] == 6
    for key in ("seconds", "generate_and_features_s", "compute_s", "images_per_s", "seconds_10k"):
        assert positive(fid[key]), (key, fid)
    assert math.isclose(fid["seconds"], fid["generate_and_features_s"] + fid["compute_s"], rel_tol=1e-6)
    assert fid["seconds_10k"] > fid["seconds"]
    assert fid["seconds_10k_is"].startswith("extrapolated from 6 samples")
    assert math.isfinite(fid["fid"]) and fid["fid"] >= 0
    assert set(results) >= {"machine", "settings", "targets", "markdown"} and "dcgan" not in results
