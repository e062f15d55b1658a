"""Train a GAN: python scripts/fit.py --config configs/pokemon.yaml [--trainer.max_epochs 5] [--ckpt_path last]"""

from gan_lightning.cli import main

if __name__ == "__main__":
    main()
