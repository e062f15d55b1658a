"""The results table: every recipe config at a stated budget, FID and KID of its final and best checkpoints.

    python scripts/results.py --data_root data --out results --jobs 2 --seeds_of mnist=0,1,2 --markdown results.md

What it runs and how: gan_lightning/benchmarks/results.py.
"""

from gan_lightning.benchmarks.results import main

if __name__ == "__main__":
    main()
