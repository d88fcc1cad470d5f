"""The document language: admin-composed templates as data, their placeholders, and what documents print.

A case type carries its document templates under `"documents"`, each the stored form of a
`BlockDocument`::

    {"template_name": "Decision letter", "version": 2, "internal": false,
     "blocks": [{"kind": "heading", "text": "Decision on {{case_ref}}", "level": 1},
                {"kind": "text", "text": "Dear {{name}},\\n\\nWe upheld your complaint."},
                {"kind": "signatures", "signers": ["Case officer"]}]}

Admins never write Jinja. Their text reaches a PDF only through `fill_placeholders`, which swaps
`{{field_key}}` tokens for values and returns plain strings; the trusted PDF templates (app/documents)
escape them. The context dataclasses below are the contract between the database (cases.documents
builds them) and the PDF templates: plain text and timezone-aware datetimes, nothing else, all picklable.

Nothing here imports Flask, WeasyPrint or the database.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from forms.schema import KEY_RE

#: Field keys as the form language defines them.
FIELD_KEY_RE = KEY_RE
#: A logo is named by its file name inside the logo folder given to the renderer, never by a path.
LOGO_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.(?:png|jpe?g)")

MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 20_000
#: Template names become document kinds (and file names): short, and never the reserved "dossier".
MAX_TEMPLATE_NAME = 100
RESERVED_NAMES = frozenset({"dossier"})
MAX_TEMPLATES = 20
MAX_BLOCKS = 100


class BlockError(ValueError):
    """A block document is malformed; the message says which block and why."""


def _require_aware(name: str, value: datetime) -> None:
    # A naive datetime would print without an offset and silently mean "server local time".
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


# --- what a document prints: the case dossier context ------------------------------------------------


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
    links: the linked cases as (how they are linked, reference), from the chain: child and parent cases,
        cases an agent linked; printed only when there are any.
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
    links: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _require_aware("DossierContext.generated_at", self.generated_at)
        if self.audit_total < len(self.audit):
            raise ValueError(f"audit_total ({self.audit_total}) is less than the rows given ({len(self.audit)})")


# --- admin-composed documents: the blocks ------------------------------------------------------------


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
        if self.level not in (1, 2, 3) or isinstance(self.level, bool):
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
            if not isinstance(self.fields, list):
                raise BlockError("field_table block: fields must be a list of field keys")
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
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or not 1 <= self.limit <= 500:
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
    """The running page header: text (placeholders allowed) and an optional logo from the logo folder."""

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
    version: the template's own version number, raised by the designer on every change; stored with
        each rendered document beside the case-type version.
    blocks: the blocks in order; at most one header and one footer block, which style every page.
    internal: staff-only (never shown to the requester); requester-facing documents print the public
        timeline and cannot hold an audit table (staff names and internal events).
    """

    template_name: str
    version: int
    blocks: list[Block]
    internal: bool = False

    def __post_init__(self) -> None:
        _text("document", "template_name", self.template_name, MAX_SHORT_TEXT)
        if not isinstance(self.internal, bool):
            raise BlockError("internal must be true or false")
        for kind in ("header", "footer"):
            if sum(1 for block in self.blocks if block.kind == kind) > 1:
                raise BlockError(f"a document has at most one {kind} block")


# --- placeholders ------------------------------------------------------------------------------------

#: `{{field_key}}` with optional spaces inside the braces; the key follows the form language's rule.
#: Anything else between double braces (`{{ ''.__class__ }}`, `{{a.b}}`, `{{x|safe}}`) is not a
#: placeholder and prints literally.
PLACEHOLDER_RE = re.compile(r"\{\{ *([a-z][a-z0-9_]{0,62}) *\}\}")

#: Keys every document can use besides the case's own fields; a form field of the same key wins.
BUILTIN_PLACEHOLDERS = ("case_ref", "case_title", "case_type", "case_state", "organisation", "generated_on")


class MissingValue(str):
    """The visible stand-in for a placeholder whose key has no value: `[missing: key]`.

    Chosen over an empty string because a decision letter with a silent gap reads as if it were
    complete; the marker shows up in the designer's live preview and in review. It is a `str`, so it
    is escaped and printed like any other text; templates may highlight it (`is missing` test).
    """

    __slots__ = ()

    def __new__(cls, key: str) -> MissingValue:
        return super().__new__(cls, f"[missing: {key}]")


