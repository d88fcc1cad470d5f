"""Where this installation keeps files: uploads in instance/uploads, generated documents in
instance/documents, document logos in instance/uploads/logos (never a path built from user input)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO

from flask import Flask

from case_types.errors import ValidationFailed
from cases.submissions import FileStore
from forms.files import HEAD_BYTES, sniff_content_type


def file_store(app: Flask) -> FileStore:
    root = app.config.get("UPLOAD_FOLDER") or Path(app.instance_path) / "uploads"
    return FileStore(Path(root))


def document_store(app: Flask) -> FileStore:
    """Generated PDFs, under random names like uploads (the row in `documents` says what each is)."""
    root = app.config.get("DOCUMENT_FOLDER") or Path(app.instance_path) / "documents"
    return FileStore(Path(root))


def logo_folder(app: Flask) -> Path:
    """Logos of document templates: the only uploads the PDF renderer may read (assets/uploads/<name>)."""
    root = app.config.get("UPLOAD_FOLDER") or Path(app.instance_path) / "uploads"
    return Path(root) / "logos"


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
    folder = logo_folder(app)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"logo-{secrets.token_hex(12)}{suffix}"
    (folder / name).write_bytes(data)
    return name
