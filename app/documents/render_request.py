"""What a render needs, as plain picklable data; building a render request never imports WeasyPrint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cases.storage import FileStorage

PDF_VARIANTS = ("pdf/a-3b", "pdf/a-3u", "pdf/a-3a")
_ATTACHMENT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True, slots=True)
class PdfMetadata:
    """The PDF's document information and the inputs of reproducibility.

    title, author, subject, keywords: written to the info dictionary and the XMP metadata.
    stable_id: what makes this document this document (e.g. "CMP-000123/dossier/v3/<chain head>");
        the PDF's file identifier is derived from it. Same stable_id + same content => same bytes.
    created_at: the document's creation time (timezone-aware), used for the creation and modification
        dates of the PDF and of every attachment instead of "now", so rendering again reproduces it.
    lang: BCP 47 language of the text.
    """

    title: str
    author: str
    subject: str
    keywords: tuple[str, ...]
    stable_id: str
    created_at: datetime
    lang: str = "en"
    creator: str = "Casework"

    def __post_init__(self) -> None:
        if self.created_at.utcoffset() is None:
            raise ValueError("PdfMetadata.created_at must be timezone-aware")
        if not self.stable_id:
            raise ValueError("PdfMetadata.stable_id must not be empty")

    @property
    def created_utc(self) -> datetime:
        """`created_at` in UTC, second precision (PDF dates carry no fractions)."""
        return self.created_at.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file embedded in the PDF (PDF/A-3 associated file), e.g. audit.json.

    name: a plain file name; WeasyPrint derives the embedded MIME subtype from its extension
        (.json -> application/json, .csv -> text/csv).
    relationship: the PDF/A-3 AFRelationship; `Data` for the audit log, which is the data the
        printed pages present.
    """

    name: str
    data: bytes
    description: str = ""
    relationship: str = "Data"

    def __post_init__(self) -> None:
        if not _ATTACHMENT_NAME_RE.fullmatch(self.name):
            raise ValueError(f"attachment name {self.name!r} must be a plain file name")
        if self.relationship not in ("Data", "Source", "Alternative", "Supplement", "Unspecified"):
            raise ValueError(f"unknown AFRelationship {self.relationship!r}")


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """One PDF to render in a child process: the complete HTML (from our templates) and its metadata."""

    html: str
    metadata: PdfMetadata
    attachments: tuple[Attachment, ...] = ()
    variant: str | None = "pdf/a-3b"
    logos: FileStorage | None = None


@dataclass(frozen=True, slots=True)
class Toolchain:
    """What decided a PDF's bytes besides its inputs: the renderer and the libraries it drew the text with.

    font_subsetter: "harfbuzz" (HarfBuzz-Subset, what Casework requires) or "fonttools" (WeasyPrint's
        fallback when libharfbuzz-subset is missing); the two write different font-subset streams.
    """

    weasyprint: str
    pango: str
    harfbuzz: str
    font_subsetter: str

    def describe(self) -> str:
        return (f"WeasyPrint {self.weasyprint}, Pango {self.pango}, HarfBuzz {self.harfbuzz}, "
                f"fonts subset with {'HarfBuzz-Subset' if self.font_subsetter == 'harfbuzz' else 'fontTools'}")
