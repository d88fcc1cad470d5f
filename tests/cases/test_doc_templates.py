"""Document templates as data: validated with the case type (placeholders against the form's fields),
versioned and audited with it, and compared block by block."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cases import audit, definitions
from cases.doc_templates import (
    BlockDocument,
    HeadingBlock,
    block_document_to_dict,
    check_templates,
    diff_templates,
    parse_block_document,
    placeholders_in,
)
from cases.models import Definition, User
from tests.cases.conftest import complaint_case_type_document

FIELDS = ("name", "email", "order_number", "description")
LETTER: dict[str, Any] = {"template_name": "Decision letter", "version": 1, "blocks": [
    {"kind": "heading", "text": "Decision on {{ case_ref }}"},
    {"kind": "text", "text": "Dear {{name}}, about order {{order_number}}: {{ ''.__class__ }}"},
    {"kind": "field_table", "fields": ["order_number"]},
    {"kind": "signatures", "signers": ["Case officer", "{{name}}"]},
]}


def with_blocks(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"template_name": "Letter", "version": 1, "blocks": list(blocks), **extra}


def test_a_good_template_is_kept_in_canonical_form() -> None:
    stored, problems = check_templates([LETTER], FIELDS)
    assert problems == []
    assert stored[0]["blocks"][2] == {"kind": "field_table", "fields": ["order_number"], "title": ""}
    assert parse_block_document(stored[0]) == parse_block_document(LETTER)


def test_placeholders_are_the_plain_keys_only() -> None:
    assert placeholders_in("{{a}} {{ b }} {{ ''.__class__ }} {{a}} {{c|safe}} {{d.e}}") == ["a", "b"]


@pytest.mark.parametrize(("template", "path", "message"), [
    (with_blocks({"kind": "text", "text": "Hello {{nickname}}"}), "documents[0].blocks[0].text",
     "Unknown placeholder {{nickname}}"),
    (with_blocks({"kind": "signatures", "signers": ["ok", "{{boss}}"]}), "documents[0].blocks[0].signers[1]",
     "Unknown placeholder {{boss}}"),
    (with_blocks({"kind": "field_table", "fields": ["name", "shoe_size"]}), "documents[0].blocks[0].fields",
     "The form has no field shoe_size"),
    (with_blocks({"kind": "audit_table"}), "documents[0].blocks[0]", "mark the template internal"),
    (with_blocks({"kind": "script", "src": "x"}), "documents[0].blocks[0]", "Unknown block kind 'script'"),
    (with_blocks({"kind": "heading", "text": "x", "level": 9}), "documents[0].blocks[0]", "level must be 1, 2 or 3"),
    (with_blocks({"kind": "header", "logo": "../../etc/passwd"}), "documents[0].blocks[0]", "logo must be"),
    ({"template_name": "dossier", "version": 1, "blocks": []}, "documents[0].template_name", "reserved"),
    ({"template_name": "", "version": 1, "blocks": []}, "documents[0].template_name", "Give the template a name"),
    ({"template_name": "x", "version": 0, "blocks": []}, "documents[0]", "Version must be a whole number"),
    ({"template_name": "x", "version": 1, "blocks": [], "script": "y"}, "documents[0]", "Unknown properties"),
])
def test_problems_name_the_template_and_block(template: dict[str, Any], path: str, message: str) -> None:
    _stored, problems = check_templates([template], FIELDS)
    assert any(p == path and message in m for p, m in problems), problems


def test_every_bad_block_is_reported_and_duplicate_names_are_refused() -> None:
    bad = with_blocks({"kind": "nope"}, {"kind": "heading", "text": "ok"}, {"kind": "text", "text": 5})
    _stored, problems = check_templates([bad], FIELDS)
    assert [p for p, _m in problems] == ["documents[0].blocks[0]", "documents[0].blocks[2]"]
    _stored, problems = check_templates([LETTER, {**LETTER, "template_name": "decision LETTER"}], FIELDS)
    assert problems == [("documents[1].template_name", "Two templates are called 'decision LETTER'.")]
    assert check_templates({"not": "a list"}, FIELDS)[1] == [("documents", "Document templates are a list.")]


def test_an_internal_template_may_hold_an_audit_table() -> None:
    memo = with_blocks({"kind": "audit_table", "limit": 10}, internal=True)
    stored, problems = check_templates([memo], FIELDS)
    assert problems == [] and stored[0]["internal"] is True
    assert parse_block_document(stored[0]).internal is True
    document = BlockDocument(template_name="x", version=2, blocks=[HeadingBlock(text="t")])
    assert "internal" not in block_document_to_dict(document)


def test_templates_are_validated_versioned_and_audited_with_the_case_type(
        session: Session, admin: User, complaint: Definition, general: Any) -> None:
    document = complaint_case_type_document(documents=[with_blocks({"kind": "text", "text": "{{missing_key}}"})])
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


def test_diffs_read_like_sentences() -> None:
    before = [LETTER]
    after = [{**LETTER, "internal": True, "blocks": [*LETTER["blocks"][:3], {"kind": "timeline"}]},
             with_blocks({"kind": "heading", "text": "New"})]
    assert diff_templates(before, after) == [
        "Document template 'Letter' added.",
        "Document template 'Decision letter': now internal (staff only).",
        "Document template 'Decision letter': block 4 replaced: signatures → timeline.",
    ]
    assert diff_templates(after, before)[0] == "Document template 'Letter' removed."
