"""scripts/sample.py on a real checkpoint: seedable, a grid or separate PNGs, from the EMA generator."""

import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.io import read_image

from gan_lightning.data import DemoDataModule
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


# ---- latent walks, real vs fake, nearest neighbours --------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(checkpoint, folder, dataset images) of a 12-step tiny DCGAN run whose samples depend strongly on
    the latent (a high learning rate: images of two latents differ by ~35 levels on average, not 2)."""
    folder = tmp_path_factory.mktemp("sample_modes")
    torch.set_num_threads(1)
    fit_in_process(tiny_config(folder, "dcgan", max_steps=12, num_images=40, model={"lr": 0.05}))
    data = DemoDataModule(image_size=16, num_images=40, cache_dir=str(folder / "cache"), root=str(folder / "data"))
    data.prepare_data()
    data.setup("fit")
    return last_checkpoint(folder), folder, data.images()


def png(path) -> np.ndarray:
    return read_image(str(path)).permute(1, 2, 0).numpy()


def find(figure: np.ndarray, tile: np.ndarray) -> list[tuple[int, int]]:
    """Every (y, x) where `tile` (h, w, 3) appears in `figure` exactly."""
    h, w = tile.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(figure, (h, w, 3))[:, :, 0]
    return [tuple(int(v) for v in p) for p in np.argwhere((windows == tile).all(axis=(2, 3, 4)))]


def seeded_latents(ckpt, num: int, seed: int) -> torch.Tensor:
    """The latents sample.py draws for --seed `seed` (the documented contract: torch.randn on the CPU)."""
    return torch.randn(num, load_gan(ckpt).latent_dim, generator=torch.Generator().manual_seed(seed))


def generator_images(ckpt, latents: torch.Tensor) -> np.ndarray:
    """The checkpoint's generator's images of `latents` as PNG bytes hold them, (N, H, W, 3)."""
    generator = load_gan(ckpt).generator.eval()
    with torch.no_grad():
        return as_uint8(generator(latents)).permute(0, 2, 3, 1).numpy()


def test_interpolate_writes_seeded_walks_as_a_grid_and_a_gif(trained, tmp_path):
    ckpt, _, _ = trained
    sample = sample_main()
    common = ["--ckpt", str(ckpt), "--device", "cpu", "--interpolate", "5", "--num", "3"]
    for name, seed in (("a", "2"), ("b", "2"), ("c", "3")):
        assert sample([*common, "--seed", seed, "--out", str(tmp_path / f"{name}.png")]) == 0
    grid = png(tmp_path / "a.png")
    assert grid.shape == (3 * 18 + 2, 5 * 18 + 2, 3)  # 3 walks of 5 steps, 16 px tiles, 2 px padding
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "c.png").read_bytes()
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 5 + 3  # there and back: steps 0..4, then 3, 2, 1

    # Each row starts and ends at the images of its two seeded latents.
    ends = torch.randn(3, 2, load_gan(ckpt).latent_dim, generator=torch.Generator().manual_seed(2))
    starts, stops = generator_images(ckpt, ends[:, 0]), generator_images(ckpt, ends[:, 1])
    for row in range(3):
        top = 2 + row * 18
        assert np.abs(grid[top : top + 16, 2:18].astype(int) - starts[row]).max() <= 1
        assert np.abs(grid[top : top + 16, 2 + 4 * 18 : 18 + 4 * 18].astype(int) - stops[row]).max() <= 1


def test_real_vs_fake_puts_dataset_images_left_of_generated_ones(trained, tmp_path):
    ckpt, _, reals = trained
    out = tmp_path / "rvf.png"
    assert sample_main()(["--ckpt", str(ckpt), "--device", "cpu", "--real_vs_fake", "--num", "4", "--nrow", "2",
                          "--seed", "5", "--out", str(out)]) == 0  # fmt: skip
    figure = png(out)
    real_spots = [spot for image in reals.permute(0, 2, 3, 1).numpy() for spot in find(figure, image)]
    fake = generator_images(ckpt, seeded_latents(ckpt, 4, seed=5))
    fake_spots = [spot for image in fake for spot in find(figure, image)]
    assert len(real_spots) == 4 and len(fake_spots) == 4, (real_spots, fake_spots)
    assert max(x for _, x in real_spots) < min(x for _, x in fake_spots)  # real on the left
    again = tmp_path / "again.png"
    assert sample_main()(["--ckpt", str(ckpt), "--device", "cpu", "--real_vs_fake", "--num", "4", "--nrow", "2",
                          "--seed", "5", "--out", str(again)]) == 0  # fmt: skip
    assert again.read_bytes() == out.read_bytes()


def test_nearest_shows_each_sample_beside_its_nearest_real_images(trained, tmp_path, monkeypatch, capsys):
    ckpt, _, reals = trained
    for variable in ("XDG_CACHE_HOME", "TORCH_HOME"):  # no FID weights: pixel space
        monkeypatch.setenv(variable, str(tmp_path / "empty"))
    monkeypatch.delenv("GAN_LIGHTNING_FID_WEIGHTS", raising=False)
    out = tmp_path / "nearest.png"
    args = ["--ckpt", str(ckpt), "--device", "cpu", "--nearest", "2", "--neighbours", "3", "--seed", "1"]
    assert sample_main()([*args, "--out", str(out)]) == 0
    assert "pixel space" in capsys.readouterr().err
    figure = png(out)
    samples = generator_images(ckpt, seeded_latents(ckpt, 2, seed=1))
    pool = reals.permute(0, 2, 3, 1).numpy()
    for sample in samples:
        ((y, x),) = find(figure, sample)
        distances = ((pool.astype(float) - sample.astype(float)) ** 2).sum(axis=(1, 2, 3))
        expected = np.argsort(distances, kind="stable")[:3]
        spots = [find(figure[y : y + 16], pool[i]) for i in expected]
        assert all(len(s) == 1 and s[0][0] == 0 for s in spots), "a nearest real image is not on the sample's row"
        xs = [s[0][1] for s in spots]
        assert x < xs[0] < xs[1] < xs[2]  # nearest first, right of the sample


def test_bad_input_gets_one_clear_error_and_writes_nothing(trained, tmp_path, capsys):
    ckpt, _, _ = trained
    sample = sample_main()
    with pytest.raises(SystemExit) as exit_info:
        sample(["--ckpt", str(ckpt), "--interpolate", "1", "--out", str(tmp_path / "walk.png")])
    assert exit_info.value.code == 2 and "K >= 2" in capsys.readouterr().err

    lonely = tmp_path / "elsewhere" / "model.ckpt"  # a checkpoint with no run folder around it
    lonely.parent.mkdir()
    shutil.copy(ckpt, lonely)
    for mode in (["--nearest", "2"], ["--real_vs_fake"]):
        assert sample(["--ckpt", str(lonely), *mode, "--out", str(tmp_path / "x.png")]) == 2
        assert "config.yaml" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.gif"))
