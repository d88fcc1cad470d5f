"""Cases with personal data for the erasure and re-sealing tests: two requesters' values, an app whose
complaint form marks name, e-mail and description personal."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, inspect

from app.extensions import db
from cases import accounts, definitions, lifecycle
from cases.submissions import Uploader
from tests.conftest import make_config
from tests.support.complaint import GOOD, complaint_document, publish_complaint

PERSONAL_FIELDS = ("name", "email", "description")
RILEY = {**GOOD, "name": "Rileyname Quixote", "email": "riley.quixote@example.org",
         "description": "Zephyrvase arrived shattered at Quixote Lane 7."}
OLIVE = {**GOOD, "name": "Olivename Umbra", "email": "olive.umbra@example.org",
         "description": "Umbralamp sparks when switched on."}
RILEY_VALUES = ("Rileyname Quixote", "riley.quixote@example.org", "Zephyrvase", "Quixote Lane",
                "Quixoteedit", "Quixotecomment", "Quixoteanswer", "quixote-passport", "QUIXOTEFILEBYTES",
                "Zephyrsubmission", hashlib.sha256(b"QUIXOTEFILEBYTES scanned\n").hexdigest(),
                "requester@example.com", "Riley Requester")
OLIVE_VALUES = ("Olivename Umbra", "olive.umbra@example.org", "Umbralamp")


def personal_form() -> dict[str, Any]:
    form = complaint_document()
    for page in form["pages"]:
        for field in page["fields"]:
            if field["key"] in PERSONAL_FIELDS:
                field["personal"] = True
    return form


def make_privacy_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """The demo app with the personal complaint form published and a second requester, Olive."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 UPLOAD_FOLDER=str(tmp_path / "uploads"),
                                 CHECKPOINT_KEY_FILE=str(tmp_path / "checkpoint_key")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint(app, form=personal_form(), documents=[])
    with app.app_context():
        accounts.create_user(db.session, email="olive@example.com", name="Olive Otherperson",
                             password="olive-password-1234", roles=["requester"])
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def file_as(app: Any, who: str, data: dict[str, Any]) -> int:
    with app.app_context():
        user = accounts.find_user(db.session, who)
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        assert user is not None and case_type is not None
        case_id = lifecycle.file_case(db.session, case_type, data, uploader=Uploader(user)).id
        db.session.remove()
    return case_id


def raw_text(app: Any) -> str:
    """Every row of every table, as text."""
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        out = []
        with db.engine.connect() as connection:
            for name in names:
                for row in connection.execute(Table(name, MetaData(), autoload_with=connection).select()):
                    out.append(name + ": " + " | ".join(str(v) for v in row))
        db.session.remove()
    return "\n".join(out)
