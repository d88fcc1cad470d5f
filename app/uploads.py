"""Where this installation keeps uploaded files: instance/uploads (never a path built from user input)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from cases.submissions import FileStore


def file_store(app: Flask) -> FileStore:
    root = app.config.get("UPLOAD_FOLDER") or Path(app.instance_path) / "uploads"
    return FileStore(Path(root))
