"""Files written all or nothing, and file digests: the two file chores every part of the project shares."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | Path, fsync: bool = False, unique: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends without an error, rename it onto `path`.

    The temporary file is in the same folder, so the rename is atomic: `path` is either the old file or
    the complete new one, never half of one, even if the process is killed mid-write. Its name is unique
    per host, process and call, so ranks or runs writing the same file never share a temporary file;
    `unique=False` names it `.<name>.tmp` instead, for a file only one process writes (a checkpoint), so
    the leftover of a killed write is overwritten by the next one rather than kept forever.
    `fsync=True` also flushes the bytes to the disk before the rename (checkpoints: survive a power loss).
    On an error the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = f".{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}" if unique else ""
    tmp = path.with_name(f".{path.name}{suffix}.tmp")
    try:
        yield tmp
        if fsync:
            descriptor = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (any hashlib algorithm: "sha256", "sha1", "md5"), read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
