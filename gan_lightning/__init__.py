"""gan-lightning: DCGAN and WGAN-GP on PyTorch Lightning 2.x."""

__version__ = "0.1.0"
