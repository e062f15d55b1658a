"""The errors the data layer raises: each message says what is wrong, where, and how to fix it."""

from pathlib import Path

from gan_lightning.errors import UserError


class DatasetNotFoundError(UserError, FileNotFoundError):
    """The dataset is not under `root` and could not be downloaded (no network, or download=False)."""


class ChecksumMismatchError(UserError, RuntimeError):
    """A downloaded file's checksum is wrong; the file was deleted before raising."""


class NoImagesError(UserError, ValueError):
    """A dataset source holds no readable image."""


class CacheNotFoundError(UserError, FileNotFoundError):
    """setup() ran before prepare_data() wrote the decoded cache."""


class CorruptSourceError(UserError, ValueError):
    """A dataset file under root (an archive, an IDX file, a pickle, a list file) is truncated or corrupt.

    Raised before anything is written: no cache file, and the bad file itself is left for the user to
    delete or replace. Build it with corrupt_source(), which words every such message the same way.
    """


def corrupt_source(path: str | Path, problem: str) -> CorruptSourceError:
    """The one-line error for a bad file: its absolute path, `problem` ("is truncated (...)"), what to do.

    A zero-byte file is reported as empty whatever the reader said (EOFError, "not a zip file", ...),
    since that is the plainest account of a download that failed at once.
    """
    path = Path(path).resolve()
    if path.is_file() and path.stat().st_size == 0:
        problem = "is empty (0 bytes)"
    return CorruptSourceError(f"{path} {problem}. Delete it to download it again, or replace it with a good copy.")
