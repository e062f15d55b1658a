"""Images as the Inception network takes them, and a classifier head that IS can or cannot use."""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from gan_lightning.metrics.evaluation import Evaluator
from gan_lightning.metrics.inception import classifier_head_problem, to_fid_input
from tests.conftest import needs_fid_helper
from tests.metrics.conftest import SmallExtractor


def test_to_fid_input_matches_png_written_by_save_image(tmp_path):
    g = torch.Generator().manual_seed(1)
    x = torch.rand((1, 3, 8, 8), generator=g) * 2.2 - 1.1  # a little outside [-1, 1] too
    x[0, 0, 0, :4] = torch.tensor([-1.0, 1.0, 0.0, 1 / 255])
    torchvision.utils.save_image(x, tmp_path / "x.png", normalize=True, value_range=(-1, 1))
    png = torch.from_numpy(np.array(Image.open(tmp_path / "x.png"))).permute(2, 0, 1).unsqueeze(0)
    assert torch.equal(to_fid_input(x), png)


def test_to_fid_input_greys_become_three_equal_channels_and_bad_input_is_refused():
    grey = torch.randint(0, 256, (2, 1, 5, 5), dtype=torch.uint8)
    rgb = to_fid_input(grey)
    assert rgb.shape == (2, 3, 5, 5) and rgb.dtype == torch.uint8
    assert all(torch.equal(rgb[:, c], grey[:, 0]) for c in range(3))
    with pytest.raises(ValueError, match="shape"):
        to_fid_input(torch.zeros(2, 4, 5, 5, dtype=torch.uint8))
    with pytest.raises(TypeError, match="dtype"):
        to_fid_input(torch.zeros(2, 3, 5, 5, dtype=torch.int64))


@needs_fid_helper
def test_is_is_unavailable_with_its_reason_on_weights_without_a_head(converted_weights):
    assert classifier_head_problem(SmallExtractor()) is None  # a finite head: IS can be computed
    evaluator = Evaluator.from_weights(str(converted_weights[0]), ["fid", "is"], "64")
    assert evaluator.head_problem is not None and "no classifier head" in evaluator.head_problem
    assert "logits_unbiased" in evaluator.extractor.features_list  # asked for in the same single pass
