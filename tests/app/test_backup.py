"""`casework backup` / `casework restore`: a backup taken while cases are filed restores into an empty
database whose chains verify; a backup that does not prove itself is refused."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import make_config
from tests.support.complaint import GOOD, publish_complaint
from tests.support.web import token_for

FILE_URL = "/api/v1/case-types/complaint/cases"


def _restorer(target_url: str, tmp_path: Path) -> Any:
    from app import create_app

    return create_app(make_config(target_url, UPLOAD_FOLDER=str(tmp_path / "restored-uploads"),
                                  DOCUMENT_FOLDER=str(tmp_path / "restored-documents")))


def _facts(url: str) -> tuple[int, Any]:
    from cases import audit
    from cases.database import make_engine
    from cases.models import Case

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Case)) or 0, audit.verify(session)
    finally:
        engine.dispose()


def test_a_backup_taken_while_cases_are_filed_restores_into_an_empty_database(
        complaint_app: Any, empty_target: str, tmp_path: Path) -> None:
    headers = token_for(complaint_app, "requester@example.com")
    client = complaint_app.test_client()
    for _ in range(3):
        assert client.post(FILE_URL, json={"data": GOOD}, headers=headers).status_code == 201
    stop, filed = threading.Event(), []

    def file_cases() -> None:
        own = complaint_app.test_client()
        while not stop.is_set():
            status = own.post(FILE_URL, json={"data": GOOD}, headers=headers).status_code
            filed.append(status)

    filer = threading.Thread(target=file_cases)
    filer.start()
    try:
        while len(filed) < 3:
            stop.wait(0.05)
        result = complaint_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
        while len(filed) < 8:
            stop.wait(0.05)
    finally:
        stop.set()
        filer.join(60)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["cases"] >= 6 and f"Backed up {manifest['cases']} cases" in result.output
    restored = _restorer(empty_target, tmp_path).test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert restored.exit_code == 0, restored.output
    count, verification = _facts(empty_target)
    assert verification.ok and verification.checked > 0
    assert count == manifest["cases"]
    live_count, _ = _facts(complaint_app.config["SQLALCHEMY_DATABASE_URI"])
    assert live_count > count  # filing went on after the snapshot; the backup is that moment's
    again = _restorer(empty_target, tmp_path).test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert again.exit_code != 0 and "not empty" in again.output


def test_a_backup_whose_chains_end_elsewhere_is_refused_and_leaves_the_target_empty(
        complaint_app: Any, empty_target: str, tmp_path: Path) -> None:
    from sqlalchemy import inspect

    headers = token_for(complaint_app, "requester@example.com")
    assert complaint_app.test_client().post(FILE_URL, json={"data": GOOD}, headers=headers).status_code == 201
    assert complaint_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    path = tmp_path / "b" / "manifest.json"
    manifest = json.loads(path.read_text())
    stream = next(s for s in manifest["chains"] if s.startswith("case:"))
    manifest["chains"][stream][1] = "f" * 64  # a cut-off or rewritten chain would end elsewhere
    path.write_text(json.dumps(manifest))
    result = _restorer(empty_target, tmp_path).test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "do not end where the manifest says" in result.output
    engine = create_engine(empty_target.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_a_tampered_sqlite_backup_is_refused(sqlite_template: Path, tmp_path: Path) -> None:
    import hashlib
    import shutil

    from app import create_app

    source = tmp_path / "live.db"
    shutil.copy(sqlite_template, source)
    app = create_app(make_config(f"sqlite:///{source}"))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app)  # definitions are audited: chains to tamper with
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    dump = tmp_path / "b" / "database.sqlite3"
    conn = sqlite3.connect(dump)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET payload = '{\"forged\": true}' WHERE id = (SELECT min(id) FROM audit_events)")
    conn.commit()
    conn.close()
    # Unchanged manifest: the dump's checksum gives it away.
    target = _restorer(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "SHA-256" in result.output
    # A forger who also rewrites the manifest's checksum is stopped by the chain itself.
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "is broken at event 1" in result.output, result.output
    assert not (tmp_path / "target.db").exists() or sqlite3.connect(tmp_path / "target.db").execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0


def test_backup_refuses_a_folder_that_is_not_empty(app: Any, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "something").write_text("x")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code != 0 and "not empty" in result.output
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "manifest.json" in result.output
