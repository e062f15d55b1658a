"""Weight initialisation, one scheme per source the recipes follow.

A GAN trained at a high learning rate is sensitive to its starting point, so each recipe config
names the scheme of the code it reproduces (the nets' `init` option):

- "dcgan": the PyTorch DCGAN tutorial's `weights_init`
  (https://pytorch.org/tutorials/beginner/dcgan_faces_tutorial.html), which eriklindernoren/PyTorch-GAN
  (implementations/dcgan) also uses: conv and transposed-conv weights ~ N(0, std), batch norm scale
  ~ N(1, std) and shift 0. Conv biases, linear layers and other norm layers keep PyTorch's defaults.
- "d2l": every parameter ~ N(0, std), batch norm scale and shift included, as the d2l.ai DCGAN
  chapter does (`for w in net.parameters(): nn.init.normal_(w, 0, 0.02)`;
  https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html). Batch norm then starts with
  its output scaled to almost zero.
- "glorot": MATLAB's defaults for convolution2dLayer, transposedConv2dLayer and fully connected
  (projectAndReshape) layers: Glorot-uniform weights, zero biases; norm layers scale 1, shift 0.
- "pytorch": PyTorch's own defaults, untouched (code that sets no initialisation).
"""

from torch import Tensor, nn
from torch.nn.utils import parametrize

INIT_SCHEMES = ("dcgan", "d2l", "glorot", "pytorch")

CONV_LAYERS = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
# Every layer that multiplies by a weight matrix (what spectral norm normalises).
LINEAR_LAYERS = (nn.Linear, *CONV_LAYERS)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
# Normalisation layers with a scale and a shift (elementwise_affine / affine may turn them off).
NORM_LAYERS = (
    *BATCH_NORMS,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)


def check_init(scheme: str, std: float) -> None:
    """ValueError unless `scheme` is known and, for the normal schemes, std > 0."""
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {', '.join(INIT_SCHEMES)}; got {scheme!r}")
    if scheme in ("dcgan", "d2l") and not std > 0:
        raise ValueError(f"init_std must be > 0, got {std}")


def init_weights(module: nn.Module, scheme: str = "dcgan", std: float = 0.02) -> None:
    """Initialise every layer of `module` in place with `scheme` (see the module docstring)."""
    check_init(scheme, std)
    if scheme == "d2l":
        for parameter in module.parameters():
            nn.init.normal_(parameter, 0.0, std)
        return
    for layer in module.modules():
        if scheme == "dcgan":
            if isinstance(layer, CONV_LAYERS):
                nn.init.normal_(initialisable_weight(layer), 0.0, std)
            elif isinstance(layer, BATCH_NORMS) and layer.weight is not None:
                nn.init.normal_(layer.weight, 1.0, std)
                nn.init.zeros_(layer.bias)
        elif scheme == "glorot":
            if isinstance(layer, LINEAR_LAYERS):
                # Glorot's bound sqrt(6 / (fan_in + fan_out)); for a k x k conv both fans carry the
                # k * k factor, as in MATLAB, so transposed convs get the same bound.
                nn.init.xavier_uniform_(initialisable_weight(layer))
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
            elif isinstance(layer, NORM_LAYERS) and getattr(layer, "weight", None) is not None:
                nn.init.ones_(layer.weight)
                nn.init.zeros_(layer.bias)


def initialisable_weight(layer: nn.Module) -> Tensor:
    """The tensor an initialiser must fill: `layer.weight`, or, when the weight is parametrized
    (spectral norm), the `original` it is computed from: filling the computed weight in place
    would change a temporary copy and be silently lost."""
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight
