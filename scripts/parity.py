"""Does each recipe config learn at least as well as the original it reproduces?

    python scripts/parity.py --data_root ../shared/data --out ../parity_runs --jobs 2 \\
        --markdown parity.md --json parity.json
    python scripts/parity.py --ablation --data_root ../shared/data --out ../parity_runs --jobs 2 --n 500

What it runs and compares: gan_lightning/benchmarks/parity.py.
"""

import sys

from gan_lightning.benchmarks.parity import main

if __name__ == "__main__":
    sys.exit(main())
