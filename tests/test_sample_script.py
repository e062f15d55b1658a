"""scripts/sample.py on a real checkpoint: seedable, a grid or separate PNGs, from the EMA generator."""

import torch
from torchvision.io import read_image

from gan_lightning.gans.loading import load_gan
from tests.fit_runs import fit_in_process, last_checkpoint, load, one_thread, sample_main, tiny_config  # noqa: F401


def as_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> the bytes a PNG of them holds (rounded to nearest)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def test_samples_are_seeded_and_come_from_the_ema_generator(tmp_path):
    cfg = tiny_config(
        tmp_path, "dcgan", max_steps=5, model={"ema_decay": 0.5, "lr": 0.02}
    )  # big steps: EMA and G differ visibly
    fit_in_process(cfg)
    ckpt = last_checkpoint(tmp_path)
    sample = sample_main()
    common = ["--ckpt", str(ckpt), "--num", "6", "--device", "cpu", "--batch_size", "4"]

    # A grid: the same seed gives the same file, another seed another one.
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert sample([*common, "--seed", seed, "--nrow", "3", "--out", str(tmp_path / f"{name}.png")]) == 0
    grid = read_image(str(tmp_path / "a.png"))
    assert grid.shape == (3, 2 * (16 + 2) + 2, 3 * (16 + 2) + 2)  # 2 rows x 3 of 16px images, 2px padding
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "c.png").read_bytes()

    # Separate PNGs: one per sample, each the EMA generator's image for that seed's latent vector.
    assert sample([*common, "--seed", "3", "--separate", "--out", str(tmp_path / "each")]) == 0
    files = sorted((tmp_path / "each").glob("*.png"))
    assert [f.name for f in files] == [f"sample_{i:05d}.png" for i in range(6)]
    written = torch.stack([read_image(str(f)) for f in files])

    state = load(ckpt)["state_dict"]
    ema = {k.removeprefix("generator_ema."): v for k, v in state.items() if k.startswith("generator_ema.")}
    raw = {k.removeprefix("generator."): v for k, v in state.items() if k.startswith("generator.")}
    assert any(not torch.equal(ema[k], raw[k]) for k in ema)  # the two generators really differ
    generator = load_gan(ckpt).generator_ema.eval()
    latent = torch.randn(6, generator.latent_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        from_ema = as_uint8(generator(latent))
        generator.load_state_dict(raw)
        from_raw = as_uint8(generator(latent))
    assert (written.int() - from_ema.int()).abs().max() <= 1  # rounding may differ by one level
    assert (written.int() - from_raw.int()).abs().max() > 1
