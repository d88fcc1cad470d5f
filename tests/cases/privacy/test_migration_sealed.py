"""A migration's data changes keep personal values out of the hashed payload, like any data change."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from cases import audit, definitions, lifecycle, migration
from cases.models import User
from cases.privacy.values import is_sealed, readable
from cases.submissions import Uploader
from tests.support.complaint import GOOD, complaint_document
from tests.support.migration import MAPPING, version_one, version_two


def _form(with_order: bool) -> dict[str, Any]:
    document = complaint_document()
    for page in document["pages"]:
        for field in page["fields"]:
            if field["key"] in ("name", "email", "order_number"):
                field["personal"] = True
        page["fields"] = [f for f in page["fields"] if with_order or f["key"] != "order_number"]
    return document


def test_a_personal_answer_the_new_version_drops_is_sealed_in_the_migration_event(
        session: Session, admin: User, requester: User, general: Any) -> None:
    form = definitions.create(session, "form", slug="complaint", title="Customer complaint", actor=admin,
                              document=_form(True))
    definitions.publish(session, form, actor=admin)
    definitions.save_draft(session, form, _form(False), actor=admin)
    definitions.publish(session, form, actor=admin)
    case_type = definitions.create(session, "case_type", slug="complaint", title="Customer complaint",
                                   actor=admin, document=version_one())
    definitions.publish(session, case_type, actor=admin)
    case = lifecycle.file_case(session, case_type, dict(GOOD), uploader=Uploader(requester))
    assert definitions.save_draft(session, case_type, version_two(), actor=admin) == []
    definitions.publish(session, case_type, actor=admin)

    done = migration.migrate(session, migration.plan(session, "complaint", 2, state_mapping=MAPPING), admin)
    assert [o.done for o in done] == [True]
    (event,) = [e for e in audit.events(session, case.stream) if e.kind == "case.migrated"]
    (change,) = [c for c in json.loads(event.payload)["changes"] if c["field"] == "order_number"]
    assert is_sealed(change["before"]) and change["after"] is None
    assert GOOD["order_number"] not in event.payload
    (shown,) = [e for e in readable(session, [event])]
    assert {"field": "order_number", "before": GOOD["order_number"], "after": None} in \
        json.loads(shown.payload)["changes"]
