"""Metrics: FID (fid.py) and the offline converter for its Inception weights (convert.py)."""
