"""Real cases for the proof tests: three complaints through the services, the first one closed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.extensions import db
from cases import accounts, conversation
from cases.models import Case
from tests.app.documents.real_cases import file_case, publish_complaint_with_templates, work_and_close
from tests.conftest import make_config
from tests.support.web import token_for


def make_proof_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """CMP-000001 closed (its dossier queued), CMP-000002 open with three comments, CMP-000003 open; the
    instance's checkpoint key in tmp_path."""
    from app import create_app

    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                 CHECKPOINT_KEY_FILE=str(tmp_path / "checkpoint_key")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[])
    first = file_case(app)
    work_and_close(app, first, description="The box was soaked and the vase inside is broken.")
    second = file_case(app, customer_tier="standard", description="The lamp flickers and the switch sparks.")
    with app.app_context():
        agent = accounts.find_user(db.session, "agent@example.com")
        case = db.session.get(Case, second)
        assert agent is not None and case is not None
        for n in range(3):
            conversation.add_comment(db.session, case, agent, f"Looked at it, round {n + 1}.", internal=True)
        db.session.remove()
    file_case(app, customer_tier="standard", email="sam@example.com")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def api_json(app: Any, url: str, who: str = "auditor@example.com") -> tuple[int, Any]:
    response = app.test_client().get(url, headers=token_for(app, who))
    return response.status_code, json.loads(response.get_data(as_text=True))


def keep_checkpoint(app: Any, path: Path) -> dict[str, Any]:
    """`casework audit checkpoint -o FILE`: sign one now and keep its file, as an auditor would."""
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "-o", str(path)])
    assert result.exit_code == 0, result.output
    kept: dict[str, Any] = json.loads(path.read_text())
    return kept
