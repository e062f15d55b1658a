"""Download one file with a progress bar, verify its checksum, and only then give it its name."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from gan_lightning.data.errors import ChecksumMismatchError
from gan_lightning.files import atomic_write, file_digest


class DownloadFailed(OSError):
    """The URL could not be fetched (no network, refused, HTTP error); the caller adds context."""


def download(url: str, dest: Path, checksum: tuple[str, str] | None = None, timeout: float = 60.0) -> Path:
    """Fetch `url` to `dest`. `checksum` is (algorithm, hex digest), e.g. ("sha1", "c065...").

    The bytes go to a temporary name beside `dest` and are renamed only after the checksum passes,
    so an interrupted or corrupt download never sits where a good file is expected.
    Raises DownloadFailed when the URL can't be fetched, ChecksumMismatchError on a bad checksum.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)  # the place a user puts the file by hand if this fails
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DownloadFailed(f"could not fetch {url}: {error}") from error
    with response, atomic_write(dest) as partial:
        with open(partial, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {dest.name}") as bar:
                while True:
                    try:
                        chunk = response.read(1 << 20)
                    except OSError as error:  # connection dropped mid-download
                        raise DownloadFailed(f"download of {url} was interrupted: {error}") from error
                    if not chunk:
                        break
                    f.write(chunk)
                    bar.update(len(chunk))
            # http.client returns b"" when the connection drops early, so check the length ourselves
            # (flower_photos.tgz has no checksum that would catch a truncated file)
            if total is not None and bar.n != total:
                raise DownloadFailed(f"download of {url} was interrupted after {bar.n} of {total} bytes")
        if checksum and (digest := file_digest(partial, checksum[0])) != checksum[1].lower():
            raise ChecksumMismatchError(
                f"The file downloaded from {url} has {checksum[0]} {digest}, expected "
                f"{checksum[1]}. It was deleted; nothing was written to {dest}. Try again (the "
                f"download may have been corrupted), or download it by hand and place it at {dest}."
            )
    return dest
