"""The smaller findings of issue 11 (finding 9), each with its regression test."""

from __future__ import annotations

import io
from typing import Any

from forms.conditions import validate_condition
from tests.conftest import Web
from tests.support.complaint import GOOD
from tests.support.web import token_for


def test_a_rule_list_of_100000_bad_values_gets_one_short_answer() -> None:
    cond = {"field": "severity", "op": "in", "value": ["nope"] * 100_000}
    errors = validate_condition(cond, {"severity": "choice"}, {"severity": ["low", "high"]})
    assert len(errors) == 1 and "at most 1,000 values" in errors[0].message
    errors = validate_condition({"field": "severity", "op": "in", "value": ["nope"] * 1000},
                                {"severity": "choice"}, {"severity": ["low", "high"]})
    assert 1 <= len(errors) <= 10
    assert sum(len(e.message) for e in errors) < 5000


def test_verifying_an_unknown_stream_is_a_404(complaint_app: Any) -> None:
    client = complaint_app.test_client()
    auditor = token_for(complaint_app, "auditor@example.com")
    requester = token_for(complaint_app, "requester@example.com")
    case = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD}, headers=requester).json
    known = client.get(f"/api/v1/audit/verify?stream=case:{case['id']}", headers=auditor)
    assert known.status_code == 200 and known.json["ok"] and known.json["checked"] >= 1
    unknown = client.get("/api/v1/audit/verify?stream=case:999999", headers=auditor)
    assert unknown.status_code == 404
    assert client.get("/api/v1/audit/verify", headers=auditor).json["ok"] is True


def test_the_csv_export_names_its_charset_once(complaint_app: Any) -> None:
    client = complaint_app.test_client()
    requester = token_for(complaint_app, "requester@example.com")
    case = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD}, headers=requester).json
    web = Web(complaint_app.test_client())
    web.login("auditor@example.com")
    exported = web.get(f"/audit/cases/{case['id']}/export.csv")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_very_long_wizard_answer_is_a_422_on_the_page_with_the_answers_kept(complaint_app: Any) -> None:
    web = Web(complaint_app.test_client())
    web.login("requester@example.com")
    data = {**GOOD, "_page": "details", "description": "x" * 600_000, "csrf_token": web.csrf(),
            "attachment": (io.BytesIO(b""), "")}
    response = web.client.post("/portal/new/complaint", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'value="ORD-123456"' in body and 'value="Riley Requester"' in body
