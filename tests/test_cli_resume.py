"""Preemption and requeue with real processes and real signals: scripts/fit.py is started as a
subprocess and signalled (SIGTERM, SIGKILL, or SIGUSR1 under a simulated SLURM job: the
environment srun sets; `scontrol` does not exist here, which the run must survive), then resumed.
"""

import os
import signal

import pytest

from gan_lightning.runs import resolve_run
from tests.fit_runs import (
    assert_identical,
    explain,
    finish,
    fit_env,
    fit_in_process,
    free_port,
    last_checkpoint,
    load,
    one_thread,  # noqa: F401 (an autouse fixture)
    run_dirs,
    run_fit,
    slurm_env,
    start_fit,
    tiny_config,
    training_state,
    wait_for_step,
)

LONG = 100_000  # max_steps of runs that only end by a signal


def progress_args(folder) -> list[str]:
    return ["--trainer.callbacks+=tests.fit_runs.WriteProgress", f"--trainer.callbacks.path={folder / 'progress'}"]


def test_sigterm_mid_run_saves_a_checkpoint_that_resumes(tmp_path):
    cfg = tiny_config(tmp_path, "dcgan", max_steps=LONG, every_n_train_steps=None)  # no periodic saves
    process = start_fit(cfg, *progress_args(tmp_path))
    wait_for_step(tmp_path / "progress", process, 3)
    process.send_signal(signal.SIGTERM)
    output = finish(process, timeout=120)
    # Lightning stops at the next step boundary and ends with SystemExit (status 0).
    assert process.returncode == 0, output[-4000:]
    stopped_at = int((tmp_path / "progress").read_text())
    checkpoint = last_checkpoint(tmp_path)
    assert load(checkpoint)["global_step"] == stopped_at >= 3

    resumed = run_fit(cfg, "--ckpt_path", "last", "--trainer.max_steps", str(stopped_at + 2))
    assert resumed.returncode == 0, explain(resumed)
    assert f"Restoring states from the checkpoint path at {checkpoint}" in resumed.stderr
    assert load(checkpoint)["global_step"] == stopped_at + 2
    assert len(run_dirs(tmp_path)) == 1


def test_sigterm_to_a_ddp_run_saves_a_checkpoint_that_both_ranks_resume_from(tmp_path):
    """SIGTERM to the launching process of a 2-process DDP run (Lightning forwards it to rank 1):
    both ranks stop after the same step, rank 0 writes last.ckpt, and the DDP run resumes from it."""
    ddp = {"devices": 2, "strategy": "ddp"}
    cfg = tiny_config(tmp_path, "wgan_gp", max_steps=LONG, every_n_train_steps=None, trainer=ddp)
    process = start_fit(cfg, *progress_args(tmp_path))
    wait_for_step(tmp_path / "progress", process, 3)
    process.send_signal(signal.SIGTERM)
    output = finish(process, timeout=120)
    assert process.returncode == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    stopped_at = int((tmp_path / "progress").read_text())
    checkpoint = last_checkpoint(tmp_path)
    assert load(checkpoint)["global_step"] == stopped_at >= 3

    resumed = run_fit(cfg, "--ckpt_path", "last", "--trainer.max_steps", str(stopped_at + 2))
    assert resumed.returncode == 0, explain(resumed)
    assert load(checkpoint)["global_step"] == stopped_at + 2


