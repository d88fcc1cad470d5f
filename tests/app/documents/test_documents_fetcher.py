"""The asset fetcher serves the app's own folders and refuses everything else, quickly and without I/O."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from weasyprint.urls import FatalURLFetchingError

from app.documents.fetcher import IMAGE_TYPES, AssetFetcher, FetchRefused, Mount, asset_url
from cases.storage import LocalFolder
from tests.support.documents import PNG


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "logo.png").write_bytes(PNG)
    return folder


@pytest.fixture
def fetcher(uploads: Path) -> AssetFetcher:
    return AssetFetcher(logos=LocalFolder(uploads, fanout=False))


def test_serves_shipped_fonts(fetcher: AssetFetcher) -> None:
    response = fetcher.fetch(asset_url("fonts", "DejaVuSans.ttf"))
    assert response.read()[:4] == b"\x00\x01\x00\x00"
    assert response.content_type == "font/ttf"


def test_serves_an_uploaded_logo(fetcher: AssetFetcher) -> None:
    response = fetcher.fetch(asset_url("uploads", "logo.png"))
    assert response.read() == PNG
    assert response.content_type == "image/png"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/x.png",
        "https://casework.invalid.example.org/assets/fonts/DejaVuSans.ttf",
        "https://user@casework.invalid/assets/fonts/DejaVuSans.ttf",
        "https://casework.invalid:8443/assets/fonts/DejaVuSans.ttf",
        "http://casework.invalid/assets/fonts/DejaVuSans.ttf",
        "ftp://casework.invalid/assets/fonts/DejaVuSans.ttf",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:text/plain,hello",
        "https://casework.invalid/etc/passwd",
        "https://casework.invalid/assets/",
        "https://casework.invalid/assets/fonts/",
        "https://casework.invalid/assets/fonts/../../../../etc/passwd",
        "https://casework.invalid/assets/fonts/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "https://casework.invalid/assets/fonts/..%2f..%2fsecret.ttf",
        "https://casework.invalid/assets/fonts/.hidden.ttf",
        "https://casework.invalid/assets/fonts/DejaVuSans.ttf?x=1",
        "https://casework.invalid/assets/fonts/LICENSE",
        "https://casework.invalid/assets/uploads/logo.svg",
        "https://casework.invalid/assets/secrets/DejaVuSans.ttf",
        "https://casework.invalid/assets/fonts/DejaVuSans.ttf\x00.png",
        "https://casework.invalid/assets/fonts/a\\..\\b.ttf",
    ],
)
def test_refuses_everything_else(fetcher: AssetFetcher, url: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert time.monotonic() - started < 0.5
    assert fetcher.served == []
    assert fetcher.refused


def test_urllib_entry_point_is_routed_through_the_same_checks(fetcher: AssetFetcher) -> None:
    with pytest.raises(FetchRefused):
        fetcher.open("file:///etc/passwd")
    with pytest.raises(FetchRefused):
        fetcher("http://127.0.0.1:9/")


def test_a_symlink_in_the_logo_store_is_refused(fetcher: AssetFetcher, uploads: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    (uploads / "escape.png").symlink_to(secret)
    (uploads / "passwd.png").symlink_to("/etc/passwd")
    (uploads / "alias.png").symlink_to(uploads / "logo.png")  # the store never follows a link, even inside
    for name in ("escape.png", "passwd.png", "alias.png"):
        with pytest.raises(FetchRefused, match="cannot be served"):
            fetcher.fetch(asset_url("uploads", name))
    assert fetcher.fetch(asset_url("uploads", "logo.png")).read() == PNG


def test_a_symlink_in_a_shipped_asset_folder_must_stay_inside_it(tmp_path: Path) -> None:
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "real.ttf").write_bytes(b"font")
    (fonts / "alias.ttf").symlink_to(fonts / "real.ttf")
    (fonts / "passwd.ttf").symlink_to("/etc/passwd")
    fetcher = AssetFetcher({"fonts": Mount(fonts, {".ttf": "font/ttf"}, 1024, required=True)})
    assert fetcher.fetch(asset_url("fonts", "alias.ttf")).read() == b"font"
    with pytest.raises(FetchRefused, match="leads out of its asset folder"):
        fetcher.fetch(asset_url("fonts", "passwd.ttf"))


def test_a_fifo_is_refused_without_blocking(fetcher: AssetFetcher, uploads: Path) -> None:
    os.mkfifo(uploads / "pipe.png")
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="not a regular file"):
        fetcher.fetch(asset_url("uploads", "pipe.png"))
    assert time.monotonic() - started < 0.5


def test_oversized_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"\0" * 2048)
    fetcher = AssetFetcher({"uploads": Mount(tmp_path, IMAGE_TYPES, max_bytes=1024, required=False)})
    with pytest.raises(FetchRefused, match="larger than"):
        fetcher.fetch(asset_url("uploads", "big.png"))


def test_a_missing_upload_is_refused_but_a_missing_font_stops_the_render(fetcher: AssetFetcher) -> None:
    with pytest.raises(FetchRefused, match="does not exist"):
        fetcher.fetch(asset_url("uploads", "gone.png"))
    # A BaseException on purpose: WeasyPrint would swallow an Exception and fall back to system fonts.
    with pytest.raises(FatalURLFetchingError, match="make assets"):
        fetcher.fetch(asset_url("fonts", "NoSuchFont.ttf"))
