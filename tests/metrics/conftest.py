"""Shared fixtures for the FID tests: converted Inception weights (made once, by the real CLI) and a small
feature extractor for tests of metric plumbing that do not need Inception's 2048-d features."""

import torch
from torch import nn


class SmallExtractor(nn.Module):
    """A fixed random conv net: uint8 (B, 3, H, W) -> (B, 16) features. Stands in for Inception where only the
    metric's bookkeeping is under test (caching, DDP reduction), so those tests run in seconds."""

    num_features = 16

    def __init__(self, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(3, 32, kernel_size=3, stride=2)
            self.fc = nn.Linear(32 * 4, self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x.float() / 127.5 - 1))
        return self.fc(nn.functional.adaptive_avg_pool2d(h, 2).flatten(1))
