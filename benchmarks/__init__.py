"""What scripts/benchmark.py measures the fit path against: plain PyTorch loops and step timing."""
