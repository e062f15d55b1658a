"""download(): a file appears under its name only when complete and verified."""

import hashlib
import socket
import threading

import pytest

from gan_lightning.data import ChecksumMismatchError
from gan_lightning.data.download import DownloadFailed, download

from .builders import UNREACHABLE


def test_complete_download_with_right_checksum(tmp_path, http_server):
    base_url, served = http_server
    (served / "f.bin").write_bytes(b"x" * 3000)
    dest = download(base_url + "f.bin", tmp_path / "out" / "f.bin", ("sha1", hashlib.sha1(b"x" * 3000).hexdigest()))
    assert dest.read_bytes() == b"x" * 3000
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]


def test_wrong_checksum_and_unreachable_leave_nothing(tmp_path, http_server):
    base_url, served = http_server
    (served / "f.bin").write_bytes(b"y" * 100)
    with pytest.raises(ChecksumMismatchError, match="md5"):
        download(base_url + "f.bin", tmp_path / "out" / "f.bin", ("md5", "0" * 32))
    with pytest.raises(DownloadFailed, match="127.0.0.1:9"):
        download(UNREACHABLE + "f.bin", tmp_path / "out" / "f.bin")
    assert list((tmp_path / "out").iterdir()) == []


def test_connection_dropped_mid_download_leaves_no_partial_file(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))

    def serve_half_a_file():
        connection, _ = listener.accept()
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"z" * 1000)
        connection.close()  # the network goes away after 1% of the file

    thread = threading.Thread(target=serve_half_a_file, daemon=True)
    thread.start()
    with pytest.raises(DownloadFailed, match="interrupted"):
        download(f"http://127.0.0.1:{listener.getsockname()[1]}/big.zip", tmp_path / "big.zip")
    thread.join(timeout=5)
    listener.close()
    assert list(tmp_path.iterdir()) == []
