"""Shared pieces of the metrics tests: a small feature extractor in torch-fidelity's interface, so that
tests of the metrics' plumbing (caching, DDP, agreement with torch-fidelity) run in seconds, not minutes."""

import torch
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

SMALL = "gan-lightning-small"  # its name in torch-fidelity's registry


class SmallExtractor(FeatureExtractorBase):
    """A fixed random conv net: uint8 (B, 3, H, W) -> 16-d "feat" and 10-class "logits_unbiased" (a finite
    classifier head named `fc`, as Inception's). Stands in for Inception where the metrics' bookkeeping is
    under test; torch-fidelity can build it too (registered as SMALL), which lets its calculate_metrics see
    exactly the features ours see."""

    num_features = 16

    def __init__(self, name: str = SMALL, features_list: list[str] | None = None, seed: int = 0, **kwargs) -> None:
        super().__init__(name, features_list or ["feat", "logits_unbiased"])
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv = nn.Conv2d(3, 32, kernel_size=3, stride=2)
            self.proj = nn.Linear(32 * 4, self.num_features)
            self.fc = nn.Linear(self.num_features, 10)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("feat", "logits_unbiased")

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return "logits_unbiased" if metric == "isc" else "feat"

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 16, 16, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h = torch.relu(self.conv(x.float() / 127.5 - 1))
        feat = self.proj(nn.functional.adaptive_avg_pool2d(h, 2).flatten(1))
        out = {"feat": feat, "logits_unbiased": 40 * (feat @ self.fc.weight.T)}  # unbiased: no fc.bias
        return tuple(out[name] for name in self.features_list)


def random_images(n: int, seed: int, channels: int = 3, size: int = 12) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