def test_sigkill_loses_at_most_the_steps_since_the_last_periodic_checkpoint(tmp_path):
    every = 3
    cfg = tiny_config(tmp_path, "wgan_gp", max_steps=LONG, every_n_train_steps=every)
    process = start_fit(cfg, *progress_args(tmp_path))
    wait_for_step(tmp_path / "progress", process, 2 * every + 1)
    process.send_signal(signal.SIGSTOP)  # freeze it, so what is on disk is what a kill would leave
    reached = int((tmp_path / "progress").read_text())
    process.send_signal(signal.SIGKILL)
    finish(process, timeout=60)
    checkpoint = last_checkpoint(tmp_path)
    saved = load(checkpoint)["global_step"]
    assert saved % every == 0 and saved >= every
    assert 0 <= reached - saved <= every  # lost: only the steps since the last periodic save

    resumed = run_fit(cfg, "--ckpt_path", "last", "--trainer.max_steps", str(saved + 2))
    assert resumed.returncode == 0, explain(resumed)
    assert f"Restoring states from the checkpoint path at {checkpoint}" in resumed.stderr
    assert load(checkpoint)["global_step"] == saved + 2


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGUSR1"])
def test_signal_mid_step_stops_after_the_step_and_the_run_resumes_exactly(tmp_path, signal_name):
    """The signal arrives inside a step, between the discriminator's and the generator's updates:
    Ctrl-C (SIGINT), or SLURM's warning before the time limit (SIGUSR1, `#SBATCH --signal=SIGUSR1@90`,
    here under a simulated SLURM job). The run finishes that step, writes last.ckpt and stops (on
    SLURM after trying `scontrol requeue`, missing here: a warning, no crash). The continued run -
    `--ckpt_path last`, or on SLURM the requeued job, the same command in the same job - ends exactly
    where an uninterrupted run does."""
    options = dict(max_steps=9, model={"ema_decay": 0.9, "lr_schedule": "cosine"}, data={"random_flip": True})
    (tmp_path / "straight").mkdir()
    fit_in_process(tiny_config(tmp_path / "straight", "dcgan", **options))

    cfg = tiny_config(tmp_path, "dcgan", **options)
    on_slurm = signal_name == "SIGUSR1"
    env = slurm_env() if on_slurm else fit_env()
    first = run_fit(
        cfg,
        "--trainer.callbacks+=tests.fit_runs.SignalAtStep",
        "--trainer.callbacks.step=4",
        f"--trainer.callbacks.signal_name={signal_name}",
        "--trainer.callbacks.hook=mid_step",
        env=env,
    )
    assert load(last_checkpoint(tmp_path))["global_step"] == 4, explain(first)
    (run,) = run_dirs(tmp_path)
    assert not list(run.glob("hpc_ckpt_*.ckpt"))  # one checkpoint, where --ckpt_path last looks
    if on_slurm:
        assert first.returncode == 0, explain(first)
        assert "Could not requeue SLURM job '4242'" in first.stderr
        assert run.name == "version_4242"  # every task and every requeue of the job uses this folder
        resumed = run_fit(cfg, env=env)
    else:
        assert first.returncode == 1 and "Interrupted: wrote" in first.stderr, explain(first)
        resumed = run_fit(cfg, "--ckpt_path", "last", env=env)
    assert resumed.returncode == 0, explain(resumed)
    assert f"Restoring states from the checkpoint path at {last_checkpoint(tmp_path)}" in resumed.stderr
    straight = load(last_checkpoint(tmp_path / "straight"))
    assert_identical(training_state(load(last_checkpoint(tmp_path))), training_state(straight), "checkpoint")


def test_requeued_job_resumes_from_last_not_an_older_hpc_checkpoint(tmp_path):
    """Lightning issue 13773: on SLURM, Lightning resumes from hpc_ckpt_N.ckpt whenever one exists,
    even when last.ckpt is newer. The newest checkpoint of the job's folder wins."""
    cfg = tiny_config(tmp_path, "dcgan", max_steps=2)
    fit_in_process(cfg)
    (run,) = run_dirs(tmp_path)
    run = run.rename(run.with_name("version_4242"))  # the folder of SLURM job 4242
    hpc = run / "hpc_ckpt_1.ckpt"
    hpc.write_bytes((run / "checkpoints" / "last.ckpt").read_bytes())  # the job's older HPC save
    fit_in_process(cfg, "--ckpt_path", str(run / "checkpoints" / "last.ckpt"), "--trainer.max_steps", "4")
    last = run / "checkpoints" / "last.ckpt"
    os.utime(hpc, ns=(last.stat().st_mtime_ns - 10**9,) * 2)
    assert load(hpc)["global_step"] == 2 and load(last)["global_step"] == 4

    requeued = run_fit(cfg, "--trainer.max_steps", "6", env=slurm_env())
    assert requeued.returncode == 0, explain(requeued)
    assert f"Restoring states from the checkpoint path at {last}" in requeued.stderr
    assert load(last)["global_step"] == 6

    # ... and an HPC checkpoint newer than last.ckpt (written by Lightning's own handler) is the one
    # `--ckpt_path last` resumes from.
    os.utime(hpc, ns=(last.stat().st_mtime_ns + 10**9,) * 2)
    assert resolve_run(tmp_path / "runs", "tiny", "last") == (run, str(hpc))


def test_two_slurm_tasks_stop_at_the_same_step_when_one_gets_the_signal(tmp_path):
    """Two srun tasks (DDP over gloo, one process each). SIGUSR1 reaches rank 1 only: both ranks must
    agree to stop after the same step (else one would hang in the next all-reduce), write one
    checkpoint, and the requeued pair continues from it."""
    cfg = tiny_config(tmp_path, "dcgan", max_steps=6, trainer={"devices": 2, "strategy": "ddp"})

    def run_tasks(*args: str) -> list[str]:
        port = free_port()
        tasks = [start_fit(cfg, *args, env=slurm_env("777", ntasks=2, rank=rank, port=port)) for rank in range(2)]
        outputs = [finish(task, timeout=180) for task in tasks]
        for task, output in zip(tasks, outputs):
            assert task.returncode == 0, output[-4000:]
        return outputs

    outputs = run_tasks(
        "--trainer.callbacks+=tests.fit_runs.SignalAtStep",
        "--trainer.callbacks.step=2",
        "--trainer.callbacks.signal_name=SIGUSR1",
        "--trainer.callbacks.ranks=[1]",
    )
    assert "at generator step 2 and stopped" in outputs[0]
    (run,) = run_dirs(tmp_path)
    assert run.name == "version_777" and load(last_checkpoint(tmp_path))["global_step"] == 2

    outputs = run_tasks()
    assert f"Restoring states from the checkpoint path at {last_checkpoint(tmp_path)}" in outputs[0]
    assert load(last_checkpoint(tmp_path))["global_step"] == 6
