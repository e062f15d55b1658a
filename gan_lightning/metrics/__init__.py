"""Evaluation of generators: FID, KID, Inception Score, precision/recall/density/coverage.

- weights.py: finding (or downloading) the standard TF-Inception weights; convert.py: making them offline;
- inception.py: the feature network and one pass that yields every layer the metrics need;
- reference.py: the real images' features, cached on disk; generated.py: a generator's samples' features;
- frechet.py, kid.py, inception_score.py, prdc.py: one metric each; scores.py: all of them from one pass;
- distributed.py: the collectives under DDP; evaluation.py: what training and scripts/evaluate.py share;
- results.py: metrics.jsonl and the printed table; command.py: scripts/evaluate.py's command line.
"""
