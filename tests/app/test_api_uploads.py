"""Uploads through the API: never kept forever when nothing files them, bounded per person, not for auditors."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.support.complaint import GOOD, publish_complaint
from tests.support.web import token_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
URL = "/api/v1/uploads?case_type=complaint&field=attachment"


def _app(database_url: str, tmp_path: Path, **extra: Any) -> Any:
    from app import create_app

    app = create_app(make_config(database_url, UPLOAD_FOLDER=str(tmp_path / "uploads"), **extra))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app)
    return app


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Any:
    from app.extensions import db

    made: list[Any] = []

    def make(**extra: Any) -> Any:
        made.append(_app(database_url, tmp_path, **extra))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _upload(client: Any, headers: dict[str, str]) -> Any:
    return client.post(URL, data={"file": (io.BytesIO(PNG), "photo.png")}, headers=headers)


def _age(app: Any, file_id: int, days: float) -> None:
    from app.extensions import db
    from cases.models import StoredFile

    with app.app_context():
        stored = db.session.get(StoredFile, file_id)
        stored.uploaded_at = stored.uploaded_at - timedelta(days=days)
        db.session.commit()
        db.session.remove()


def test_the_periodic_sweep_removes_uploads_never_filed_after_a_day(make_app: Any, tmp_path: Path) -> None:
    from app.extensions import db
    from app.jobs import JOBS
    from cases.models import StoredFile

    app = make_app()
    client, requester = app.test_client(), token_for(app, "requester@example.com")
    old, recent, filed = (_upload(client, requester).json["id"] for _ in range(3))
    case = client.post("/api/v1/case-types/complaint/cases", json={"data": {**GOOD, "attachment": [filed]}},
                       headers=requester)
    assert case.status_code == 201
    for file_id in (old, filed):
        _age(app, file_id, 1.5)
    _age(app, recent, 0.5)
    with app.app_context():
        names = {f.id: f.storage_name for f in db.session.query(StoredFile)}
    files = {i: next((tmp_path / "uploads").rglob(names[i])) for i in (old, recent, filed)}
    with app.app_context():
        JOBS["sla_sweep"]()  # the job `casework serve` and the workers run every minute
        left = {f.id for f in db.session.query(StoredFile)}
        db.session.remove()
    assert left == {recent, filed}
    assert not files[old].exists() and files[recent].exists() and files[filed].exists()
    detail = client.get(f"/api/v1/cases/{case.json['id']}", headers=token_for(app, "agent@example.com")).json
    assert detail["data"]["attachment"][0]["id"] == filed


def test_a_refused_public_form_leaves_nothing_behind_after_a_day(make_app: Any, tmp_path: Path) -> None:
    """The report: refused anonymous posts with files left their bytes in instance/uploads forever."""
    from app.extensions import db
    from cases import uploads
    from cases.clock import fixed, utcnow
    from cases.models import StoredFile
    from cases.storage import LocalFolder
    from cases.submissions import Uploader, form_schema, store_upload

    app = make_app()
    with app.app_context():
        from cases import case_versions, definitions

        definition = definitions.find_definition(db.session, "case_type", "complaint")
        spec = case_versions.spec_of(db.session, definition.latest_version)
        schema = form_schema(case_versions.pinned_form_version(db.session, spec.form.slug, spec.form.version))
        store = LocalFolder(tmp_path / "uploads")
        for i in range(3):
            store_upload(db.session, store, schema=schema, field_key="attachment", filename=f"p{i}.png",
                         stream=io.BytesIO(PNG), uploader=Uploader(None, session_key=f"visitor{i}"))
        assert uploads.sweep_orphans(db.session, store) == 0  # younger than a day: kept for the retry
        assert uploads.sweep_orphans(db.session, store, clock=fixed(utcnow() + timedelta(days=1, minutes=1))) == 3
        assert db.session.query(StoredFile).count() == 0
        db.session.remove()
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


def test_auditors_cannot_upload(make_app: Any) -> None:
    app = make_app()
    client = app.test_client()
    response = _upload(client, token_for(app, "auditor@example.com"))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert _upload(client, token_for(app, "agent@example.com")).status_code == 201
    assert _upload(client, token_for(app, "requester@example.com")).status_code == 201


def test_pending_uploads_have_a_quota_per_person(make_app: Any) -> None:
    app = make_app(UPLOAD_QUOTA_FILES=2)
    client = app.test_client()
    requester, agent = token_for(app, "requester@example.com"), token_for(app, "agent@example.com")
    first, _second = (_upload(client, requester).json["id"] for _ in range(2))
    over = _upload(client, requester)
    assert over.status_code == 429 and over.json["error"]["code"] == "rate_limited"
    assert "2 files" in over.json["error"]["message"] and "removed after a day" in over.json["error"]["message"]
    assert _upload(client, agent).status_code == 201  # per person
    filed = client.post("/api/v1/case-types/complaint/cases", json={"data": {**GOOD, "attachment": [first]}},
                        headers=requester)
    assert filed.status_code == 201
    assert _upload(client, requester).status_code == 201  # filing made room


def test_pending_uploads_have_a_byte_quota(make_app: Any) -> None:
    app = make_app(UPLOAD_QUOTA_MB=0)
    response = _upload(app.test_client(), token_for(app, "requester@example.com"))
    assert response.status_code == 429 and "0 MB" in response.json["error"]["message"]


def test_uploads_are_rate_limited_per_person(make_app: Any) -> None:
    app = make_app(UPLOAD_RATE_LIMIT="3 per minute")
    client = app.test_client()
    requester = token_for(app, "requester@example.com")
    assert [_upload(client, requester).status_code for _ in range(3)] == [201, 201, 201]
    limited = _upload(client, requester)
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers or "X-RateLimit-Reset" in limited.headers
    assert _upload(client, token_for(app, "agent@example.com")).status_code == 201
