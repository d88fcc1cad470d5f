"""The document queue: the after-commit kick, the render pool and the watchdog, on both databases."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from cases import accounts, definitions
from cases.models import Document
from tests.app.conftest import FIXTURES, GOOD
from tests.app.documents.real_cases import documents_of, file_case, work_and_close
from tests.cases.conftest import complaint_case_type_document
from tests.conftest import make_config

#: A ruleset that matches nothing still runs on every transition, in a savepoint of the transition's transaction.
NO_OP_RULES = {"schema_version": 1, "rules": []}


def publish_complaint_with_rules(app: Any) -> None:
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        assert admin is not None
        form = definitions.create(db.session, "form", slug="complaint", title="Customer complaint", actor=admin,
                                  document=json.loads((FIXTURES / "complaint.form.json").read_text()))
        definitions.publish(db.session, form, actor=admin)
        case_type = definitions.create(db.session, "case_type", slug="complaint", title="Customer complaint",
                                       actor=admin, document=complaint_case_type_document(documents=[],
                                                                                        rules=NO_OP_RULES))
        assert not definitions.draft_problems(db.session, case_type)
        definitions.publish(db.session, case_type, actor=admin)
        db.session.remove()


@pytest.fixture
def auto_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """An app that renders in the background after each commit, as outside the tests."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 DOCUMENTS_AUTO_RENDER=True))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_rules(app)
    yield app
    app.extensions["casework_jobs"].shutdown(wait=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def wait_until_settled(app: Any, case_id: int, timeout: float) -> list[Document]:
    deadline = time.monotonic() + timeout
    rows = documents_of(app, case_id)
    while time.monotonic() < deadline:
        if rows and all(d.status in ("done", "failed") for d in rows):
            break
        time.sleep(0.2)
        rows = documents_of(app, case_id)
    return rows


def test_documents_of_a_case_closed_with_rules_render_once_the_closing_commit_is_visible(auto_app: Any) -> None:
    """Finding: on PostgreSQL the savepoint of the rules fired the kick before the case's commit, so the job
    found no queued row and the documents stayed queued. A slow outer commit makes that race certain."""
    case_id = file_case(auto_app, **GOOD)

    closing: list[bool] = []

    def note_queued(session: Session, _ctx: Any) -> None:
        closing.extend(True for obj in session.new if isinstance(obj, Document))

    def slow_outer_commit(session: Session) -> None:
        if closing and not session.in_nested_transaction():
            closing.clear()
            time.sleep(1.5)  # a loaded machine: the rest of the closing transaction takes a while to commit

    event.listen(db.session, "after_flush", note_queued)
    event.listen(db.session, "before_commit", slow_outer_commit)
    try:
        work_and_close(auto_app, case_id)
    finally:
        event.remove(db.session, "after_flush", note_queued)
        event.remove(db.session, "before_commit", slow_outer_commit)
    rows = wait_until_settled(auto_app, case_id, timeout=30)
    assert [(d.kind, d.status) for d in rows] == [("dossier", "done")], [d.reason for d in rows]
