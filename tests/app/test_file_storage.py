"""Every stored file goes through the file stores configured by FILE_STORAGE_ROOT: with the root on a
volume outside the instance folder (as several nodes share one), uploads, downloads, document logos,
rendered documents, erasure and backup/restore all read and write there and nowhere else."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from cases.models.documents import DOSSIER
from tests.app.documents.conftest import open_pdf
from tests.app.documents.real_cases import LETTER, documents_of, render_queued, work_and_close
from tests.conftest import make_config
from tests.support.complaint import GOOD, publish_complaint
from tests.support.documents import PNG
from tests.support.web import token_for


def _files(root: Path) -> dict[str, str]:
    """Stored name -> SHA-256 of every file under `root`."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def shared_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    from app import create_app

    app = create_app(make_config(database_url, FILE_STORAGE_ROOT=str(tmp_path / "shared"),
                                 CHECKPOINT_KEY_FILE=str(tmp_path / "checkpoint_key")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _file_with_upload(app: Any) -> tuple[int, int]:
    client, requester = app.test_client(), token_for(app, "requester@example.com")
    upload = client.post("/api/v1/uploads?case_type=complaint&field=attachment",
                         data={"file": (io.BytesIO(PNG), "receipt.png")}, headers=requester)
    assert upload.status_code == 201, upload.json
    case = client.post("/api/v1/case-types/complaint/cases",
                       json={"data": {**GOOD, "attachment": [upload.json["id"]]}}, headers=requester)
    assert case.status_code == 201, case.json
    return int(case.json["id"]), int(upload.json["id"])


def test_uploads_logos_documents_erasure_and_backup_use_the_configured_root(
        shared_app: Any, empty_target: str, tmp_path: Path) -> None:
    from app import create_app
    from app.uploads import store_logo

    app, shared, instance = shared_app, tmp_path / "shared", Path(shared_app.instance_path)
    before_instance = _files(instance / "uploads") | _files(instance / "documents")
    logo = store_logo(app, io.BytesIO(PNG))
    letter = {**LETTER, "blocks": [{"kind": "header", "text": "{{organisation}}", "logo": logo}, *LETTER["blocks"][1:]]}
    publish_complaint(app, documents=[letter])
    case_id, file_id = _file_with_upload(app)
    agent = token_for(app, "agent@example.com")
    download = app.test_client().get(f"/api/v1/cases/{case_id}/attachments/{file_id}", headers=agent)
    assert download.status_code == 200 and download.data == PNG

    work_and_close(app, case_id)
    rendered = render_queued(app, case_id)
    assert rendered and {d.status for d in rendered} == {"done"}, [(d.kind, d.reason) for d in rendered]
    letter_pdf = next(d for d in rendered if d.kind != DOSSIER)
    got = app.test_client().get(f"/api/v1/cases/{case_id}/documents/{letter_pdf.id}", headers=agent)
    assert got.status_code == 200 and hashlib.sha256(got.data).hexdigest() == letter_pdf.sha256
    with open_pdf(got.data) as opened:
        assert len(opened.pages[0].get_images()) == 1  # the logo, read through the logo store

    stored = _files(shared)
    assert hashlib.sha256(PNG).hexdigest() in stored.values()
    assert {d.storage_name for d in rendered} <= set(stored) and logo in stored
    assert (shared / "uploads" / "logos" / logo).is_file()
    assert _files(instance / "uploads") | _files(instance / "documents") == before_instance  # nothing there

    runner = app.test_cli_runner()
    backup = runner.invoke(args=["backup", str(tmp_path / "backup")])
    assert backup.exit_code == 0, backup.output
    assert set(_files(tmp_path / "backup" / "files")) == set(stored)
    restorer = create_app(make_config(empty_target, FILE_STORAGE_ROOT=str(tmp_path / "restored")))
    restored = restorer.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert restored.exit_code == 0, restored.output
    assert _files(tmp_path / "restored") == stored
    assert (tmp_path / "restored" / "uploads" / "logos" / logo).is_file()
    with restorer.app_context():
        db.engine.dispose()

    erased = runner.invoke(args=["privacy", "erase", "requester@example.com", "--yes"])
    assert erased.exit_code == 0, erased.output
    left = _files(shared)
    assert not {d.storage_name for d in rendered} & set(left)
    assert hashlib.sha256(PNG).hexdigest() not in {v for k, v in left.items() if k != logo}
    gone = app.test_client().get(f"/api/v1/cases/{case_id}/attachments/{file_id}", headers=agent)
    assert gone.status_code == 404, gone.data
    before = {d.id for d in rendered}
    assert {d.status for d in documents_of(app, case_id) if d.id in before} == {"failed"}  # a fresh dossier is queued


def test_a_restore_refuses_a_stored_file_named_as_casework_never_names_one(
        shared_app: Any, empty_target: str, tmp_path: Path) -> None:
    from app import create_app

    publish_complaint(shared_app, documents=[])
    _file_with_upload(shared_app)
    assert shared_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    (tmp_path / "b" / "files" / "uploads" / ".profile").write_bytes(b"echo owned")
    restorer = create_app(make_config(empty_target, FILE_STORAGE_ROOT=str(tmp_path / "restored")))
    result = restorer.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert result.exit_code != 0 and "never names so" in result.output
    assert _files(tmp_path / "restored") == {}
    with restorer.app_context():
        db.engine.dispose()


def test_an_unknown_storage_backend_stops_the_app_with_a_message(database_url: str) -> None:
    from app import create_app

    with pytest.raises(SystemExit, match="FILE_STORAGE='s3' is not a storage backend; use one of: local"):
        create_app(make_config(database_url, FILE_STORAGE="s3"))
