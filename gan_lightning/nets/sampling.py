"""How a generator draws samples: batch norm with running statistics, or with the sampled batch's own."""

import contextlib
from collections.abc import Iterator

from torch import nn

from gan_lightning.nets.init import BATCH_NORMS

SAMPLE_BATCH_NORM = ("running", "batch")


@contextlib.contextmanager
def sampling_mode(net: nn.Module, batch_norm: str = "running") -> Iterator[nn.Module]:
    """`net` set up to draw samples (dropout off), then restored as it was.

    batch_norm "running": eval mode, batch norm uses its running statistics, so a sample does not
    depend on the rest of its batch. "batch": batch norm normalises with the statistics of the
    sampled batch, as in training (d2l and PyTorch-GAN sample that way), and the running
    statistics are left untouched.
    """
    if batch_norm not in SAMPLE_BATCH_NORM:
        raise ValueError(f"batch_norm must be one of {SAMPLE_BATCH_NORM}; got {batch_norm!r}")
    modes = {m: m.training for m in net.modules()}
    norms = [m for m in net.modules() if isinstance(m, BATCH_NORMS)]
    tracking = [m.track_running_stats for m in norms]
    net.eval()
    if batch_norm == "batch":
        for norm in norms:
            norm.train()
            norm.track_running_stats = False  # train mode without updating the running statistics
    try:
        yield net
    finally:
        for norm, track in zip(norms, tracking):
            norm.track_running_stats = track
        for module, training in modes.items():
            module.training = training
