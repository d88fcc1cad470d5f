"""The designer's preview: rendered and rasterised in a renderer child, under a short limit, few at a time."""

from __future__ import annotations

import shutil
import time

import pytest

from app.documents import preview
from app.documents.errors import RenderFailed
from app.documents.render_request import RenderRequest
from app.documents.samples import sample_dossier_context
from app.documents.templating import dossier_html
from tests.app.documents.conftest import audit_attachments, metadata_for


def small_request() -> RenderRequest:
    context = sample_dossier_context(fields=6, events=8, steps=3)
    return RenderRequest(html=dossier_html(context), metadata=metadata_for(context),
                     attachments=audit_attachments(context))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
def test_a_page_image_is_drawn_in_the_child_and_a_missing_page_is_none() -> None:
    png = preview.preview_png(small_request(), 1, memory_mb=512, timeout_s=60)
    assert png is not None and png.startswith(b"\x89PNG")
    assert preview.preview_png(small_request(), 999, memory_mb=512, timeout_s=60) is None


def test_a_preview_gets_the_short_limit_whatever_the_document_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "PREVIEW_TIMEOUT_S", 0.05)
    with pytest.raises(RenderFailed, match=r"took longer than 0.05 s"):
        preview.preview_pdf(small_request(), memory_mb=512, timeout_s=60)
    monkeypatch.undo()  # the child that ran over was replaced: the next preview renders
    assert preview.preview_pdf(small_request(), memory_mb=512, timeout_s=60).startswith(b"%PDF")


def test_when_every_slot_is_taken_a_preview_is_refused_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "SLOT_WAIT_S", 0.1)
    taken = [preview._SLOTS.acquire(blocking=False) for _ in range(preview.PREVIEW_SLOTS)]
    try:
        assert all(taken)
        started = time.monotonic()
        with pytest.raises(preview.PreviewBusy, match="try again"):
            preview.preview_pdf(small_request(), memory_mb=512, timeout_s=60)
        assert time.monotonic() - started < 1
    finally:
        for _ in taken:
            preview._SLOTS.release()
    assert preview.preview_pdf(small_request(), memory_mb=512, timeout_s=60).startswith(b"%PDF")
