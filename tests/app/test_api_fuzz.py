"""Schemathesis against a live server: every operation of the OpenAPI document, with every role's token.

Valid requests generated from the document (positive) must get answers the document describes (status
code, content type, headers, body schema) and never a 5xx; invalid ones (negative) must never get a 5xx.
A third pass fills path parameters with ids that exist (a filed onboarding case with its checklist
tasks), so the real handlers answer and their bodies are checked, not only 404s. Examples are bounded
and derandomised, so the run is short and repeatable.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from tests.conftest import _truncate_pg, make_config
from tests.support.web import token_for

ROLES = ("admin", "agent", "requester", "auditor")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 3}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server on a free port with the demo users, the four packs and an onboarding case in setup."""
    from app import create_app
    from app.extensions import db

    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "casework.db")
        url = f"sqlite:///{folder / 'casework.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate_pg(url)
    app = create_app(make_config(url, UPLOAD_FOLDER=str(folder / "uploads"), UPLOAD_RATE_LIMIT="10000 per minute"))
    runner = app.test_cli_runner()
    for args in (["demo"], ["packs", "import", "--all"], ["demo"]):
        assert runner.invoke(args=args).exit_code == 0
    tokens = {role: token_for(app, f"{role}@example.com") for role in ROLES}
    client = app.test_client()
    sample = {"employee_name": "Noa Fischer", "job_title": "Engineer", "department": "engineering",
              "manager_email": "agent@example.com", "start_date": "2027-03-01", "employment_type": "permanent"}
    case_id = client.post("/api/v1/case-types/onboarding/cases", json={"data": sample},
                          headers=tokens["requester"]).json["id"]
    for key in ("start_profile", "start_setup"):
        assert client.post(f"/api/v1/cases/{case_id}/transitions", json={"transition": key},
                           headers=tokens["agent"]).status_code == 200
    task_id = client.get(f"/api/v1/cases/{case_id}/tasks", headers=tokens["agent"]).json["items"][0]["id"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "tokens": tokens,
           "ids": {"slug": "onboarding", "case_id": case_id, "task_id": task_id}}
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _run(operation: Any, live: dict[str, Any], mode: GenerationMode, path_parameters: dict[str, Any] | None,
         seen: dict[str, int]) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    checks = CHECKS if mode is GenerationMode.POSITIVE else [not_a_server_error]

    @given(case=strategy)
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def calls(case: Any) -> None:
        # Valid requests as every role; invalid ones as one role in turn (a 5xx does not depend on who).
        count = seen.setdefault("calls", 0)
        roles = ROLES if mode is GenerationMode.POSITIVE else (ROLES[count % len(ROLES)],)
        for role in roles:
            response = case.call_and_validate(base_url=live["base"] + "/api/v1", headers=live["tokens"][role],
                                              checks=checks)
            key = f"{mode.value} {response.status_code}"
            seen[key] = seen.get(key, 0) + 1
            seen["calls"] += 1

    calls()


def test_every_operation_answers_as_documented_for_every_role(live_api: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(live_api["base"] + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    seen: dict[str, int] = {}
    failures = []
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = {k: v for k, v in live_api["ids"].items() if k in names}
        passes = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if real and names <= set(real):
            passes.append((GenerationMode.POSITIVE, real))
        for mode, path_parameters in passes:
            try:
                _run(operation, live_api, mode, path_parameters, seen)
            except Exception as exc:  # every failing operation is reported, not only the first
                failures.append(f"{operation.label} ({mode.value}, {path_parameters}): {exc}"[:3000])
    assert failures == [], "\n\n".join(failures)
    assert seen.get("positive 200", 0) >= 30, seen  # the real handlers answered, not only 404s
    assert not any(key.endswith(tuple(f" {code}" for code in range(500, 600))) for key in seen)
