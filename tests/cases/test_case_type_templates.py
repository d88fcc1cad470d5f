"""Document templates travel with their case type: checked when the draft is, versioned and audited when it
is published."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cases import audit, definitions
from cases.models import Definition, User
from tests.support.complaint import complaint_case_type_document

LETTER: dict[str, Any] = json.loads((Path(__file__).resolve().parent.parent / "fixtures" /
                                   "decision_letter.template.json").read_text())
UNKNOWN_PLACEHOLDER: dict[str, Any] = {"template_name": "Letter", "version": 1,
                                       "blocks": [{"kind": "text", "text": "{{missing_key}}"}]}


def test_templates_are_validated_versioned_and_audited_with_the_case_type(
        session: Session, admin: User, complaint: Definition, general: Any) -> None:
    document = complaint_case_type_document(documents=[UNKNOWN_PLACEHOLDER])
    case_type = definitions.create(session, "case_type", slug="complaint", title="Complaint", actor=admin,
                                   document=document)
    problems = definitions.draft_problems(session, case_type)
    assert [(p.path, p.message[:35]) for p in problems] == [("documents[0].blocks[0].text",
                                                            "Unknown placeholder {{missing_key}}")]
    with pytest.raises(Exception, match="Fix the problems"):
        definitions.publish(session, case_type, actor=admin)

    definitions.save_draft(session, case_type, complaint_case_type_document(documents=[LETTER]), actor=admin)
    first = definitions.publish(session, case_type, actor=admin)
    assert definitions.version_document(first)["documents"][0]["template_name"] == "Decision letter"
    changed = copy.deepcopy(LETTER)
    changed["version"] = 2
    changed["blocks"][1]["text"] = "Dear {{name}}, we decided."
    definitions.save_draft(session, case_type, complaint_case_type_document(documents=[changed]), actor=admin)
    second = definitions.publish(session, case_type, actor=admin, change_note="Friendlier letter")
    assert second.number == 2
    changes = definitions.diff_versions(case_type, 1, 2)
    assert "Document template 'Decision letter': block 2 (text “Dear {{name}}, we decided.”): text changed " \
           "from \"Dear {{name}}, about order {{order_number}}: {{ ''.__class__ }}\" to 'Dear {{name}}, we " \
           "decided.'." in changes
    assert any("version changed from 1 to 2" in c for c in changes)
    published = [e for e in audit.events(session, case_type.stream) if e.kind == "case_type.published"]
    assert len(published) == 2 and "Document template" in published[-1].payload
