"""The errors the data layer raises: each message says what is wrong, where, and how to fix it."""

from gan_lightning.errors import UserError


class DatasetNotFoundError(UserError, FileNotFoundError):
    """The dataset is not under `root` and could not be downloaded (no network, or download=False)."""


class ChecksumMismatchError(UserError, RuntimeError):
    """A downloaded file's checksum is wrong; the file was deleted before raising."""


class NoImagesError(UserError, ValueError):
    """A dataset source holds no readable image."""


class CacheNotFoundError(UserError, FileNotFoundError):
    """setup() ran before prepare_data() wrote the decoded cache."""