def fill_placeholders(text: str, values: Mapping[str, str]) -> list[str]:
    """Split `text` into plain segments with every `{{field_key}}` replaced by its value.

    One pass over the admin's text: a value that itself contains `{{other}}` stays literal, so case
    data can never pull in another field or anything else. Unknown keys become `MissingValue`.
    """
    segments: list[str] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(text):
        if match.start() > position:
            segments.append(text[position : match.start()])
        key = match.group(1)
        value = values.get(key)
        segments.append(MissingValue(key) if value is None else str(value))
        position = match.end()
    if position < len(text):
        segments.append(text[position:])
    return segments


def placeholder_values(context: DossierContext) -> dict[str, str]:
    """The values placeholders can name: the case's fields by key, then the built-in `case_*` keys."""
    values = {
        "case_ref": context.ref,
        "case_title": context.title,
        "case_type": context.case_type,
        "case_state": context.state,
        "organisation": context.organisation,
        "generated_on": context.generated_at.date().isoformat(),
    }
    values.update({row.key: row.value for row in context.fields if row.key})
    return values


def placeholders_in(text: str) -> list[str]:
    """The keys `text` names as placeholders, in order of first use."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER_RE.finditer(text)))


def block_texts(block: Block) -> list[tuple[str, str]]:
    """(property, text) of every admin text of a block that may hold placeholders."""
    if isinstance(block, HeadingBlock | TextBlock | HeaderBlock | FooterBlock):
        return [("text", block.text)]
    if isinstance(block, SignaturesBlock):
        return [(f"signers[{i}]", label) for i, label in enumerate(block.signers)]
    return []


# --- stored form -------------------------------------------------------------------------------------


def parse_block(data: Mapping[str, Any]) -> Block:
    """Build one block from its stored dict (`{"kind": "text", "text": "..."}`); raises `BlockError`."""
    if not isinstance(data, Mapping):
        raise BlockError("a block must be an object with a kind")
    kind = data.get("kind")
    cls = BLOCK_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise BlockError(f"unknown block kind {kind!r}; known kinds: {', '.join(sorted(BLOCK_TYPES))}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - {"kind"})
    if unknown:
        raise BlockError(f"{kind} block: unknown properties {', '.join(unknown)}")
    try:
        return cls(**{name: data[name] for name in names if name in data})
    except TypeError as exc:
        raise BlockError(f"{kind} block: {exc}") from exc


def parse_block_document(data: Mapping[str, Any]) -> BlockDocument:
    """Build a `BlockDocument` from its stored JSON object; raises `BlockError` naming the bad block."""
    if not isinstance(data, Mapping):
        raise BlockError("a document template must be an object")
    name, version, blocks = data.get("template_name"), data.get("version"), data.get("blocks")
    unknown = sorted(set(data) - {"template_name", "version", "blocks", "internal"})
    if unknown:
        raise BlockError(f"unknown properties {', '.join(map(str, unknown))}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BlockError("version must be a whole number from 1")
    if not isinstance(blocks, list):
        raise BlockError("blocks must be a list")
    parsed = []
    for number, block in enumerate(blocks, start=1):
        try:
            parsed.append(parse_block(block))
        except BlockError as exc:
            raise BlockError(f"block {number}: {exc}") from exc
    internal = data.get("internal", False)
    return BlockDocument(template_name=name, version=version, blocks=parsed, internal=internal)  # type: ignore[arg-type]


def block_to_dict(block: Block) -> dict[str, Any]:
    """The stored JSON form of one block."""
    return {"kind": block.kind, **dataclasses.asdict(block)}


def block_document_to_dict(document: BlockDocument) -> dict[str, Any]:
    """The stored JSON form of a block document; `parse_block_document` reads it back unchanged."""
    stored: dict[str, Any] = {
        "template_name": document.template_name,
        "version": document.version,
        "blocks": [block_to_dict(block) for block in document.blocks],
    }
    if document.internal:
        stored["internal"] = True
    return stored


def template_named(templates: Sequence[Mapping[str, Any]], name: str) -> BlockDocument | None:
    """The template called `name` among a case type's stored templates (None if there is none)."""
    for item in templates:
        if isinstance(item, Mapping) and item.get("template_name") == name:
            return parse_block_document(item)
    return None
