"""scripts/results.py's reading of a run: final and best (lowest-FID) evaluations and the D(x) - D(G(z)) gap per
quarter, from real TensorBoard event files; and the table it prints from them."""

import argparse

import pytest
from torch.utils.tensorboard import SummaryWriter

from gan_lightning.benchmarks.results import ROWS, Result, markdown, summarise

FID = {40: 300.0, 80: 250.0, 120: 260.0}  # the best is not the last
KID = {40: 0.30, 80: 0.20, 120: 0.22}
D_X = {step: 0.9 if step < 60 else 0.6 for step in range(0, 120, 10)}
D_G_Z = {step: 0.1 if step < 60 else 0.5 for step in range(0, 120, 10)}


def write_run(folder) -> None:
    writer = SummaryWriter(str(folder))
    for step, value in FID.items():
        writer.add_scalar("val/fid", value, step)
        writer.add_scalar("val/kid", KID[step], step)
        writer.add_scalar("val/kid_std", 0.01, step)
    for step in D_X:
        writer.add_scalar("train/D_x", D_X[step], step)
        writer.add_scalar("train/D_G_z1", D_G_Z[step], step)
    writer.close()


def test_summary_reads_final_best_and_the_gap_per_quarter_from_the_event_files(tmp_path):
    write_run(tmp_path)
    result = summarise(ROWS["demo"], 0, ["fit.py"], tmp_path, wall=12.0, n=500)
    assert result.status == "done" and result.steps == 120
    assert result.final["step"] == 120 and result.final["fid"] == pytest.approx(260.0)
    assert result.best["step"] == 80 and result.best["fid"] == pytest.approx(250.0)
    assert result.best["kid"] == pytest.approx(0.20)
    # quarters of 120 steps: [0, 30), [30, 60), [60, 90), [90, 120): gaps 0.8, 0.8, 0.1, 0.1
    assert result.gap_by_quarter == pytest.approx([0.8, 0.8, 0.1, 0.1], abs=1e-6)
    assert result.protocol["n_real"] == result.protocol["n_fake"] == 500


def test_table_gives_each_row_its_numbers_and_says_why_a_row_did_not_run(tmp_path):
    write_run(tmp_path)
    done = summarise(ROWS["pokemon"], 0, ["fit.py"], tmp_path, wall=120.0, n=500)  # its CPU budget is short
    missing = Result("celeba", 0, ["fit.py"], "no data here (celeba not under data)")
    table = markdown([done, missing], argparse.Namespace(n=500, budget="cpu"))
    line = next(line for line in table.splitlines() if line.startswith("| `pokemon`"))
    assert "120 generator steps (short)" in line and "| 2.0 min |" in line
    assert "| 260.0 | 220.0 | 250.0 (80) | 200.0 | 0.80, 0.80, 0.10, 0.10 |" in line
    assert "no data here (celeba not under data)" in table
