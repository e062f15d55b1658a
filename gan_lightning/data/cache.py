"""The decoded-once uint8 cache: one .npy file (N, C, H, W) per (dataset, source, size, channels).

Decoding a PNG/JPEG costs far more than a training step on small images, so every image is decoded
and resized once, in parallel, and streamed into a .npy file that later runs (and every DDP rank)
memory-map. The file is written under a temporary name and renamed when complete, so a cache file
that exists is always whole.
"""

from __future__ import annotations

import functools
import hashlib
import io
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gan_lightning.data.errors import NoImagesError
from gan_lightning.data.image import close_archives, decode
from gan_lightning.errors import UserError
from gan_lightning.files import atomic_write

FORMAT_VERSION = 1  # bump when the conversion changes, so old caches are not reused
PARALLEL_MIN_IMAGES = 1000  # below this a process pool costs more than it saves
MAX_DECODE_PROCESSES = 32


def fingerprint(*parts: Any) -> str:
    """A short stable hash of anything with a stable repr (paths, sizes, mtimes, options)."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def file_stamp(path: Path) -> tuple[str, int, int]:
    """(name, size, mtime_ns): changes whenever the file is replaced or rewritten, costs one stat."""
    stat = path.stat()
    return (path.name, stat.st_size, stat.st_mtime_ns)


def _npy_header(shape: tuple[int, ...]) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return header.getvalue()


def _decode_all(items: Iterable[tuple[str, Any]], size: int, channels: int, crop: str, total: int | None):
    """Yield (name, array or failure reason) in source order, decoding in a process pool when the
    dataset is big enough and fork is available (threads don't help: small images keep the GIL
    busy; spawn would re-import torch in every worker)."""
    work = functools.partial(_decode_named, size=size, channels=channels, crop=crop)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    parallel = (
        cpus > 1
        and (total is None or total >= PARALLEL_MIN_IMAGES)
        and sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon  # daemons may not have children
    )
    if not parallel:
        yield from map(work, items)
        return
    with multiprocessing.get_context("fork").Pool(min(cpus, MAX_DECODE_PROCESSES), _default_signals) as pool:
        yield from pool.imap(work, items, chunksize=64)


def _default_signals() -> None:
    """Pool worker initializer: a forked worker inherits the parent's Python signal handlers (during a fit,
    Lightning's and the run's own SIGTERM handlers only note the signal), and Pool.terminate() ends its
    workers with SIGTERM; with an inherited handler a worker would never end and the pool would wait forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _decode_named(named_item: tuple[str, Any], size: int, channels: int, crop: str) -> tuple[str, Any]:
    """(name, result): the array, the reason an image is unreadable, or a UserError (a damaged archive).
    The UserError comes back as a value for write_cache to raise: raised in a pool worker, it would
    arrive wrapped in the worker's traceback."""
    name, item = named_item
    try:
        return name, decode(item, size, channels, crop)
    except UserError as error:
        return name, error


def _until_user_error(items: Iterable[tuple[str, Any]], errors: list[UserError]) -> Iterator[tuple[str, Any]]:
    """`items` up to the first UserError (a damaged archive read as a stream), which goes into `errors`
    for write_cache to raise. The pool draws items in a thread of its own; an error raised there is sent
    through a worker and comes back without the frames of the reader that found the damage, or its cause."""
    try:
        yield from items
    except UserError as error:
        errors.append(error)


def write_cache(
    path: Path,
    items: Iterable[tuple[str, Any]],
    size: int,
    channels: int,
    crop: str = "stretch",
    total: int | None = None,
    source: str = "",
) -> int:
    """Decode `items` ((name, openable) pairs) into the .npy cache at `path`; return the image count.

    Rows are streamed to disk as they are decoded (CelebA at 64x64 is 2.5 GB), so the final row
    count is only known at the end. numpy pads a .npy header so that axis 0 can grow to 21 digits,
    which lets us write the rows first and the header with the real count last.
    Files that don't decode are skipped and reported in ONE warning that counts them. A damaged
    source (CorruptSourceError, from listing the items or from a worker) is raised here, in this
    process, and the temporary file is removed: no partial cache is left.
    """
    header_size = len(_npy_header((0, channels, size, size)))
    count, skipped, source_errors = 0, [], []
    results = _decode_all(_until_user_error(items, source_errors), size, channels, crop, total)
    try:
        with atomic_write(path) as partial, open(partial, "wb") as f:
            f.seek(header_size)
            for name, result in tqdm(results, total=total, desc=f"Decoding {source or path.stem}", unit="img"):
                if isinstance(result, UserError):
                    raise result
                if isinstance(result, str):
                    skipped.append((name, result))
                    continue
                f.write(memoryview(result))
                count += 1
            if source_errors:
                raise source_errors[0]
            if count == 0:
                raise NoImagesError(
                    f"No readable image found in {source}"
                    + (f" ({len(skipped)} files tried, none decodable)" if skipped else " (it holds no files)")
                    + ". Put image files (PNG, JPEG, ...) there, flat or in class subfolders."
                )
            header = _npy_header((count, channels, size, size))
            assert len(header) == header_size, "npy header changed size"
            f.seek(0)
            f.write(header)
    finally:
        results.close()  # ends the decode pool now, also when an error left the loop early
        close_archives()
    if skipped:
        examples = "; ".join(f"{name} ({reason})" for name, reason in skipped[:3])
        warnings.warn(
            f"Skipped {len(skipped)} of {len(skipped) + count} files in {source} that are not "
            f"readable images, e.g. {examples}",
            stacklevel=3,
        )
    return count


def read_cache(path: Path) -> torch.Tensor:
    """Memory-map the cache as a uint8 tensor (N, C, H, W); pages are shared by every process on
    the node through the page cache. Copy-on-write mode gives a writable array without copying."""
    array = np.load(path, mmap_mode="c")
    if array.dtype != np.uint8 or array.ndim != 4:
        raise ValueError(f"{path} is not an image cache (dtype {array.dtype}, shape {array.shape}); delete it")
    return torch.from_numpy(array)


def is_valid_cache(path: Path) -> bool:
    """True when `path` is a readable uint8 4-D .npy (files are renamed into place only when whole)."""
    try:
        read_cache(path)
        return True
    except (OSError, ValueError):
        return False


def iter_files(folder: Path) -> Iterator[Path]:
    """Every regular file under `folder`, recursively, in a stable (sorted) order."""
    for directory, subdirs, files in os.walk(folder):
        subdirs.sort()
        for name in sorted(files):
            yield Path(directory) / name
