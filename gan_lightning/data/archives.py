"""Reading the archives and compressed files that datasets come in, with damage reported as one clear error.

Every reader here turns what zipfile, tarfile, gzip, lzma and zlib raise on a truncated or corrupted file
into a CorruptSourceError that names the file. The checksums the formats carry decide what counts as
damage: each zip member's CRC-32 (APPNOTE.TXT 4.4.7; zipfile checks it when it reads a member whole) and
the gzip trailer's CRC-32 and length (RFC 1952, section 2.3.1). tarfile's own stream reader ("r|gz")
never checks the gzip trailer, so a flipped byte inside a .tgz can decode to wrong bytes unnoticed;
gzipped tars are therefore decompressed with the gzip module and read to the end.
"""

from __future__ import annotations

import gzip
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from gan_lightning.data.errors import corrupt_source

GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952, section 2.3.1
ZIP_LOCAL_HEADER = b"PK\x03\x04"  # APPNOTE.TXT 4.3.7: every zip archive begins with one

#: What the standard readers raise on damaged bytes (a missing or unreadable file raises other OSErrors).
DAMAGE_ERRORS = (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, lzma.LZMAError)


def damage(error: Exception) -> str:
    """The problem part of a CorruptSourceError message for what a reader raised."""
    if isinstance(error, EOFError):  # gzip, zlib and lzma streams that stop before their end marker
        return f"is truncated: {error} (an interrupted download?)"
    return f"is corrupt ({error})"


def open_zip(path: str | Path) -> zipfile.ZipFile:
    """Open a zip archive, reading only its central directory (the list of members at its end).

    A truncated zip still starts with a member header but has lost its central directory, which zipfile
    reports as "not a zip file"; the message tells that case apart from a file that is no zip at all
    (an HTML error page saved under the archive's name, say).
    """
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        with open(path, "rb") as file:
            starts_as_zip = file.read(len(ZIP_LOCAL_HEADER)) == ZIP_LOCAL_HEADER
        problem = (
            "is truncated or corrupt: it starts as a zip archive, but the list of its members at its end is "
            "missing or damaged (an interrupted download?)"
            if starts_as_zip
            else f"is not a zip archive ({error})"
        )
        raise corrupt_source(path, problem) from error


def zip_file_names(path: str | Path) -> list[str]:
    """The sorted names of the files (not folders) in a zip archive."""
    with open_zip(path) as archive:
        return sorted(info.filename for info in archive.infolist() if not info.is_dir())


def read_zip_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One member's bytes, checked against its CRC-32; damage raises CorruptSourceError naming both."""
    try:
        return archive.read(name)
    except DAMAGE_ERRORS as error:
        raise corrupt_source(archive.filename, f"is corrupt: its member {name} is damaged ({error})") from error


def tar_files(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every regular file in a tar archive (gzip, bzip2, xz or plain), read once as a
    stream without extracting; a gzipped one is read to its trailer, so its CRC-32 and length are checked."""
    with open(path, "rb") as raw:
        gzipped = raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
        try:
            with tarfile.open(fileobj=stream, mode="r|" if gzipped else "r|*") as tar:
                for member in tar:
                    if member.isfile():
                        yield member.name, tar.extractfile(member).read()
            while stream.read(1 << 20):  # the padding after the tar's end marker, up to the gzip trailer
                pass
        except DAMAGE_ERRORS as error:
            raise corrupt_source(path, damage(error)) from error


def read_maybe_gzipped(path: Path) -> bytes:
    """The bytes of `path`, decompressed (and CRC-checked) when its name ends in .gz."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as file:
            return file.read()
    except DAMAGE_ERRORS as error:
        raise corrupt_source(path, damage(error)) from error
