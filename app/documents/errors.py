"""One exception tree for document rendering, so `app/errors.py` can map it in one place."""

from __future__ import annotations


class DocumentError(Exception):
    """Base of every error raised by `app.documents`."""


class BlockError(DocumentError):
    """An admin-composed block document is malformed; the message says which block and why."""


class AssetMissing(DocumentError):
    """A file of the app's own asset folders is missing: a deployment error (run `make assets`)."""


class RenderFailed(DocumentError):
    """Rendering did not produce a PDF; `reason` is a sentence a person can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
