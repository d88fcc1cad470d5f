"""Where stored files live: one interface for uploads, generated documents and logos.

Every byte Casework keeps outside the database (uploaded files, rendered PDFs, document-template logos)
is written, read, streamed, checked and deleted through a `FileStorage`, so the web layer, the
renderer, privacy erasure, retention and backup/restore never build a path themselves. Names are
generated here (random hex, plus a fixed prefix and suffix where the caller needs one): nothing a user
sends ever becomes part of a name. Writes are atomic (a temporary file renamed into place), so a
process killed mid-write leaves no half file under a real name.

`LocalFolder` is the only backend: a folder on this machine, or on a volume every node mounts (see the
README's *Deployment*). `FILE_STORAGE` names the backend in `BACKENDS`; an unknown name is refused when
the app starts, not when the first file is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple, Protocol

from case_types.errors import ValidationFailed
from forms.files import HEAD_BYTES

CHUNK = 64 * 1024
# Generated names only: letters, digits, '-' and one '.suffix'; no '/', no '..', no leading dot.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,100}(\.[a-z0-9]{1,8})?")


class StorageError(Exception):
    """A stored file that cannot be read or written for a reason other than absence."""


class Written(NamedTuple):
    """What `write` kept: the generated name, size, SHA-256 and the first bytes (to judge the content)."""

    name: str
    size: int
    sha256: str
    head: bytes


class FileStorage(Protocol):
    """The operations every backend offers; names are the ones it generated."""

    def write(self, stream: IO[bytes], *, max_bytes: int, prefix: str = "", suffix: str = "") -> Written: ...

    def put(self, name: str, stream: IO[bytes]) -> None: ...

    def open(self, name: str) -> IO[bytes]: ...

    def read(self, name: str, *, max_bytes: int | None = None) -> bytes: ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...

    def names(self) -> Iterator[str]: ...

    def describe(self, name: str) -> str: ...


def check_name(name: str) -> str:
    """`name` if it is one this module could have generated; ValueError otherwise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError("invalid storage name")
    return name


@dataclass(frozen=True)
class LocalFolder:
    """Files in a folder. `fanout` spreads them over sub-folders named by the name's first two characters
    (uploads and documents: thousands of files); without it the folder is flat (logos)."""

    root: Path
    fanout: bool = True

    def _path(self, name: str) -> Path:
        check_name(name)
        return self.root / name[:2] / name if self.fanout else self.root / name

    def write(self, stream: IO[bytes], *, max_bytes: int, prefix: str = "", suffix: str = "") -> Written:
        """Copy `stream` in under a new name; over `max_bytes` is refused (nothing is kept)."""
        name = check_name(f"{prefix}{secrets.token_hex(16)}{suffix}")
        digest, size, head = hashlib.sha256(), 0, b""

        def chunks() -> Iterator[bytes]:
            nonlocal size, head
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed("The file is larger than allowed.")
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                digest.update(chunk)
                yield chunk

        self._atomic(name, chunks)
        return Written(name, size, digest.hexdigest(), head)

    def put(self, name: str, stream: IO[bytes]) -> None:
        """Keep `stream` under a name generated earlier (restoring a backup), replacing nothing half-way."""
        self._atomic(name, lambda: iter(lambda: stream.read(CHUNK), b""))

    def _atomic(self, name: str, chunks: Callable[[], Iterator[bytes]]) -> None:
        target = self._path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.{secrets.token_hex(4)}.part")
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, name: str) -> IO[bytes]:
        """The stored bytes as a stream; FileNotFoundError when absent. Regular files only: a symlink,
        FIFO or device put into the folder is refused, not followed."""
        path = self._path(name)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
        handle = os.fdopen(fd, "rb")
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            handle.close()
            raise StorageError(f"{name} is not a regular file")
        return handle

    def read(self, name: str, *, max_bytes: int | None = None) -> bytes:
        """All the stored bytes; StorageError past `max_bytes`."""
        with self.open(name) as handle:
            body = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        if max_bytes is not None and len(body) > max_bytes:
            raise StorageError(f"{name} is larger than {max_bytes} bytes")
        return body

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> Iterator[str]:
        """Every stored name (temporary files of writes in progress and other folders are not names)."""
        if not self.root.is_dir():
            return
        folders = [p for p in self.root.iterdir() if len(p.name) == 2 and p.is_dir()] if self.fanout else [self.root]
        for folder in sorted(folders):
            for entry in sorted(folder.iterdir()):
                if entry.is_file() and NAME_RE.fullmatch(entry.name) and (not self.fanout or
                                                                          entry.name[:2] == folder.name):
                    yield entry.name

    def describe(self, name: str) -> str:
        """Where the file is, for a person reading a command's output."""
        return str(self._path(name))


@dataclass(frozen=True)
class FileStores:
    """This installation's three kinds of stored files."""

    uploads: FileStorage
    documents: FileStorage
    logos: FileStorage

    def areas(self) -> dict[str, FileStorage]:
        return {"uploads": self.uploads, "documents": self.documents, "logos": self.logos}


def local_stores(root: Path, *, uploads: Path | None = None, documents: Path | None = None) -> FileStores:
    """`root`/uploads, `root`/documents and the logos in `uploads`/logos (a folder the fanout skips)."""
    upload_root = Path(uploads) if uploads else Path(root) / "uploads"
    return FileStores(uploads=LocalFolder(upload_root),
                      documents=LocalFolder(Path(documents) if documents else Path(root) / "documents"),
                      logos=LocalFolder(upload_root / "logos", fanout=False))


BACKENDS: dict[str, Callable[..., FileStores]] = {"local": local_stores}


def open_stores(backend: str, root: Path, *, uploads: Path | None = None, documents: Path | None = None) -> FileStores:
    """The stores of backend `backend`; ValueError naming the known ones for anything else."""
    try:
        make = BACKENDS[backend]
    except KeyError:
        raise ValueError(f"FILE_STORAGE={backend!r} is not a storage backend; use one of: "
                         f"{', '.join(sorted(BACKENDS))}.") from None
    return make(root, uploads=uploads, documents=documents)
