"""The document designer's live preview: a draft template rendered (and, for the page image, rasterised by
poppler's `pdftoppm`) in a renderer child under a short time limit, so no preview can hold a web server
thread for long.

Why a short limit and few slots: the editor loads the preview with every change, and a page is waiting
for it. A template that takes longer than PREVIEW_TIMEOUT_S is not worth waiting for (the background
render of real documents has its own, longer limit), and at most PREVIEW_SLOTS previews render at once,
so however many admins type, the other requests of the server keep their threads.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from app.documents.child import run_in_child
from app.documents.errors import DocumentError
from app.documents.render_request import RenderRequest

PREVIEW_DPI = 70
#: Seconds a preview may take, rendering and rasterising together.
PREVIEW_TIMEOUT_S = 15.0
#: Previews rendering at the same time in this process; one more waits at most SLOT_WAIT_S for a slot.
PREVIEW_SLOTS = 2
SLOT_WAIT_S = 2.0
_SLOTS = threading.BoundedSemaphore(PREVIEW_SLOTS)


class PreviewBusy(DocumentError):
    """Every preview slot is taken: the caller should try again in a moment."""


def can_rasterise() -> bool:
    """Whether page images can be made here (poppler-utils installed); else only the PDF is offered."""
    return shutil.which("pdftoppm") is not None


def preview_pdf(request: RenderRequest, *, memory_mb: int, timeout_s: float) -> bytes:
    """The request rendered to PDF bytes; raises RenderFailed (with a readable reason) or PreviewBusy."""
    with _slot():
        return run_in_child(_render, request, memory_mb=memory_mb, timeout_s=min(timeout_s, PREVIEW_TIMEOUT_S))


def preview_png(request: RenderRequest, page: int, *, memory_mb: int, timeout_s: float) -> bytes | None:
    """Page `page` of the rendered request as a PNG, or None when the document has no such page."""
    with _slot():
        return run_in_child(_render_page, (request, page), memory_mb=memory_mb,
                            timeout_s=min(timeout_s, PREVIEW_TIMEOUT_S))


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    if not _SLOTS.acquire(timeout=SLOT_WAIT_S):
        raise PreviewBusy("Other previews are being drawn right now; try again in a moment.")
    try:
        yield
    finally:
        _SLOTS.release()


def _render(request: RenderRequest) -> bytes:
    from app.documents.render import render_pdf_for

    return render_pdf_for(request)


def _render_page(arg: tuple[RenderRequest, int]) -> bytes | None:
    """In the renderer child: the PDF, then one page of it as an image (the child's limits cover both)."""
    request, page = arg
    return rasterise(_render(request), page)


def rasterise(pdf: bytes, page: int, *, dpi: int = PREVIEW_DPI) -> bytes | None:
    """Page `page` (from 1) of `pdf` as a PNG at `dpi`, or None when there is no such page."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise DocumentError("Page images need poppler-utils (pdftoppm).")
    with tempfile.TemporaryDirectory(prefix="casework-preview-") as folder:
        root = Path(folder) / "page"
        # A fixed argument list (the page is a number); the PDF goes in on stdin, the PNG into our folder.
        done = subprocess.run([tool, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),  # noqa: S603
                               "-singlefile", "-", str(root)], input=pdf, capture_output=True,
                              timeout=PREVIEW_TIMEOUT_S, check=False)
        image = root.with_suffix(".png")
        if done.returncode != 0 or not image.is_file():
            return None
        return image.read_bytes()
