"""The context contract between the database and the PDF templates.

Whoever builds documents from the database fills these dataclasses; the templates read nothing else.
Every value that reaches a template is plain text (or a timezone-aware datetime, formatted by the
template): the templates escape it, so nothing in a case can become markup, a URL fetch or template code.
Everything here pickles, so a context can travel to the child process that renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from app.documents.errors import BlockError

#: Field keys as the form language defines them (`forms.schema.KEY_RE`), repeated here because the web
#: layer must not reach into the form package for one regex.
FIELD_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: A logo is named by its file name inside the uploads folder given to the renderer, never by a path.
LOGO_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.(?:png|jpe?g)")

MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 20_000


def _require_aware(name: str, value: datetime) -> None:
    # A naive datetime would print without an offset and silently mean "server local time".
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


# --- the case dossier --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One line of the case data table.

    label: the field's label as the pinned form version shows it ("Amount claimed").
    value: the value already formatted for people (choice labels not keys, dates formatted, files by
        name, "" for empty); newlines are kept when printed.
    key: the field's key (`amount_claimed`); lets a field-table block pick fields and placeholders find
        values. Optional for the dossier, which prints every row it is given in order.
    """

    label: str
    value: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One step of the case's life as a reader would tell it (submitted, claimed, moved to a state).

    at: when it happened, timezone-aware; printed with its own offset.
    actor: who did it, as shown to people ("Ana Diaz", "system", "rule r-12").
    text: what happened, one sentence ("Moved to CFO approval: amount above 10,000").
    """

    at: datetime
    actor: str
    text: str

    def __post_init__(self) -> None:
        _require_aware("TimelineRow.at", self.at)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One event of the case's audit chain, summarised for print (the attachment carries it whole).

    seq: the event's sequence number within the case (1, 2, ...).
    at: when it was recorded, timezone-aware.
    actor: who caused it (e-mail or "system").
    kind: the event kind (`case.transitioned`, `data.changed`).
    summary: one line for people ("status: new -> triage"); long payloads belong in audit.json.
    """

    seq: int
    at: datetime
    actor: str
    kind: str
    summary: str

    def __post_init__(self) -> None:
        _require_aware("AuditRow.at", self.at)


@dataclass(frozen=True, slots=True)
class DossierContext:
    """Everything the case dossier (`templates/pdf/dossier.html`) prints.

    ref: the case's human reference (`CMP-000123`); printed in the title block and every page footer.
    title: the document title ("Case dossier CMP-000123" or the case's subject line).
    case_type: the case type's name and pinned version as people read it ("Complaint v3").
    state: the current state's label ("Closed: upheld").
    draft: True while the case is not in a completing state; prints a DRAFT banner and watermark.
    generated_at: when this rendition was produced, timezone-aware; for archived dossiers use the time
        the case completed, so rendering again reproduces the same file.
    fields: the case data in the order of the pinned form.
    timeline: the case's steps, oldest first.
    audit: audit events oldest first; may be only the most recent ones (see `audit_total`).
    chain_head: the hash of the last audit event this dossier covers (hex); printed in every footer so
        a printed page can be checked against `casework audit verify`.
    audit_total: how many audit events the case has in all; when more than the printed rows, the
        dossier says so and points to the attached audit.json / audit.csv.
    organisation: the organisation's name for the page header.
    """

    ref: str
    title: str
    case_type: str
    state: str
    draft: bool
    generated_at: datetime
    fields: list[FieldRow]
    timeline: list[TimelineRow]
    audit: list[AuditRow]
    chain_head: str
    audit_total: int
    organisation: str

    def __post_init__(self) -> None:
        _require_aware("DossierContext.generated_at", self.generated_at)
        if self.audit_total < len(self.audit):
            raise ValueError(f"audit_total ({self.audit_total}) is less than the rows given ({len(self.audit)})")


# --- admin-composed documents ------------------------------------------------------------------------


