"""Shared helpers for the document tests: small contexts, rendering, and reading PDFs back."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

from app.documents.fetcher import FONTS_DIR
from app.documents.render_request import Attachment, PdfMetadata
from app.documents.samples import sample_audit_exports, sample_dossier_context
from case_types.document_templates import DossierContext


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the shipped fonts (`make assets`) nothing here can render: say so once, clearly."""
    if not (FONTS_DIR / "DejaVuSans.ttf").is_file():
        for item in items:
            if "tests/app/documents" in str(item.path):
                item.add_marker(pytest.mark.skip(reason="fonts missing: run `make assets`"))


@pytest.fixture
def small_context() -> DossierContext:
    """A dossier context small enough to render in well under a second."""
    return sample_dossier_context(fields=12, events=15, steps=5)


def metadata_for(context: DossierContext, stable_id: str | None = None) -> PdfMetadata:
    return PdfMetadata(
        title=context.title,
        author="Casework tests",
        subject=f"Case dossier {context.ref}",
        keywords=(context.ref, "dossier"),
        stable_id=stable_id or f"{context.ref}/dossier/{context.chain_head}",
        created_at=context.generated_at,
    )


def audit_attachments(context: DossierContext) -> tuple[Attachment, Attachment]:
    audit_json, audit_csv = sample_audit_exports(context.audit)
    return (
        Attachment("audit.json", audit_json, description="Complete audit log (JSON)"),
        Attachment("audit.csv", audit_csv, description="Complete audit log (CSV)"),
    )


def pdftotext(pdf: bytes, *, layout: bool = True) -> str:
    """The PDF's text as poppler reads it; pages are separated by form feeds."""
    command = ["pdftotext", *(["-layout"] if layout else []), "-enc", "UTF-8", "-", "-"]
    return subprocess.run(command, input=pdf, capture_output=True, check=True, timeout=30).stdout.decode()


def squeeze(text: str) -> str:
    """Text without whitespace, so a value wrapped across lines of a table cell still matches."""
    return "".join(text.split())


def open_pdf(pdf: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(pdf))


def tool_output(command: list[str], pdf: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a poppler/qpdf tool on the PDF written to a file."""
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def need_tools() -> None:
    for tool in ("pdftotext", "pdffonts", "qpdf"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (poppler-utils, qpdf)")
