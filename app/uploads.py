"""This installation's file stores (cases.storage), built once from the settings: FILE_STORAGE (the
backend, `local`), FILE_STORAGE_ROOT (default: the instance folder) holding `uploads/` (uploaded files,
with document logos in `uploads/logos/`) and `documents/` (generated PDFs); UPLOAD_FOLDER and
DOCUMENT_FOLDER move one of them elsewhere. With several nodes the root is a shared volume (README,
*Deployment*)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

from flask import Flask

from case_types.errors import ValidationFailed
from cases.storage import FileStorage, FileStores, open_stores
from forms.files import HEAD_BYTES, sniff_content_type


def configure_storage(app: Flask) -> FileStores:
    """Build the stores from the settings at start-up (an unknown FILE_STORAGE stops the app here)."""
    root = app.config.get("FILE_STORAGE_ROOT") or app.instance_path
    try:
        stores = open_stores(str(app.config.get("FILE_STORAGE") or "local"), Path(root),
                             uploads=_folder(app.config.get("UPLOAD_FOLDER")),
                             documents=_folder(app.config.get("DOCUMENT_FOLDER")))
    except ValueError as exc:
        raise SystemExit(f"Casework cannot start: {exc}") from None
    app.extensions["casework_file_stores"] = stores
    return stores


def _folder(value: object) -> Path | None:
    return Path(str(value)) if value else None


def file_stores(app: Flask) -> FileStores:
    stores = app.extensions.get("casework_file_stores")
    return stores if stores is not None else configure_storage(app)


def file_store(app: Flask) -> FileStorage:
    """Uploaded files (attachments of submissions and cases)."""
    return file_stores(app).uploads


def document_store(app: Flask) -> FileStorage:
    """Generated PDFs, under random names like uploads (the row in `documents` says what each is)."""
    return file_stores(app).documents


def logo_store(app: Flask) -> FileStorage:
    """Logos of document templates: the only stored files the PDF renderer may read (assets/uploads/<name>)."""
    return file_stores(app).logos


def open_stored(store: FileStorage, name: str | None) -> IO[bytes]:
    """The stored file as a stream for a download; a 404 when its bytes are gone (erased, never written)."""
    from werkzeug.exceptions import NotFound

    try:
        return store.open(name or "")
    except (FileNotFoundError, ValueError):
        raise NotFound("The file is no longer stored.") from None


LOGO_TYPES = {"image/png": ".png", "image/jpeg": ".jpg"}
MAX_LOGO_BYTES = 2 * 1024 * 1024


def store_logo(app: Flask, stream: IO[bytes]) -> str:
    """Keep an uploaded logo if its content is a PNG or JPEG (never judged by its name); returns the
    generated file name the page header block refers to."""
    data = stream.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationFailed("The logo is larger than 2 MB.", {"logo": ["Use an image of at most 2 MB."]})
    suffix = LOGO_TYPES.get(sniff_content_type(data[:HEAD_BYTES]) or "")
    if suffix is None:
        raise ValidationFailed("The logo must be a PNG or JPEG image.", {"logo": ["Upload a PNG or JPEG image."]})
    return logo_store(app).write(io.BytesIO(data), max_bytes=MAX_LOGO_BYTES, prefix="logo-", suffix=suffix).name
