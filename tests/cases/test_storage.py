"""The local-folder file store: generated names only, atomic writes, regular files only."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from case_types.errors import ValidationFailed
from cases.storage import LocalFolder, StorageError, check_name, open_stores


class Exploding(io.RawIOBase):
    """A stream that dies half-way, as a client hanging up mid-upload does."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self.sent:
            raise ConnectionResetError("client went away")
        self.sent += 1
        buffer[:4] = b"half"
        return 4


def test_writes_read_stream_exist_and_delete_under_generated_names(tmp_path: Path) -> None:
    store = LocalFolder(tmp_path / "files")
    written = store.write(io.BytesIO(b"receipt"), max_bytes=100, prefix="logo-", suffix=".png")
    assert written.name.startswith("logo-") and written.name.endswith(".png") and written.size == 7
    assert store.read(written.name) == b"receipt" and store.exists(written.name)
    with store.open(written.name) as stream:
        assert stream.read(3) == b"rec"
    assert list(store.names()) == [written.name]
    store.delete(written.name)
    assert not store.exists(written.name) and list(store.names()) == []
    store.delete(written.name)  # deleting what is gone is not an error
    with pytest.raises(FileNotFoundError):
        store.open(written.name)


@pytest.mark.parametrize("name", ["../secret", "a/b", ".hidden", "", "x" * 200, "name.PNG/..", "c:evil", "a..b"])
def test_names_a_user_could_smuggle_in_are_refused(tmp_path: Path, name: str) -> None:
    store = LocalFolder(tmp_path)
    for call in (store.open, store.exists, store.delete, store.read):
        with pytest.raises(ValueError, match="invalid storage name"):
            call(name)
    with pytest.raises(ValueError):
        check_name(name)


def test_a_write_over_the_limit_or_cut_off_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalFolder(tmp_path / "files")
    with pytest.raises(ValidationFailed, match="larger than allowed"):
        store.write(io.BytesIO(b"x" * 1000), max_bytes=10)
    with pytest.raises(ConnectionResetError):
        store.write(io.BufferedReader(Exploding()), max_bytes=1000)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_put_replaces_a_file_whole_and_names_skip_temporary_and_foreign_files(tmp_path: Path) -> None:
    store = LocalFolder(tmp_path)
    name = store.write(io.BytesIO(b"old"), max_bytes=10).name
    store.put(name, io.BytesIO(b"new bytes"))
    assert store.read(name) == b"new bytes"
    (tmp_path / name[:2] / f".{name}.abcd.part").write_bytes(b"in progress")
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "logo-1.png").write_bytes(b"another store's")
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / name).write_bytes(b"not where this name lives")
    assert list(store.names()) == [name]


def test_links_fifos_and_oversized_reads_are_refused(tmp_path: Path) -> None:
    store = LocalFolder(tmp_path, fanout=False)
    (tmp_path / "secret.txt").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.txt", tmp_path / "link")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(OSError):
        store.open("link")
    with pytest.raises(StorageError, match="not a regular file"):
        store.open("pipe")
    with pytest.raises(StorageError, match="larger than 3 bytes"):
        store.read("secret.txt", max_bytes=3)


def test_an_unknown_backend_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FILE_STORAGE='s3' is not a storage backend; use one of: local"):
        open_stores("s3", tmp_path)
    stores = open_stores("local", tmp_path)
    assert set(stores.areas()) == {"uploads", "documents", "logos"}
