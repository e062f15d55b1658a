"""Helpers for the end-to-end tests that run scripts/fit.py as a real process.

Tiny configs (16x16 images, width-8 nets, a generated dataset of a few hundred images), a runner
that starts `python scripts/fit.py` with the repository on PYTHONPATH (so configs can name the
test-only callbacks below), and readers for what a run leaves on disk.
"""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import yaml

from gan_lightning.data import DemoDataModule

REPO = Path(__file__).resolve().parents[1]
FIT = REPO / "scripts" / "fit.py"
SAMPLE = REPO / "scripts" / "sample.py"

MODULES = {
    "dcgan": {
        "class_path": "gan_lightning.gans.DCGANModule",
        # BatchNorm in D (the DCGAN default), the case DDP's buffer broadcast matters for.
        "init_args": {"latent_dim": 8, "generator_options": {"width": 8}, "discriminator_options": {"width": 8}},
    },
    "wgan_gp": {
        "class_path": "gan_lightning.gans.WGANGPModule",
        "init_args": {
            "latent_dim": 8,
            "n_critic": 2,
            "generator_options": {"width": 8},
            "discriminator_options": {"width": 8},
        },
    },
}


def tiny_config(
    folder: Path,
    module: str = "dcgan",
    max_steps: int = 12,
    num_images: int = 100,
    batch_size: int = 8,
    every_n_train_steps: int | None = 4,
    model: dict | None = None,
    data: dict | None = None,
    trainer: dict | None = None,
    name: str = "tiny",
    data_class: str = "gan_lightning.data.DemoDataModule",
) -> Path:
    """Write `<folder>/<name>.yaml`: a run of a few seconds on a CPU, everything under `folder`."""
    config = {
        "seed_everything": 0,
        "trainer": {
            "max_steps": max_steps,
            "max_epochs": -1,
            "log_every_n_steps": 1,
            "default_root_dir": str(folder / "runs"),
            "accelerator": "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
        }
        | (trainer or {}),
        "model": {
            "class_path": MODULES[module]["class_path"],
            "init_args": MODULES[module]["init_args"] | {"num_fixed_samples": 4} | (model or {}),
        },
        "data": {
            "class_path": data_class,
            "init_args": {
                "image_size": 16,
                "batch_size": batch_size,
                "num_images": num_images,
                "cache_dir": str(folder / "cache"),
                "root": str(folder / "data"),
            }
            | (data or {}),
        },
        "samples": {"every_n_steps": None, "every_n_epochs": None, "save_png": False},
        "checkpoint": {"every_n_train_steps": every_n_train_steps},
        "fid": {"enabled": False},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """In-process runs use one intra-op thread, like the fit subprocesses (fit_env): the same
    arithmetic in both, so their results can be compared bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fit_env(**extra: str) -> dict[str, str]:
    """The environment of a fit process: repo on PYTHONPATH, no inherited run folder or SLURM job,
    one intra-op thread (on a busy 2-core machine torch's thread pool makes these tiny nets ~100x
    slower, and two DDP ranks share the cores anyway)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "GAN_LIGHTNING_RUN_DIR"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT makes a hung process print its stack (dump_stacks_and_kill)
    return env | extra


def run_fit(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run scripts/fit.py to the end; returns the finished process (stdout and stderr captured).

    If it has not finished after `timeout` seconds, every process of the run (DDP ranks included) prints
    its Python stack, and the test fails with them (dump_stacks_and_kill)."""
    process = start_fit(config, *args, env=env, stderr=subprocess.PIPE)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(dump_stacks_and_kill(process, f"the run did not finish in {timeout:g} s")) from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def finish(process: subprocess.Popen, timeout: float) -> str:
    """The output of a run started by start_fit, once it has ended; on a timeout the test fails with the
    stack of every process of the run (dump_stacks_and_kill)."""
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        raise AssertionError(dump_stacks_and_kill(process, f"the run did not end in {timeout:g} s")) from None


def dump_stacks_and_kill(process: subprocess.Popen, why: str) -> str:
    """SIGABRT to every process of a run started by start_fit: Python's faulthandler (PYTHONFAULTHANDLER,
    set by fit_env) prints each one's stack, all threads, then it ends. Returns `why` and that output."""
    try:
        os.killpg(process.pid, signal.SIGABRT)
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    except ProcessLookupError:
        out, err = process.communicate()
    stdout, stderr = (out or "")[-6000:], (err or "")[-30000:]
    return f"{why}; the stack of every process of the run follows.\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"


def start_fit(
    config: Path, *args: str, env: dict[str, str] | None = None, stderr: int = subprocess.STDOUT
) -> subprocess.Popen:
    """Start scripts/fit.py without waiting (for tests that signal it), in a process group of its own, so
    that dump_stacks_and_kill reaches every rank it launches."""
    return subprocess.Popen(
        [sys.executable, str(FIT), "--config", str(config), *args],
        cwd=config.parent,
        env=env or fit_env(),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def explain(process: subprocess.CompletedProcess) -> str:
    """The end of a failed run's output, for assertion messages, after the lines the project itself printed
    about what went wrong (a rank's collective failure comes long before the tracebacks)."""
    ours = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("gan-lightning:")]
    return (
        f"rc={process.returncode}\n--- gan-lightning ---\n"
        + "\n".join(ours[-10:])
        + f"\n--- stdout ---\n{process.stdout[-3000:]}\n--- stderr ---\n{process.stderr[-6000:]}"
    )


def run_dirs(folder: Path, name: str = "tiny") -> list[Path]:
    """The run folders `runs/<name>/version_*` under `folder`, oldest first."""
    return sorted((folder / "runs" / name).glob("version_*"), key=lambda p: int(p.name.split("_")[1]))


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def training_state(checkpoint: dict) -> dict[str, object]:
    """Everything a run continues from: weights (G, D, EMA, fixed noise), both optimizers, schedulers,
    the noise seed, and the step counter."""
    return {
        "state_dict": checkpoint["state_dict"],
        "optimizer_states": checkpoint["optimizer_states"],
        "lr_schedulers": checkpoint.get("lr_schedulers", []),
        "noise_seed": checkpoint["gan_lightning"]["noise_seed"],
        "global_step": checkpoint["global_step"],
    }


def assert_identical(a: object, b: object, where: str = "") -> None:
    """Bit-identical nested state: tensors equal element for element (NaN never equals), rest with ==."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), f"{where}: tensors differ (max abs diff {(a.double() - b.double()).abs().max()})"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for key in a:
            assert_identical(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


class SignalAtStep(pl.Callback):
    """Test-only: the process sends itself `signal_name` at generator step `step` (0-based count of
    steps done), at an exactly known point of the run, as a cluster would at any moment:
    hook "batch": at the end of the step; "epoch": at the end of the epoch that step ends;
    "mid_step": inside the step, after the discriminator's update and before the generator's.
    `ranks`: which ranks signal themselves (default: rank 0)."""

    def __init__(
        self, step: int, signal_name: str = "SIGTERM", hook: str = "batch", ranks: list[int] | None = None
    ) -> None:
        self.step = step
        self.signal = getattr(signal, signal_name)
        self.hook = hook
        self.ranks = ranks if ranks is not None else [0]

    def _maybe_signal(self, trainer: pl.Trainer, hook: str, step: int) -> None:
        if hook == self.hook and step == self.step and trainer.global_rank in self.ranks:
            os.kill(os.getpid(), self.signal)

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        self._maybe_signal(trainer, "batch", trainer.global_step)

    def on_train_epoch_end(self, trainer: pl.Trainer, *args) -> None:
        self._maybe_signal(trainer, "epoch", trainer.global_step)

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer) -> None:
        if optimizer is trainer.optimizers[0]:  # the generator's: the discriminator has just been updated
            self._maybe_signal(trainer, "mid_step", trainer.global_step + 1)


class DumpRankState(pl.Callback):
    """Test-only: each rank writes `<out_dir>/rank<R>.pt` at the end of training with its weights,
    optimizer states, the noise its generator received in the first step, the discriminator's
    buffers as its first forward of the last step saw them, and every real batch it trained on."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.noise: list[torch.Tensor] = []
        self.batches: list[torch.Tensor] = []
        self.d_buffers: dict[str, torch.Tensor] = {}
        self._step_of_last_d_forward = -1
        pl_module.generator.register_forward_pre_hook(self._record_noise)
        pl_module.discriminator.register_forward_pre_hook(self._record_buffers)
        self.module = pl_module

    def _record_noise(self, net, inputs) -> None:
        if not self.noise:
            self.noise.append(inputs[0].detach().clone())

    def _record_buffers(self, net, inputs) -> None:
        step = self.module.global_step
        if step != self._step_of_last_d_forward:  # first discriminator forward of this step
            self._step_of_last_d_forward = step
            self.d_buffers = {name: b.detach().clone() for name, b in net.named_buffers()}

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        self.batches.append(batch.detach().clone())

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimizers = [o.optimizer if hasattr(o, "optimizer") else o for o in trainer.optimizers]
        state = {
            "parameters": {name: p.detach().clone() for name, p in pl_module.named_parameters()},
            "buffers": {name: b.detach().clone() for name, b in pl_module.named_buffers()},
            "optimizers": [o.state_dict() for o in optimizers],
            "first_noise": self.noise[0],
            "d_buffers_at_last_step_start": self.d_buffers,
            "batches": torch.cat(self.batches),
            "global_step": trainer.global_step,
            "world_size": trainer.world_size,
        }
        torch.save(state, Path(self.out_dir) / f"rank{trainer.global_rank}.pt")


def fit_in_process(config: Path, *args: str) -> None:
    """Run the real CLI (gan_lightning.cli.main) in this process: the same code path as
    scripts/fit.py without the seconds of interpreter start-up."""
    from gan_lightning.cli import main

    main(["--config", str(config), *args])


def sample_main():
    """scripts/sample.py's main(argv), imported from the file (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("sample_script", SAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def last_checkpoint(folder: Path, name: str = "tiny") -> Path:
    """`checkpoints/last.ckpt` of the newest run folder under `folder`."""
    return run_dirs(folder, name)[-1] / "checkpoints" / "last.ckpt"


class WriteProgress(pl.Callback):
    """Test-only: after every generator step, (atomically) write the step count to `path`, so a
    test can tell where a run it is about to signal or kill stands."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.global_rank != 0:  # one writer: ranks racing on one temp file would crash a run
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(str(trainer.global_step))
        os.replace(tmp, self.path)


def wait_for_step(progress: Path, process: subprocess.Popen, step: int, timeout: float = 120) -> int:
    """Block until the run behind `process` has done at least `step` generator steps."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if progress.is_file() and int(progress.read_text() or 0) >= step:
            return int(progress.read_text())
        if process.poll() is not None:
            raise AssertionError(
                f"the run ended (rc={process.returncode}) before step {step}:\n{process.stdout.read()[-4000:]}"
            )
        time.sleep(0.02)
    raise AssertionError(dump_stacks_and_kill(process, f"the run did not reach step {step} in {timeout} s"))


def slurm_env(job_id: str = "4242", ntasks: int = 1, rank: int = 0, port: int | None = None) -> dict[str, str]:
    """What srun puts in a task's environment (read by Lightning's SLURMEnvironment), for a job on one node."""
    env = {
        "SLURM_JOB_ID": job_id,
        "SLURM_JOB_NAME": "gan",
        "SLURM_NTASKS": str(ntasks),
        "SLURM_NTASKS_PER_NODE": str(ntasks),
        "SLURM_NNODES": "1",
        "SLURM_NODEID": "0",
        "SLURM_PROCID": str(rank),
        "SLURM_LOCALID": str(rank),
        "SLURM_NODELIST": "localhost",
    }
    if port is not None:
        env |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    return fit_env(**env)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NaNBatchDemo(DemoDataModule):
    """Test-only: the demo dataset, except that training batch number `nan_at` (0-based, counted over
    the whole run) arrives full of NaN, as a corrupt image file decoded to garbage would; under DDP only
    on rank `nan_rank` (default: every rank)."""

    def __init__(self, nan_at: int = 0, nan_rank: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.nan_at = nan_at
        self.nan_rank = nan_rank
        self.served = 0

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images = super().on_after_batch_transfer(batch, dataloader_idx)
        if self.trainer is not None and self.trainer.training:
            if self.served == self.nan_at and self.nan_rank in (None, self.trainer.global_rank):
                images = torch.full_like(images, float("nan"))
            self.served += 1
        return images


class RankZeroCollective(pl.Callback):
    """Test-only: at generator step `step`, rank 0 alone reads Lightning's `trainer.log_dir`, a broadcast
    (the mistake that hung every multi-GPU run of the shipped configs at their first grid)."""

    def __init__(self, step: int = 2) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.global_step == self.step and trainer.is_global_zero:
            trainer.log_dir  # noqa: B018 (the read is the point)
