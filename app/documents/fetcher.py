"""The only way a document can load anything: the app's own assets under a fake origin.

WeasyPrint's default fetcher reads `file:` URLs and follows `http:` ones, so a document could embed
/etc/passwd or reach internal hosts. `AssetFetcher` serves files from a few named folders under
`https://casework.invalid/assets/<folder>/<name>` and refuses everything else before any I/O happens:
other schemes (file, http, data, ftp), other hosts, query strings, odd path segments, symlinks that
lead out of a folder, unexpected file types and oversized files. It never opens a network connection,
so there is no redirect to follow.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from cases.storage import FileStorage, StorageError

log = logging.getLogger(__name__)

HOST = "casework.invalid"  # .invalid is reserved (RFC 2606): it can never resolve to a real host
ORIGIN = f"https://{HOST}"
BASE_URL = f"{ORIGIN}/assets/"

APP_DIR = Path(__file__).resolve().parent.parent
FONTS_DIR = APP_DIR / "static" / "fonts"
PDF_ASSETS_DIR = APP_DIR / "static" / "pdf"

_SEGMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_URL_LENGTH = 2048

FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@dataclass(frozen=True, slots=True)
class Mount:
    """A folder served under `assets/<name>/`: which file types, how large, and whether absence is fatal."""

    root: Path
    types: Mapping[str, str]
    max_bytes: int
    required: bool


@dataclass(frozen=True, slots=True)
class StoredMount:
    """Stored files (cases.storage) served under `assets/<name>/<stored name>`: the document logos.
    Absence is never fatal: a missing logo renders without it rather than failing an archival dossier."""

    store: FileStorage
    types: Mapping[str, str]
    max_bytes: int


class FetchRefused(ValueError):
    """A URL the fetcher will not serve; WeasyPrint logs it and renders without the resource."""


class _AssetMissingFatal(FatalURLFetchingError):
    # A BaseException on purpose: WeasyPrint swallows Exceptions from fetchers (a missing font would
    # silently fall back to system fonts), but lets FatalURLFetchingError stop the rendering.
    pass


def default_mounts(logos: FileStorage | None = None) -> dict[str, Mount | StoredMount]:
    """The app's asset folders; `logos` adds `assets/uploads/` for the PNG or JPEG logos stored there."""
    mounts: dict[str, Mount | StoredMount] = {
        "fonts": Mount(FONTS_DIR, FONT_TYPES, 20 * 1024 * 1024, required=True),
        "pdf": Mount(PDF_ASSETS_DIR, {".css": "text/css", **IMAGE_TYPES, ".svg": "image/svg+xml"},
                     5 * 1024 * 1024, required=True),
    }
    if logos is not None:
        # Uploaded logos: raster images only (an SVG is a document that can reference other things).
        mounts["uploads"] = StoredMount(logos, IMAGE_TYPES, 5 * 1024 * 1024)
    return mounts


def asset_url(mount: str, name: str) -> str:
    """The URL of a served asset, e.g. `asset_url("fonts", "DejaVuSans.ttf")`."""
    return f"{BASE_URL}{mount}/{name}"


class AssetFetcher(URLFetcher):
    """A WeasyPrint 70 URL fetcher that serves only the mounted asset folders; see the module docstring.

    `served` and `refused` record what was asked for, for tests and for the render log.
    """

    def __init__(self, mounts: Mapping[str, Mount | StoredMount] | None = None, *,
                 logos: FileStorage | None = None) -> None:
        # No redirects and https only, should anything ever reach the parent class's opener.
        super().__init__(allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False, timeout=1)
        self.mounts = dict(mounts if mounts is not None else default_mounts(logos))
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """Serve `url` from a mounted folder or raise `FetchRefused`; never touches the network."""
        try:
            mount, path = self._locate(url)
            body = self._read_stored(mount, path) if isinstance(mount, StoredMount) else self._read(mount, path)
        except FetchRefused as refusal:
            self.refused.append(url[:200])
            log.warning("document asset refused: %s", refusal)
            raise
        self.served.append(url)
        content_type = mount.types[path.suffix.lower()]
        return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type}, status=200)

    def open(self, url: object, data: object = None, timeout: object = None) -> URLFetcherResponse:
        """urllib's entry point, routed through `fetch` so no handler of the parent class ever runs."""
        return self.fetch(url if isinstance(url, str) else getattr(url, "full_url", ""))

    def _locate(self, url: str) -> tuple[Mount | StoredMount, Path]:
        if not isinstance(url, str) or len(url) > _MAX_URL_LENGTH:
            raise FetchRefused("URL too long")
        shown = url[:120]
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise FetchRefused(f"malformed URL {shown!r}") from exc
        if parts.scheme.lower() != "https" or parts.netloc.lower() != HOST:
            raise FetchRefused(f"not an app asset: {shown!r}")
        if parts.query:
            raise FetchRefused(f"query strings are not served: {shown!r}")
        segments = parts.path.split("/")
        # ["", "assets", mount, name, ...]
        if len(segments) < 4 or segments[0] != "" or segments[1] != "assets":
            raise FetchRefused(f"not under /assets/: {shown!r}")
        mount = self.mounts.get(segments[2])
        if mount is None:
            raise FetchRefused(f"no such asset folder: {shown!r}")
        names = [unquote(segment) for segment in segments[3:]]
        # Checked after decoding, so %2e%2e and %2f cannot smuggle "..", "/" or "\" past the rule.
        if not all(_SEGMENT_RE.fullmatch(name) for name in names):
            raise FetchRefused(f"bad path segment in {shown!r}")
        suffix = Path(names[-1]).suffix.lower()
        if suffix not in mount.types:
            raise FetchRefused(f"file type {suffix or '(none)'} not served from {segments[2]}/: {shown!r}")
        if isinstance(mount, StoredMount):
            if len(names) != 1:
                raise FetchRefused(f"stored files have no folders: {shown!r}")
            return mount, Path(names[0])
        return mount, mount.root.joinpath(*names)

    def _read_stored(self, mount: StoredMount, name: Path) -> bytes:
        """Through the store, which opens regular files only and never follows a link."""
        try:
            return mount.store.read(name.name, max_bytes=mount.max_bytes)
        except (FileNotFoundError, ValueError):
            raise FetchRefused(f"{name} does not exist") from None
        except (StorageError, OSError) as exc:
            raise FetchRefused(f"{name} cannot be served: {exc}") from None

    def _read(self, mount: Mount, path: Path) -> bytes:
        try:
            root = mount.root.resolve(strict=True)
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return self._missing(mount, path)
        if not real.is_relative_to(root):
            raise FetchRefused(f"{path.name} leads out of its asset folder")
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return self._missing(mount, path)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            # Regular files only: a FIFO or device (think /dev/zero) could block or never end.
            if not stat.S_ISREG(info.st_mode):
                raise FetchRefused(f"{path.name} is not a regular file")
            if info.st_size > mount.max_bytes:
                raise FetchRefused(f"{path.name} is larger than {mount.max_bytes // (1024 * 1024)} MB")
            body = handle.read(mount.max_bytes + 1)
        if len(body) > mount.max_bytes:
            raise FetchRefused(f"{path.name} grew past its size limit while being read")
        return body

    def _missing(self, mount: Mount, path: Path) -> bytes:
        if mount.required:
            raise _AssetMissingFatal(f"asset not found: {path} (run `make assets`)")
        raise FetchRefused(f"{path.name} does not exist")
