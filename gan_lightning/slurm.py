"""SLURM's requeue: put this job back in the queue when it is about to hit its time limit."""

from __future__ import annotations

import os
import subprocess

from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn


def requeue_slurm_job() -> bool:
    """`scontrol requeue` this SLURM job (array task); False with a warning when that fails."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job = f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_job else os.environ.get("SLURM_JOB_ID", "")
    try:
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
        error = result.stderr.strip() if result.returncode else None
    except (OSError, subprocess.TimeoutExpired) as failure:
        error = str(failure)
    if error is not None:
        rank_zero_warn(f"Could not requeue SLURM job {job!r} ({error}); resubmit it with --ckpt_path last.")
        return False
    rank_zero_info(f"Requeued SLURM job {job}.")
    return True
