"""The web layer's side of checkpoints: the instance's signing key, and making checkpoints.

The Ed25519 private key lives in `instance/checkpoint_key` (PEM, readable by the owner only), generated
on first use like the secret key; `CHECKPOINT_KEY_FILE` points elsewhere. The key never enters the
database, so whoever can write the database still cannot sign a checkpoint.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, current_app

from app.extensions import db
from cases import checkpoints
from cases.clock import utcnow
from cases.models import Case, Document

log = logging.getLogger(__name__)
_EXTENSION = "casework_checkpoint_signer"


def key_path(app: Flask) -> Path:
    return Path(app.config.get("CHECKPOINT_KEY_FILE") or Path(app.instance_path) / "checkpoint_key")


def _load_or_create(path: Path) -> checkpoints.Ed25519Signer:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(checkpoints.new_private_key_pem())
    return checkpoints.Ed25519Signer.from_pem(path.read_bytes())


def signer(app: Flask | None = None) -> checkpoints.Ed25519Signer:
    """The instance's checkpoint signer (loaded once per app)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(_EXTENSION)
    if found is None:
        found = app.extensions[_EXTENSION] = _load_or_create(key_path(app))
    return found


def public_key() -> str:
    return signer().public_key


def make_checkpoint(*, quick: bool = False) -> checkpoints.BuildResult:
    """A checkpoint now if any head changed (needs an app context); refused heads are logged."""
    result = checkpoints.build(db.session, signer(), clock=utcnow, quick=quick)
    for refusal in result.refused:
        log.warning("Checkpoint: not signing the head of %s: %s (run casework audit verify)",
                    refusal.stream, refusal.reason)
    return result


def checkpoint_if_changed() -> bool:
    """The periodic sweep's part: a new checkpoint when anything changed since the last; True if made."""
    try:
        result = make_checkpoint(quick=True)
    except checkpoints.CheckpointLogAltered as exc:
        log.error("Checkpoint refused: %s", exc.message)
        return False
    if result.created and result.checkpoint is not None:
        log.info("Checkpoint #%s: %s streams", result.checkpoint.id, result.checkpoint.tree_size)
    return result.created


def cover_with_checkpoint(document: Document) -> None:
    """Before a dossier renders: make sure a checkpoint covers the events it holds, so it embeds the
    proof bundle. A refused checkpoint leaves the dossier without one (and is logged), never unrendered."""
    case = db.session.get(Case, document.case_id)
    if case is None or document.chain_seq is None:
        return
    if checkpoints.covering(db.session, case.stream, document.chain_seq) is not None:
        return
    try:
        make_checkpoint()
    except checkpoints.CheckpointLogAltered as exc:
        db.session.rollback()
        log.error("Dossier %s embeds no proof bundle: %s", document.id, exc.message)
