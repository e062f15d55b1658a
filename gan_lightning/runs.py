"""Where a run's files live: `<root>/<name>/version_N/`, found without any collective.

A run folder holds the TensorBoard events, the resolved `config.yaml`, `checkpoints/` (last.ckpt,
best.ckpt), `samples/` and, with W&B, `wandb/` and `wandb_id.txt`. `resolve_run` decides, before
anything is written, which folder a fit writes into and which checkpoint it resumes from;
`run_dir_of` tells callbacks that folder during training on any rank without a collective.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

RUN_DIR_ENV = "GAN_LIGHTNING_RUN_DIR"


def run_dir_of(trainer: pl.Trainer) -> Path | None:
    """The run folder of `trainer`, read without a collective.

    Lightning's `trainer.log_dir` computes the same path but then broadcasts it from rank 0
    (`strategy.broadcast`), so reading it in code that only rank 0 runs blocks that rank forever while
    the others go on to their next collective. This reads the same places and broadcasts nothing.
    """
    if trainer.loggers:
        logger = trainer.loggers[0]
        folder = logger.log_dir if isinstance(logger, (TensorBoardLogger, CSVLogger)) else logger.save_dir
        return Path(folder) if folder is not None else None
    return Path(trainer.default_root_dir) if trainer.default_root_dir else None


def resolve_run(root: Path, name: str, ckpt_path: str | None) -> tuple[Path, str | None]:
    """The run folder to write into and the checkpoint to resume from (None: start fresh).

    - no ckpt_path: a new `root/name/version_N` (N one past the highest); under DDP children read the
      folder their launcher chose; on SLURM or torchrun every process derives it from the job id,
      and a requeued job whose folder already holds a checkpoint resumes from the newest one.
    - 'last': the newest of `checkpoints/last.ckpt` and Lightning's `hpc_ckpt_*.ckpt` in the newest
      run folder that has one, continuing in that folder; if there is none, a fresh run (so a job
      script can always pass --ckpt_path last).
    - a path: a checkpoint of this run name's folder continues in that folder, unless the run went on
      past it (best.ckpt of an earlier step, say): continuing there would overwrite the newer last.ckpt
      and draw a second curve over steps the run already logged, so such a checkpoint, like one from
      elsewhere, starts a new run folder.
    """
    if os.environ.get(RUN_DIR_ENV):
        run_dir = Path(os.environ[RUN_DIR_ENV])
        return run_dir, _resume_checkpoint(run_dir, ckpt_path)
    base = root / name
    if ckpt_path == "last":
        for run_dir in sorted(_versions(base), key=_version_number, reverse=True):
            newest = newest_checkpoint(run_dir)
            if newest is not None:
                return run_dir, str(newest)
        print(f"gan-lightning: --ckpt_path last: no checkpoint under {base}; starting a new run.", file=sys.stderr)
        return _new_run_dir(base), None
    if ckpt_path is not None:
        path = Path(ckpt_path)
        if not path.is_file():
            raise FileNotFoundError(f"--ckpt_path {ckpt_path}: no such checkpoint file.")
        own_run = path.parent.parent if path.parent.name == "checkpoints" else None
        if own_run is not None and own_run.parent == base and not _run_went_past(own_run, path):
            return own_run, str(path)
        run_dir = _new_run_dir(base)
        why = "its run went on past it" if own_run is not None and own_run.parent == base else "it is from another run"
        print(f"gan-lightning: starting {run_dir} from {path} ({why}).", file=sys.stderr)
        return run_dir, str(path)
    run_dir = _new_run_dir(base)
    # A requeued SLURM job (or restarted torchrun) gets its job's folder back: continue from its newest
    # checkpoint rather than let Lightning pick an older hpc_ckpt_*.ckpt there (Lightning issue 13773).
    resume_from = newest_checkpoint(run_dir) if run_dir.is_dir() else None
    if resume_from is not None:
        print(f"gan-lightning: {run_dir} is this job's folder and holds {resume_from.name}; resuming.", file=sys.stderr)
    return run_dir, str(resume_from) if resume_from is not None else None


def _resume_checkpoint(run_dir: Path, ckpt_path: str | None) -> str | None:
    if ckpt_path == "last" or (ckpt_path is None and job_id()):
        newest = newest_checkpoint(run_dir)
        return str(newest) if newest is not None else None
    return ckpt_path


def newest_checkpoint(run_dir: Path) -> Path | None:
    """last.ckpt or an HPC checkpoint, whichever was written last (Lightning issue 13773: they must not fight)."""
    candidates = [p for p in [run_dir / "checkpoints" / "last.ckpt", *run_dir.glob("hpc_ckpt_*.ckpt")] if p.is_file()]
    return max(candidates, key=lambda p: p.stat().st_mtime_ns) if candidates else None


def _run_went_past(run_dir: Path, checkpoint: Path) -> bool:
    """Whether `run_dir`'s newest checkpoint is at a later generator step than `checkpoint`."""
    newest = newest_checkpoint(run_dir)
    return newest is not None and checkpoint_step(newest) > checkpoint_step(checkpoint)


def checkpoint_step(path: Path) -> int:
    """The generator step a checkpoint was written at; -1 for a file that is not a readable checkpoint (the
    resume then fails with gan_lightning.gans.loading's clear error). Memory-mapped: cheap for large files."""
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"])
    except Exception:  # any unreadable file: truncated, foreign, not a dict
        return -1


def _versions(base: Path) -> list[Path]:
    return [p for p in base.glob("version_*") if p.is_dir()] if base.is_dir() else []


def _version_number(path: Path) -> int:
    match = re.fullmatch(r"version_(\d+)", path.name)
    return int(match.group(1)) if match else -1


def job_id() -> str | None:
    """The SLURM job id or torchrun run id every process of one job shares, if any."""
    job = os.environ.get("SLURM_JOB_ID") or os.environ.get("TORCHELASTIC_RUN_ID")
    return job if job and job != "none" else None


def _new_run_dir(base: Path) -> Path:
    job = job_id()
    if job:  # every process of a multi-node job must pick the same folder
        return base / f"version_{job}"
    taken = [_version_number(p) for p in _versions(base)]
    return base / f"version_{max(taken, default=-1) + 1}"


def is_global_rank_zero_process() -> bool:
    """Whether this process will be global rank 0, from what launchers put in the environment before the
    process group exists: torchrun's RANK, srun's SLURM_PROCID, or Lightning's NODE_RANK and LOCAL_RANK."""
    for name in ("RANK", "SLURM_PROCID"):
        if os.environ.get(name):
            return int(os.environ[name]) == 0
    return int(os.environ.get("NODE_RANK") or 0) == 0 and int(os.environ.get("LOCAL_RANK") or 0) == 0


def wandb_run_id(run_dir: Path) -> str:
    """A W&B run id kept in the run folder, so a resumed run continues the same W&B run.

    Only global rank 0 reads or writes the file (its W&B run is the only one Lightning opens); other
    ranks get a placeholder, so ranks never race on the file and a resume always finds rank 0's id.
    """
    if not is_global_rank_zero_process():
        return "not-rank-zero"
    id_file = run_dir / "wandb_id.txt"
    if id_file.is_file():
        return id_file.read_text().strip()
    run_id = uuid.uuid4().hex[:8]  # W&B ids are short lowercase alphanumerics
    run_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(run_id + "\n")
    return run_id
