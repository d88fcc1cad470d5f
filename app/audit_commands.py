"""`casework audit ...`: verify the chains and checkpoints, sign a checkpoint, verify a file offline, export the log."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from app.checkpoints import make_checkpoint, public_key
from app.cli_helpers import case_by_ref
from app.extensions import db
from case_types.errors import CasesError
from cases import audit, checkpoint_verify, checkpoints
from cases.clock import utcnow
from cases.inputs import parse_id
from cases.models import Case
from cases.read import audit_trail
from verifier import casework_verify


@click.group("audit")
def audit_group() -> None:
    """Verify and export the audit log."""


def _read_kept(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        kept = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"Cannot read the checkpoint file {path}: {exc}") from None
    if not isinstance(kept, dict):
        raise click.ClickException(f"{path} is not a checkpoint file.")
    return kept


def checkpoint_problems(stream: str | None, since: str | None) -> checkpoint_verify.CheckpointReport:
    """The stored checkpoints (and a kept checkpoint file) checked against the chains."""
    return checkpoint_verify.verify(db.session, public_key(), stream=stream, kept=_read_kept(since))


@audit_group.command("checkpoint")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the checkpoint with its leaves to this file (to keep for `verify-file --since`).")
@with_appcontext
def checkpoint_command(output: str | None) -> None:
    """Sign a checkpoint of every audit chain's head now (if anything changed since the last one)."""
    try:
        result = make_checkpoint()
    except CasesError as exc:
        raise click.ClickException(exc.message) from None
    found = result.checkpoint
    assert found is not None
    body = checkpoints.checkpoint_json(found)
    verb = "Signed" if result.created else "Nothing changed since"
    click.echo(f"{verb} checkpoint #{found.id} of {body['at']}: {found.tree_size} chains, {found.events_total} "
               f"events, root {found.root_hash}, key {body['key_id']}")
    for refusal in result.refused:
        click.echo(f"NOT SIGNED: {refusal.stream}: {refusal.reason}", err=True)
    if output:
        Path(output).write_text(json.dumps(checkpoints.checkpoint_file(db.session, found), indent=1) + "\n")
        click.echo(f"Wrote {output}.", err=True)
    if result.refused:
        raise SystemExit(1)


@audit_group.command("public-key")
@with_appcontext
def public_key_command() -> None:
    """Print the public key (base64, Ed25519) that verifies this instance's checkpoints."""
    key = public_key()
    click.echo(f"{key}  (key id {casework_verify.key_id(key)})")


@audit_group.command("verify-file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--since", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A checkpoint file (with leaves) kept earlier: the file must be consistent with it.")
@click.option("--public-key", "key", default=None, help="Insist on this public key (base64).")
@click.option("--certificate", default=None,
              help="A dossier's expected signing certificate: a PEM or DER file, or its SHA-256 (hex).")
@click.option("--allow-unsigned", is_flag=True, help="Accept a dossier PDF that is not signed.")
def verify_file_command(file: str, since: str | None, key: str | None, certificate: str | None,
                        allow_unsigned: bool) -> None:
    """Verify a bundle (JSON) or a dossier (PDF: its audit bundle and its signature) offline, as
    verifier/casework_verify.py does; exit 1 naming the first problem."""
    raise SystemExit(casework_verify.main([file, *(["--since", since] if since else []),
                                           *(["--public-key", key] if key else []),
                                           *(["--certificate", certificate] if certificate else []),
                                           *(["--allow-unsigned"] if allow_unsigned else [])]))


@audit_group.command("verify")
@click.option("--case", "case_ref", default=None, help="Only this case's chain, by reference (CMP-000123).")
@click.option("--stream", default=None, help="Only this chain, e.g. case:12 or form:complaint.")
@click.option("--since", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A checkpoint file kept earlier: the database must still be consistent with it.")
@with_appcontext
def audit_verify(case_ref: str | None, stream: str | None, since: str | None) -> None:
    """Recompute the hash chains and check them against the signed checkpoints; exit 1 and name the first
    broken event of each broken chain if any."""
    if case_ref:
        stream = case_by_ref(case_ref).stream
    result = audit.verify(db.session, stream)
    report = checkpoint_problems(stream, since)
    named = {b.stream for b in result.broken}
    broken = result.broken + [b for b in report.broken or [] if b.stream not in named]
    if not broken:
        click.echo(f"OK: {result.checked} events in {result.streams} chains verified. {report.heads} signed heads "
                   f"of {report.checkpoints} checkpoints are still in their chains"
                   + (f" ({report.reanchored} of them through a recorded re-anchoring: personal values "
                      "sealed by `casework privacy reseal`)." if report.reanchored else "."))
        return
    for item in broken:
        label = item.stream
        case_id = parse_id(item.stream[5:]) if item.stream.startswith("case:") else None
        if case_id is not None:
            case = db.session.get(Case, case_id)
            label = f"{case.ref} ({item.stream})" if case else item.stream
        click.echo(f"BROKEN: {label} at event {item.seq}: {item.reason}", err=True)
    raise SystemExit(1)


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--case", "case_ref", default=None, help="Only this case's events, by reference (CMP-000123).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
@with_appcontext
def audit_export_command(fmt: str, case_ref: str | None, output: str | None) -> None:
    """Export the audit log (every chain, or one case's) as CSV (formula-safe) or JSON."""
    streams = [case_by_ref(case_ref).stream] if case_ref else None
    if fmt == "csv":
        chunks = audit_trail.export_csv(db.session, streams)
    else:
        chunks = audit_trail.export_json(db.session, streams, exported_at=utcnow().astimezone(UTC).isoformat())
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)
    click.echo(f"Wrote {output}.", err=True)

