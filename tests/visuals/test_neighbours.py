"""Nearest real neighbours: an image's nearest neighbour is itself, in pixel and in Inception space."""

import torch

from gan_lightning.visuals.neighbours import inception_space, nearest, neighbours_figure, pixel_space
from tests.conftest import needs_fid_helper


def images(count: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (count, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_nearest_orders_by_euclidean_distance():
    pool = torch.tensor([[0.0, 0.0], [10.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    distances, indices = nearest(torch.tensor([[0.0, 0.0], [9.0, 1.0]]), pool, k=3)
    assert indices.tolist() == [[0, 3, 2], [1, 2, 3]]
    assert distances[0].tolist() == [0.0, 2**0.5, 5.0]


def test_in_pixel_space_each_real_image_finds_itself_first():
    pool = images(20, seed=0)
    queries = pool[[4, 11, 17]]
    figure, indices = neighbours_figure(queries, pool, pixel_space(), k=3)
    assert indices[:, 0].tolist() == [4, 11, 17]
    # The figure: a column of 3 samples beside a 3 x 3 grid of neighbours, under a caption band.
    assert figure.ndim == 3 and figure.shape[2] == 3 and figure.shape[0] > 3 * 18


@needs_fid_helper
def test_in_inception_space_each_real_image_finds_itself_first(converted_weights):
    weights, _ = converted_weights
    space = inception_space(str(weights))
    assert space is not None and "Inception" in space.name
    pool = images(12, seed=1)
    _, indices = neighbours_figure(pool[[2, 9]], pool, space, k=2, batch_size=6)
    assert indices[:, 0].tolist() == [2, 9]


def test_without_weights_there_is_no_inception_space(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    monkeypatch.delenv("GAN_LIGHTNING_FID_WEIGHTS", raising=False)
    assert inception_space(None) is None