def _text(kind: str, name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise BlockError(f"{kind} block: {name} must be text")
    if len(value) > limit:
        raise BlockError(f"{kind} block: {name} is longer than {limit} characters")
    return value


@dataclass(frozen=True, slots=True)
class HeadingBlock:
    """A heading; `text` may hold `{{field_key}}` placeholders; `level` 1 to 3."""

    kind: ClassVar[str] = "heading"
    text: str
    level: int = 1

    def __post_init__(self) -> None:
        _text(self.kind, "text", self.text, MAX_SHORT_TEXT)
        if self.level not in (1, 2, 3):
            raise BlockError("heading block: level must be 1, 2 or 3")


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A paragraph of the admin's text with `{{field_key}}` placeholders; blank lines start paragraphs."""

    kind: ClassVar[str] = "text"
    text: str

    def __post_init__(self) -> None:
        _text(self.kind, "text", self.text, MAX_LONG_TEXT)


@dataclass(frozen=True, slots=True)
class FieldTableBlock:
    """A label/value table of the chosen field keys in the admin's order, or of every field when None."""

    kind: ClassVar[str] = "field_table"
    fields: list[str] | None = None
    title: str = ""

    def __post_init__(self) -> None:
        _text(self.kind, "title", self.title, MAX_SHORT_TEXT)
        if self.fields is not None:
            for key in self.fields:
                if not isinstance(key, str) or not FIELD_KEY_RE.fullmatch(key):
                    raise BlockError(f"field_table block: {key!r} is not a field key")


@dataclass(frozen=True, slots=True)
class TimelineBlock:
    """The case timeline as a table."""

    kind: ClassVar[str] = "timeline"
    title: str = ""

    def __post_init__(self) -> None:
        _text(self.kind, "title", self.title, MAX_SHORT_TEXT)


@dataclass(frozen=True, slots=True)
class AuditTableBlock:
    """The most recent `limit` audit events, with a note that the complete log is attached."""

    kind: ClassVar[str] = "audit_table"
    title: str = ""
    limit: int = 50

    def __post_init__(self) -> None:
        _text(self.kind, "title", self.title, MAX_SHORT_TEXT)
        if not isinstance(self.limit, int) or not 1 <= self.limit <= 500:
            raise BlockError("audit_table block: limit must be a whole number from 1 to 500")


@dataclass(frozen=True, slots=True)
class SignaturesBlock:
    """Signature lines, one per signer label ("Case officer", "{{applicant_name}}"); at most 6."""

    kind: ClassVar[str] = "signatures"
    signers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.signers, list) or not 1 <= len(self.signers) <= 6:
            raise BlockError("signatures block: give 1 to 6 signer labels")
        for label in self.signers:
            _text(self.kind, "signer label", label, MAX_SHORT_TEXT)


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """The running page header: text (placeholders allowed) and an optional logo from the uploads folder."""

    kind: ClassVar[str] = "header"
    text: str = ""
    logo: str | None = None

    def __post_init__(self) -> None:
        _text(self.kind, "text", self.text, MAX_SHORT_TEXT)
        if self.logo is not None and (not isinstance(self.logo, str) or not LOGO_NAME_RE.fullmatch(self.logo)):
            raise BlockError("header block: logo must be the file name of a PNG or JPEG upload")


@dataclass(frozen=True, slots=True)
class FooterBlock:
    """The running page footer text (placeholders allowed); page numbers and the reference stay."""

    kind: ClassVar[str] = "footer"
    text: str = ""

    def __post_init__(self) -> None:
        _text(self.kind, "text", self.text, MAX_SHORT_TEXT)


#: The tagged union of blocks; `kind` is the tag, as stored in the template's JSON.
Block = (
    HeadingBlock
    | TextBlock
    | FieldTableBlock
    | TimelineBlock
    | AuditTableBlock
    | SignaturesBlock
    | HeaderBlock
    | FooterBlock
)

#: Registry of block types keyed by tag: parsing a stored template looks the tag up here.
BLOCK_TYPES: dict[str, type[Block]] = {
    cls.kind: cls
    for cls in (
        HeadingBlock,
        TextBlock,
        FieldTableBlock,
        TimelineBlock,
        AuditTableBlock,
        SignaturesBlock,
        HeaderBlock,
        FooterBlock,
    )
}


@dataclass(frozen=True, slots=True)
class BlockDocument:
    """An admin-composed document template version: blocks printed top to bottom.

    template_name: the template's name as admins see it ("Decision letter"); the PDF title.
    version: the published version number; stored with each rendered document.
    blocks: the blocks in order; at most one header and one footer block, which style every page.
    """

    template_name: str
    version: int
    blocks: list[Block]

    def __post_init__(self) -> None:
        _text("document", "template_name", self.template_name, MAX_SHORT_TEXT)
        for kind in ("header", "footer"):
            if sum(1 for block in self.blocks if block.kind == kind) > 1:
                raise BlockError(f"a document has at most one {kind} block")
