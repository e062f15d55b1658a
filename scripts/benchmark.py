"""How fast the fit path trains, against plain PyTorch loops of the same recipes.

    python scripts/benchmark.py --device cuda --out results.json --markdown
    python scripts/benchmark.py --device cpu --batch_dcgan 64 --steps 20 --warmup 3 --steps_wgan 4 \\
        --rounds 3 --fid_samples 200 --loader_workers 2 --out cpu.json --markdown

What it measures and how: gan_lightning/benchmarks/speed.py.
"""

from gan_lightning.benchmarks.speed import main

if __name__ == "__main__":
    main()
