"""Weight initialisation shared by every net: the DCGAN convention N(0, 0.02)."""

from torch import Tensor, nn
from torch.nn.utils import parametrize

# Layers whose weight is a linear map (drawn from N(0, std)).
LINEAR_LAYERS = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
# Normalisation layers whose weight is a scale (drawn from N(1, std)).
NORM_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Initialise `module` in place, as RECIPES §1 asks ("every weight N(0, 0.02)").

    Conv, transposed conv and linear weights ~ N(0, std), their biases = 0.
    Norm layers' scale ~ N(1, std) and shift = 0. This is the PyTorch DCGAN tutorial's
    convention. d2l instead draws *every* parameter, BN gamma and beta included, from
    N(0, 0.02), which makes batch norm scale its output to almost zero at the start; we
    deliberately keep the scale near 1 so a freshly built net passes signal through.
    """
    if std <= 0:
        raise ValueError(f"init_std must be > 0, got {std}")
    for layer in module.modules():
        if isinstance(layer, LINEAR_LAYERS):
            nn.init.normal_(initialisable_weight(layer), 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, NORM_LAYERS):
            if layer.weight is not None:  # affine=False norms have no parameters
                nn.init.normal_(layer.weight, 1.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def initialisable_weight(layer: nn.Module) -> Tensor:
    """The tensor an initialiser must fill: `layer.weight`, or, when the weight is parametrized
    (spectral norm), the `original` it is computed from: filling the computed weight in place
    would change a temporary copy and be silently lost."""
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight
