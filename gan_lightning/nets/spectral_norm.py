"""Spectral normalisation of a discriminator (Miyato et al. 2018, arXiv:1802.05957).

Every conv and linear weight W is used as W / sigma(W), sigma its largest singular value, estimated
by one power iteration per training forward (torch.nn.utils.parametrizations.spectral_norm), which
bounds the discriminator's Lipschitz constant. Any discriminator takes it:
`discriminator_options: {spectral_norm: true}` (see `build_discriminator`).

What the rest of the package must respect:
- Initialisation. Under the parametrization `layer.weight` is computed on each access; filling it in
  place (nn.init.normal_(layer.weight)) changes a temporary and is silently lost. `init_weights`
  fills `layer.parametrizations.weight.original` instead, and the nets are initialised before
  `add_spectral_norm` runs, so the power iteration starts from the initialised weights.
- Checkpoints and resume. The power-iteration vectors u and v are buffers
  (`...parametrizations.weight.0._u` / `_v`) in the state dict: a resumed run continues from the
  same estimates, bit for bit.
- DDP. u and v are updated in every training-mode forward from the weights alone (no data), the
  weights are the same on every rank (gradients are averaged), and DDP broadcasts rank 0's buffers
  when it wraps the model: every rank computes the same vectors. GANModule's end-of-step mean of
  all floating buffers then leaves them as they are; should one rank ever run an extra training-mode
  forward (a rank-0-only callback), that mean puts the ranks back in agreement, and the next power
  iteration renormalises u and v. Evaluation-mode forwards do not iterate.
- channels_last, bf16, EMA: the parametrization follows `.to(memory_format=...)` (the weight it
  returns keeps the original's layout); under bf16 autocast it runs as is (on CUDA the power
  iteration then runs in bf16; torch before 2.4 failed there, PyTorch issue 125544); it touches only
  the discriminator (the EMA copy is of the generator).
"""

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gan_lightning.nets.init import LINEAR_LAYERS


def add_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral-normalise the weight of every conv, transposed conv and linear layer of `net`, in place.

    Raises ValueError if `net` has no such layer, or if a weight already has a parametrization.
    """
    layers = [module for module in net.modules() if isinstance(module, LINEAR_LAYERS)]
    if not layers:
        raise ValueError(f"spectral_norm: {type(net).__name__} has no conv or linear layer to normalise")
    for layer in layers:
        if parametrize.is_parametrized(layer, "weight"):
            raise ValueError(
                f"spectral_norm: a {type(layer).__name__} of {type(net).__name__} already has a "
                "parametrized weight (spectral norm applied twice?)"
            )
        spectral_norm(layer, n_power_iterations=1)
    return net
