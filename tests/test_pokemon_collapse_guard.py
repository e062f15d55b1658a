"""The Pokemon recipe, run briefly on real sprites, draws different images for different latents.

Setting (gan_lightning.benchmarks.parity.GUARD): configs/pokemon.yaml through the real CLI on 512
real sprites of the shared pokemon.zip, batch 32 (the recipe's 256 would be 2 steps), 16 generator
steps; then 64 samples of fixed latents drawn as the config samples them. Spread: the mean over
pixels of the standard deviation across samples (0 when every latent draws the same image).

Threshold: half the smallest spread of d2l's own loop, sampled its way (batch statistics), in the
same setting over seeds 0-4, measured with
    python scripts/parity.py --guard --seeds 0 1 2 3 4 --data_root ../shared/data --out ../parity_runs
which printed spreads of 0.0074 to 0.0204, hence 0.0037. d2l's initialisation (batch norm
scale ~ N(0, 0.02)) starts its generator almost constant, so spreads are this small this early;
sampling with running statistics this early draws nearly one image for every latent (0.0001
to 0.0036 over the same seeds).
"""

from pathlib import Path

import torch

from gan_lightning.benchmarks.parity import GUARD, guard_noise, spread, write_pokemon_subset
from gan_lightning.cli import main
from gan_lightning.gans.loading import load_gan
from tests.data.builders import SHARED_DATA, needs_shared

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "pokemon.yaml"
THRESHOLD = 0.0037


@needs_shared("pokemon.zip")
def test_short_pokemon_run_on_real_sprites_draws_distinct_samples(tmp_path):
    torch.set_num_threads(1)
    write_pokemon_subset(SHARED_DATA / "pokemon.zip", tmp_path / "data" / "pokemon.zip", GUARD["images"])
    main(
        [
            "--config",
            str(CONFIG),
            "--data.root",
            str(tmp_path / "data"),
            "--data.cache_dir",
            str(tmp_path / "cache"),
            "--data.download",
            "false",
            "--data.batch_size",
            str(GUARD["batch_size"]),
            "--trainer.max_steps",
            str(GUARD["steps"]),
            "--trainer.max_epochs",
            "-1",
            "--trainer.default_root_dir",
            str(tmp_path / "runs"),
            "--trainer.accelerator",
            "cpu",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.enable_model_summary",
            "false",
            "--fid.enabled",
            "false",
            "--samples.save_png",
            "false",
        ]
    )
    (checkpoint,) = (tmp_path / "runs").glob("*/version_*/checkpoints/last.ckpt")
    module = load_gan(checkpoint)
    samples = module.sample(guard_noise(module.latent_dim))
    assert samples.shape == (GUARD["samples"], 3, 64, 64)
    assert spread(samples) >= THRESHOLD, f"samples of distinct latents are (nearly) identical: {spread(samples):.4f}"
