"""`casework backup DIR` and `casework restore DIR`: the database, the files, and what proves them.

A backup folder holds `database.sqlite3` (SQLite's online backup API: a consistent copy while the
server runs) or `database.pgdump` (pg_dump's custom format, taken in an exported snapshot), the stored
files read through the file stores (cases.storage: `files/uploads`, `files/documents`, `files/logos`,
one file per stored name), and `manifest.json`: the backend, the SHA-256 of the
dump, the number of cases, the head (sequence number and hash) of every audit chain and the latest
signed audit checkpoint, all read in the same snapshot as the dump. (The checkpoint signing key in the
instance folder is not part of a backup: keep it as you keep SECRET_KEY.)

Restore goes into an empty database only, and refuses a backup that does not prove itself: the dump
must have the manifest's SHA-256, and once loaded every chain must verify and end at the manifest's
head, and the latest checkpoint must be the manifest's. On SQLite this is checked on the backup before
anything is written; on PostgreSQL the dump is loaded and checked, and a refusal leaves the target
schema empty again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from cases import audit, checkpoints
from cases.database import make_engine
from cases.models import AuditStream, Case
from cases.storage import FileStorage, FileStores, check_name

MANIFEST = "manifest.json"
FORMAT = 2  # 1: the file folders copied as they lay on disk (logos inside files/uploads/logos)


class BackupError(Exception):
    """A backup that cannot be taken, or a restore that is refused; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _facts(conn: Connection) -> dict[str, Any]:
    """Case count, chain heads and the latest signed checkpoint, read on `conn` (in the dump's snapshot)."""
    cases = conn.execute(select(func.count()).select_from(Case)).scalar() or 0
    heads = {row.stream: [row.head_seq, row.head_hash]
             for row in conn.execute(select(AuditStream.stream, AuditStream.head_seq, AuditStream.head_hash))}
    latest = checkpoints.latest(Session(bind=conn))
    return {"cases": int(cases), "chains": heads,
            "checkpoint": checkpoints.checkpoint_json(latest) if latest is not None else None}


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump / pg_restore take it (no driver name; libpq parameters kept)."""
    raw = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    parts = urlsplit(raw)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k in ("options", "sslmode", "connect_timeout")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _save_files(store: FileStorage, target: Path) -> int:
    """Every stored file of `store` into the folder `target`, under its stored name."""
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in store.names():
        try:
            with store.open(name) as body, open(target / name, "wb") as out:
                shutil.copyfileobj(body, out)
        except FileNotFoundError:  # deleted since it was listed (erased, swept): not part of the backup
            continue
        count += 1
    return count


def _backed_up_files(source: Path, area: str, manifest: dict[str, Any]) -> Iterator[Path]:
    """The saved files of one area (format 1 kept the upload folder's sub-folders and its logos)."""
    if manifest["format"] == 1 and area != "documents":
        folder = source / "files" / "uploads"
        if not folder.is_dir():
            return
        yield from (p for p in sorted(folder.rglob("*"))
                    if p.is_file() and (p.parent.name == "logos") == (area == "logos"))
        return
    folder = source / "files" / area
    if folder.is_dir():
        yield from (p for p in sorted(folder.iterdir()) if p.is_file())


def _load_files(stores: FileStores, source: Path, manifest: dict[str, Any]) -> None:
    for area, store in stores.areas().items():
        for path in _backed_up_files(source, area, manifest):
            with open(path, "rb") as body:
                store.put(path.name, body)


def _check_file_names(source: Path, manifest: dict[str, Any]) -> None:
    for area in ("uploads", "documents", "logos"):
        for path in _backed_up_files(source, area, manifest):
            try:
                check_name(path.name)
            except ValueError:
                raise BackupError(f"The backup holds a file Casework never names so: {path}.") from None


def backup(database_url: str, stores: FileStores, target: Path) -> dict[str, Any]:
    """Write a backup of the database and files into the new or empty folder `target`."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder.")
    target.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "sqlite":
            dump, facts = _backup_sqlite(engine, target / "database.sqlite3")
        else:
            dump, facts = _backup_postgresql(engine, database_url, target / "database.pgdump")
    finally:
        engine.dispose()
    files = {area: _save_files(store, target / "files" / area) for area, store in stores.areas().items()}
    manifest = {"format": FORMAT, "backend": engine.dialect.name, "taken_at": datetime.now(UTC).isoformat(),
                "dump": dump.name, "sha256": _sha256(dump), "files": files, **facts}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _backup_sqlite(engine: Engine, dump: Path) -> tuple[Path, dict[str, Any]]:
    source = sqlite3.connect(str(engine.url.database))
    try:
        copy = sqlite3.connect(dump)
        with copy:
            source.backup(copy)  # page by page, consistent even while others write
        copy.close()
    finally:
        source.close()
    copy_engine = make_engine(f"sqlite:///{dump}")
    try:
        with copy_engine.connect() as conn:
            facts = _facts(conn)
    finally:
        copy_engine.dispose()
    return dump, facts


def _backup_postgresql(engine: Engine, url: str, dump: Path) -> tuple[Path, dict[str, Any]]:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client).")
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        facts = _facts(conn)
        # The dump reads the very snapshot the facts were read in, while this transaction stays open.
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                   f"--file={dump}", f"--dbname={_libpq_url(url)}"]
        if schema and schema != "public":
            command.insert(1, f"--schema={schema}")
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        conn.rollback()
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[-500:]}")
    return dump, facts


# ---------------------------------------------------------------- restore


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} has no readable {MANIFEST}: is it a Casework backup?") from exc
    if manifest.get("format") not in (1, FORMAT):
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    dump = source / str(manifest.get("dump", ""))
    if not dump.is_file() or dump.parent != source:
        raise BackupError("The backup's database dump is missing.")
    if _sha256(dump) != manifest.get("sha256"):
        raise BackupError("The database dump does not have the SHA-256 its manifest records: it was changed.")
    return manifest


def check_chains(session: Session, manifest: dict[str, Any]) -> None:
    """Every chain verifies and ends where the manifest says; the case count matches."""
    result = audit.verify(session, None)
    if not result.ok:
        first = result.broken[0]
        raise BackupError(f"Refused: the audit chain {first.stream} is broken at event {first.seq} "
                          f"({first.reason}).")
    heads = {row.stream: [row.head_seq, row.head_hash] for row in session.scalars(select(AuditStream))}
    expected = {stream: list(head) for stream, head in manifest["chains"].items()}
    if heads != expected:
        differing = sorted(k for k in set(heads) | set(expected) if heads.get(k) != expected.get(k))
        raise BackupError(f"Refused: the audit chains do not end where the manifest says ({', '.join(differing[:3])}).")
    latest = checkpoints.latest(session)
    recorded = manifest.get("checkpoint")
    if (latest is None) != (recorded is None) or (
            latest is not None and checkpoints.checkpoint_json(latest) != recorded):
        raise BackupError("Refused: the latest signed checkpoint is not the one the manifest records.")
    cases = session.scalar(select(func.count()).select_from(Case)) or 0
    if cases != manifest["cases"]:
        raise BackupError(f"Refused: {cases} cases in the dump, the manifest says {manifest['cases']}.")


@contextmanager
def _session(url: str) -> Iterator[Session]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _target_is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def restore(database_url: str, stores: FileStores, source: Path) -> dict[str, Any]:
    """Restore the backup in `source` into the empty database and file stores; refuse if it does not prove itself."""
    manifest = read_manifest(source)
    _check_file_names(source, manifest)
    engine = make_engine(database_url)
    try:
        if not _target_is_empty(engine):
            raise BackupError("The target database is not empty: restore into a new, empty database.")
        for area, store in stores.areas().items():
            if next(iter(store.names()), None) is not None:
                raise BackupError(f"The {area} store already holds files: restore into an empty installation.")
        if manifest["backend"] != engine.dialect.name:
            raise BackupError(f"This is a {manifest['backend']} backup; the target database is "
                              f"{engine.dialect.name}.")
        dump = source / manifest["dump"]
        if engine.dialect.name == "sqlite":
            with _session(f"sqlite:///{dump}") as session:
                check_chains(session, manifest)
            _restore_sqlite(dump, Path(str(engine.url.database)))
        else:
            _restore_postgresql(engine, database_url, dump, manifest)
    finally:
        engine.dispose()
    _load_files(stores, source, manifest)
    return manifest


def _restore_sqlite(dump: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    try:
        destination = sqlite3.connect(target)
        with destination:
            source.backup(destination)
        destination.close()
    finally:
        source.close()


def _restore_postgresql(engine: Engine, url: str, dump: Path, manifest: dict[str, Any]) -> None:
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed (Debian: apt-get install postgresql-client).")
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "list"
        # The schema's own CREATE is skipped when the target schema exists already (it is the empty target).
        toc = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=False)  # noqa: S603,S607
        lines = [line for line in toc.stdout.splitlines() if f" SCHEMA - {schema} " not in line]
        listing.write_text("\n".join(lines) + "\n")
        result = subprocess.run(  # noqa: S603
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",  # noqa: S607
             f"--use-list={listing}", f"--dbname={_libpq_url(url)}", str(dump)],
            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[-500:]}")
    try:
        with _session(url) as session:
            check_chains(session, manifest)
    except BackupError:
        _empty_schema(engine, schema)
        raise


def _empty_schema(engine: Engine, schema: str) -> None:
    """Undo a refused restore: the target was empty, so it is made empty again."""
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
