"""A back-test replays filed cases with the answers as they were filed, personal ones included (the chain
holds their commitments; the back-test reads the values, as the rules did)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from cases import accounts, audit, definitions, lifecycle, rule_backtest
from cases.models import Definition, User
from cases.submissions import Uploader
from tests.support.complaint import CALM, complaint_case_type_document, complaint_document

VIP = {"id": "vip", "name": "VIP addresses go to escalations", "trigger": "case.submitted", "priority": 5,
       "condition": {"field": "email", "op": "contains", "value": "@vip.example"},
       "actions": [{"type": "route_to_queue", "queue": "escalations"}]}


def _filed_payload_emails(session: Session, cases: list[Any]) -> list[Any]:
    return [json.loads(e.payload)["data"]["email"] for c in cases for e in audit.events(session, c.stream)
            if e.kind == "case.filed"]


def test_a_rule_on_a_personal_answer_is_back_tested_with_the_filed_value(
        session: Session, admin: User, requester: User, complaint: Definition, general: Any, agent: User) -> None:
    document = complaint_document()
    for page in document["pages"]:
        for field in page["fields"]:
            if field["key"] in ("name", "email"):
                field["personal"] = True
    definitions.save_draft(session, complaint, document, actor=admin)
    definitions.publish(session, complaint, actor=admin)
    accounts.add_queue_member(session, accounts.create_queue(session, slug="escalations", name="Escalations"), agent)
    case_type = definitions.create(session, "case_type", slug="complaint", title="Customer complaint", actor=admin,
                                   document=complaint_case_type_document(form_version=2))
    definitions.publish(session, case_type, actor=admin)
    filed = [lifecycle.file_case(session, case_type, {**CALM, "email": email}, uploader=Uploader(requester))
             for email in ("kim@vip.example", "sam@plain.example")]
    assert all("@" not in str(e) for e in _filed_payload_emails(session, filed))  # sealed in the chain
    draft = complaint_case_type_document(form_version=2)
    draft["rules"] = {"schema_version": 1, "rules": [VIP]}
    report = rule_backtest.backtest_draft(session, case_type, draft)
    assert report.evaluated == 2 and report.failures == []
    assert [c.ref for c in report.changes] == [filed[0].ref]
