"""HTML to PDF/A-3b with WeasyPrint: locked-down fetching, fixed metadata, byte-for-byte reproducible.

Importing this module imports WeasyPrint (about 1 s and 57 MB); web processes should build a
`RenderRequest` (app.documents.render_request) and hand it to `render_in_child` instead of importing this.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pydyf
from weasyprint import HTML
from weasyprint import Attachment as WeasyAttachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError

from app.documents.errors import AssetMissing
from app.documents.fetcher import BASE_URL, FONTS_DIR, AssetFetcher
from app.documents.render_request import PDF_VARIANTS, Attachment, PdfMetadata, RenderRequest
from cases.storage import FileStorage


class ShippedFontConfiguration(FontConfiguration):
    """A Fontconfig configuration that holds Casework's shipped fonts and nothing else.

    Why: with the machine's configuration, a glyph missing from the shipped fonts is drawn with whatever
    system font has it, so the same document differs between machines (and after installing a package).
    Here the only fonts are those in `app/static/fonts` (and the @font-face ones, which are the same files).
    """

    def __init__(self) -> None:
        with _only_shipped_fonts():
            super().__init__()


@contextmanager
def _only_shipped_fonts() -> Iterator[None]:
    """Point Fontconfig at a configuration listing only FONTS_DIR while WeasyPrint loads it."""
    folder = Path(tempfile.mkdtemp(prefix="casework-fonts-"))
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{escape(str(FONTS_DIR))}</dir><cachedir>{escape(str(folder))}</cachedir></fontconfig>\n"
    )
    previous = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = str(conf)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FONTCONFIG_FILE", None)
        else:
            os.environ["FONTCONFIG_FILE"] = previous
        # Fontconfig has read the folder (fonts scanned, cache written) by the time the configuration exists.
        shutil.rmtree(folder, ignore_errors=True)


def pdf_identifier(stable_id: str) -> bytes:
    """The PDF file identifier for a document: stable across renders, different across documents."""
    return hashlib.sha256(b"casework-pdf-id\0" + stable_id.encode()).hexdigest()[:32].encode()


def render_pdf(
    html: str,
    *,
    metadata: PdfMetadata,
    attachments: Sequence[Attachment] = (),
    variant: str | None = "pdf/a-3b",
    logos: FileStorage | None = None,
    fetcher: AssetFetcher | None = None,
) -> bytes:
    """Render trusted HTML (from our templates) to PDF bytes; same inputs give the same bytes.

    Only the app's assets can be loaded (see `AssetFetcher`); `<link rel=attachment>` and HTML
    `<meta>` metadata are ignored: attachments and metadata come from the arguments alone.
    Raises `AssetMissing` when a shipped asset (a font) is absent.
    """
    if variant is not None and variant not in PDF_VARIANTS:
        raise ValueError(f"unsupported PDF variant {variant!r}; attachments need one of {PDF_VARIANTS}")
    fetcher = fetcher if fetcher is not None else AssetFetcher(logos=logos)
    created = metadata.created_utc
    w3c_created = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    font_config = ShippedFontConfiguration()
    try:
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render(
            font_config=font_config, presentational_hints=False, pdf_variant=variant
        )
        info = document.metadata
        info.title = metadata.title
        info.authors = [metadata.author]
        info.description = metadata.subject
        info.keywords = list(metadata.keywords)
        info.generator = metadata.creator
        info.created = info.modified = w3c_created
        info.lang = metadata.lang
        info.custom = {}
        info.xmp_metadata = []
        # Drop whatever the HTML declared with <link rel=attachment>: only our own attachments travel.
        info.attachments = []
        embedded = [
            WeasyAttachment(
                string=attachment.data,
                name=attachment.name,
                description=attachment.description,
                created=created,
                modified=created,
                relationship=attachment.relationship,
                url_fetcher=fetcher,
            )
            for attachment in attachments
        ]
        return document.write_pdf(
            finisher=_unique_associated_files,
            pdf_variant=variant,
            pdf_identifier=pdf_identifier(metadata.stable_id),
            attachments=embedded,
            custom_metadata=False,
            presentational_hints=False,
            uncompressed_pdf=False,
        )
    except FatalURLFetchingError as exc:
        raise AssetMissing(str(exc.__cause__ or exc)) from None


def _unique_associated_files(document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint 70 lists every attachment twice in the catalog's /AF; keep each file spec once."""
    associated = pdf.catalog.get("AF")
    if associated:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(associated))


def render_pdf_for(request: RenderRequest) -> bytes:
    """Render a `RenderRequest` in this process (what the child process runs)."""
    return render_pdf(
        request.html,
        metadata=request.metadata,
        attachments=request.attachments,
        variant=request.variant,
        logos=request.logos,
    )
