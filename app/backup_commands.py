"""`casework backup DIR` and `casework restore DIR` (see app/backup.py for what a backup holds)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.backup import BackupError, backup, restore
from app.extensions import db
from app.uploads import file_stores
from cases.storage import FileStores


def _stores() -> FileStores:
    return file_stores(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(folder: Path) -> None:
    """Back up the database, uploads and documents into FOLDER (new or empty), with the audit chain heads."""
    try:
        manifest = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], _stores(), folder)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up {manifest['cases']} cases, {len(manifest['chains'])} audit chains and "
               f"{sum(manifest['files'].values())} files into {folder}.")


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(folder: Path) -> None:
    """Restore a backup into this installation's empty database; refused unless every chain verifies."""
    db.engine.dispose()
    try:
        manifest = restore(current_app.config["SQLALCHEMY_DATABASE_URI"], _stores(), folder)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {manifest['cases']} cases; {len(manifest['chains'])} audit chains verified. "
               "Run `casework init` to bring the schema up to this version.")
