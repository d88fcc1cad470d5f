"""`casework audit checkpoint`, `audit public-key`, `audit verify-file`, and the checkpoint half of `audit verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from app.checkpoints import make_checkpoint, public_key
from app.extensions import db
from cases import checkpoint_verify, checkpoints
from cases.errors import CasesError
from verifier import casework_verify


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


@click.command("checkpoint")
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


@click.command("public-key")
@with_appcontext
def public_key_command() -> None:
    """Print the public key (base64, Ed25519) that verifies this instance's checkpoints."""
    key = public_key()
    click.echo(f"{key}  (key id {casework_verify.key_id(key)})")


@click.command("verify-file")
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


COMMANDS = (checkpoint_command, public_key_command, verify_file_command)
