"""Exponential moving average of the generator's weights, used for sampling and FID.

torch.optim.swa_utils.AveragedModel does the same job, but its update reads a tensor counter on
the host (`if self.n_averaged == 0`), a device sync on every generator step; this is the same
arithmetic with one fused foreach kernel and no sync.
"""

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of `model`, updated by `update_ema`; `GANModule.sample` runs it in eval mode."""
    ema = copy.deepcopy(model)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (BN statistics) are copied."""
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in model.parameters()], 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), model.buffers()):
        ema_buffer.copy_(buffer)
