"""Document templates as data: validated against the form's fields (placeholders, field tables), kept in
canonical form and compared block by block. Publishing them with the case type: tests/cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from case_types.document_templates import (
    BlockDocument,
    HeadingBlock,
    block_document_to_dict,
    parse_block_document,
    placeholders_in,
)
from case_types.template_checks import check_templates, diff_templates

FIELDS = ("name", "email", "order_number", "description")
LETTER: dict[str, Any] = json.loads((Path(__file__).resolve().parent.parent / "fixtures" /
                                   "decision_letter.template.json").read_text())


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
