"""Measurements of the project against plain PyTorch: speed (speed.py, behind scripts/benchmark.py),
the reference loops it is measured against, step timing and the data loader's throughput."""
