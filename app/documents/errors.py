"""One exception tree for document rendering, so `app/errors.py` can map it in one place."""

from __future__ import annotations

from case_types.document_templates import BlockError

__all__ = ["AssetMissing", "BlockError", "DocumentError", "RenderFailed"]


class DocumentError(Exception):
    """Base of every error raised by `app.documents` (a malformed template is `BlockError`, from the
    document language in case_types.document_templates)."""


class AssetMissing(DocumentError):
    """A file of the app's own asset folders is missing: a deployment error (run `make assets`)."""


class RenderFailed(DocumentError):
    """Rendering did not produce a PDF; `reason` is a sentence a person can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
