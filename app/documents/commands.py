"""`casework documents render` (a dossier now, not in the background) and `casework documents toolchain`."""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.cli_helpers import case_by_ref
from app.documents.queue import render_document, rendering_inline
from app.extensions import db
from app.uploads import document_store
from case_types.errors import CasesError
from cases import documents

log = logging.getLogger(__name__)


@click.group("documents")
def documents_group() -> None:
    """Generated documents of cases (PDF/A dossiers, letters)."""


@documents_group.command("render")
@click.argument("ref")
@click.option("--draft", is_flag=True, help="A DRAFT dossier of an open case, as it stands now.")
@with_appcontext
def render_command(ref: str, draft: bool) -> None:
    """Render the dossier of case REF now (not in the background); prints its SHA-256 and path."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    case = case_by_ref(ref)
    if draft and not case.is_open:
        raise click.ClickException(f"{case.ref} is closed: render its final dossier (without --draft).")
    if not draft and case.is_open:
        raise click.ClickException(f"{case.ref} is open: its final dossier is made when it closes; use --draft.")
    try:
        with rendering_inline():
            row = documents.queue_dossier(db.session, case)
            done = render_document(row.id)
    except CasesError as exc:
        raise click.ClickException(exc.message) from None
    if done is None or done.status != "done":
        reason = done.reason if done is not None else "someone else is rendering it"
        raise click.ClickException(f"The dossier of {case.ref} could not be made: {reason}")
    click.echo(f"{done.sha256}  {document_store(app).describe(done.storage_name or '')}")


def toolchain_report(app: Flask) -> tuple[list[str], bool]:
    """Lines describing the renderer's toolchain and the signing certificate; False if HarfBuzz-Subset is missing."""
    from app.documents.errors import DocumentError, RenderFailed
    from app.documents.pipeline import probe_toolchain_in_child
    from app.documents.queue import signing_key_for
    from app.documents.toolchain import MISSING_SUBSET_WARNING

    try:
        toolchain = probe_toolchain_in_child()
    except RenderFailed as exc:
        return [f"The renderer does not start: {exc.reason}"], False
    lines = [f"Renderer: {toolchain.describe()}."]
    pinned = toolchain.font_subsetter == "harfbuzz"
    if not pinned:
        lines.append(f"WARNING: {MISSING_SUBSET_WARNING}")
    try:
        key = signing_key_for(app)
    except DocumentError as exc:
        lines.append(f"WARNING: documents cannot be signed: {exc}")
        return lines, False
    if key is None:
        lines.append("Documents are not signed (DOCUMENT_SIGNING is off).")
    else:
        lines.append(f"Documents are signed by {key.subject} (certificate SHA-256 {key.fingerprint}).")
    return lines, pinned


def warn_about_toolchain(app: Flask) -> None:
    """At start-up: say (in the log and on stderr) when the renderer cannot give reproducible bytes."""
    lines, pinned = toolchain_report(app)
    for line in lines:
        if line.startswith("WARNING") or not pinned:
            log.warning("%s", line)
            click.echo(line, err=True)


@documents_group.command("toolchain")
@with_appcontext
def toolchain_command() -> None:
    """Show the renderer's toolchain (WeasyPrint, Pango, HarfBuzz, font subsetter) and the signing certificate;
    exit 1 when HarfBuzz-Subset is missing."""
    lines, pinned = toolchain_report(current_app._get_current_object())  # type: ignore[attr-defined]
    for line in lines:
        click.echo(line)
    if not pinned:
        raise SystemExit(1)
