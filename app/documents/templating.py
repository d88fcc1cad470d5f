"""Our own Jinja environment for the PDF templates: autoescaped, strict, and free of Flask.

The templates in `templates/pdf/` are trusted code written by us. Case data and admin text only ever
arrive as values, which autoescape turns into text; admin text goes through `fill_placeholders` first.
The environment needs no Flask app, so a child process can render templates on its own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import jinja2

from case_types.document_templates import (
    BlockDocument,
    DossierContext,
    FieldRow,
    FooterBlock,
    HeaderBlock,
    MissingValue,
    fill_placeholders,
    placeholder_values,
)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "pdf"
#: How many audit events the dossier prints at most; the attachments always carry all of them.
DEFAULT_AUDIT_LIMIT = 200
_BLANK_LINES_RE = re.compile(r"\n(?:[ \t]*\n)+")


def format_when(value: datetime) -> str:
    """`2025-03-04 09:15 UTC` or `2025-03-04 10:15 +01:00`: minutes are enough on paper, offset always."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"refusing to print a naive datetime: {value!r}")
    if offset == timedelta(0):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    text = value.strftime("%Y-%m-%d %H:%M %z")
    return f"{text[:-2]}:{text[-2:]}"


def paragraphs(text: str) -> list[str]:
    """Split admin text into paragraphs at blank lines; single newlines stay (printed as line breaks)."""
    return [part.strip("\n") for part in _BLANK_LINES_RE.split(text.replace("\r\n", "\n")) if part.strip()]


@functools.cache
def environment() -> jinja2.Environment:
    """The PDF template environment (cached per process; templates never change at run time)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        keep_trailing_newline=False,
    )
    env.filters["when"] = format_when
    env.filters["paragraphs"] = paragraphs
    env.filters["fill"] = fill_placeholders
    env.tests["missing"] = lambda value: isinstance(value, MissingValue)
    env.globals["pick_fields"] = pick_fields
    return env


def pick_fields(rows: list[FieldRow], keys: list[str]) -> list[FieldRow]:
    """The rows of `keys` in that order; a key the case lacks prints as a visible `[missing: key]` row."""
    by_key = {row.key: row for row in rows if row.key}
    return [by_key.get(key) or FieldRow(label=key, value=MissingValue(key), key=key) for key in keys]


def dossier_html(context: DossierContext, *, audit_limit: int = DEFAULT_AUDIT_LIMIT) -> str:
    """The case dossier as HTML for `render_pdf`."""
    return environment().get_template("dossier.html").render(
        ctx=context, audit_limit=audit_limit, lang="en", generated_label=format_when(context.generated_at)
    )


def block_document_html(
    document: BlockDocument,
    context: DossierContext,
    *,
    values: Mapping[str, str] | None = None,
    audit_attached: bool = False,
) -> str:
    """An admin-composed document as HTML; placeholders take `values` or the case's own values.

    `audit_attached` says whether the job embeds audit.json / audit.csv (the audit table's note).
    """
    values = placeholder_values(context) if values is None else values
    header = next((block for block in document.blocks if isinstance(block, HeaderBlock)), None)
    footer = next((block for block in document.blocks if isinstance(block, FooterBlock)), None)
    body = [block for block in document.blocks if not isinstance(block, HeaderBlock | FooterBlock)]
    return environment().get_template("composed.html").render(
        ctx=context,
        document=document,
        blocks=body,
        header=header,
        footer=footer,
        values=values,
        audit_attached=audit_attached,
        lang="en",
    )
