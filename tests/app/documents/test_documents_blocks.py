"""Placeholders and block documents: admin text is data, never template code."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.documents.errors import BlockError
from app.documents.samples import sample_dossier_context
from app.documents.templating import block_document_html, dossier_html, format_when, paragraphs
from case_types.document_templates import (
    AuditRow,
    BlockDocument,
    FieldTableBlock,
    HeaderBlock,
    HeadingBlock,
    MissingValue,
    SignaturesBlock,
    TextBlock,
    block_document_to_dict,
    fill_placeholders,
    parse_block_document,
    placeholder_values,
)


def test_placeholders_are_replaced_by_values() -> None:
    assert fill_placeholders("Dear {{name}}, re {{ case_ref }}.", {"name": "Ana", "case_ref": "CMP-1"}) == [
        "Dear ", "Ana", ", re ", "CMP-1", ".",
    ]


def test_unknown_keys_become_a_visible_missing_marker() -> None:
    parts = fill_placeholders("Amount: {{amount}}", {})
    assert parts == ["Amount: ", "[missing: amount]"]
    assert isinstance(parts[1], MissingValue)


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{name|safe}}",
        "{{ name.attr }}",
        "{% include '/etc/passwd' %}",
        "{{Name}}",
        "{{ 9*9 }}",
        "{name}",
    ],
)
def test_anything_but_a_plain_key_stays_literal_text(text: str) -> None:
    assert "".join(fill_placeholders(text, {"name": "Ana"})) == text


def test_values_are_not_expanded_again() -> None:
    """A value that looks like a placeholder is printed as it is: case data cannot pull in other fields."""
    parts = fill_placeholders("{{a}}", {"a": "{{b}}", "b": "secret"})
    assert parts == ["{{b}}"]


def test_placeholder_values_prefer_form_fields_over_builtins() -> None:
    context = sample_dossier_context(fields=3, events=1)
    values = placeholder_values(context)
    assert values["case_ref"] == context.ref
    assert values[context.fields[0].key] == context.fields[0].value


def test_block_documents_round_trip_through_their_stored_form() -> None:
    document = BlockDocument(
        template_name="Decision letter",
        version=3,
        blocks=[
            HeaderBlock(text="{{organisation}}", logo="logo.png"),
            HeadingBlock(text="Decision on {{case_ref}}", level=1),
            TextBlock(text="Dear {{f01_applicant_name}},\n\nWe decided."),
            FieldTableBlock(fields=["f02_e_mail"], title="Your data"),
            SignaturesBlock(signers=["Case officer", "{{f01_applicant_name}}"]),
        ],
    )
    assert parse_block_document(block_document_to_dict(document)) == document


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "script", "src": "x"}, "unknown block kind 'script'"),
        ({"kind": "heading", "text": "x", "level": 7}, "level must be 1, 2 or 3"),
        ({"kind": "heading", "text": "x", "onclick": "y"}, "unknown properties onclick"),
        ({"kind": "header", "logo": "../../etc/passwd"}, "logo must be the file name"),
        ({"kind": "header", "logo": "logo.svg"}, "logo must be the file name"),
        ({"kind": "field_table", "fields": ["ok", "Not A Key"]}, "is not a field key"),
        ({"kind": "text", "text": 12}, "text must be text"),
        ({"kind": "audit_table", "limit": 10_000}, "limit must be"),
        ({"kind": "signatures", "signers": []}, "give 1 to 6"),
    ],
)
def test_bad_blocks_are_refused_with_a_message_naming_the_block(data: dict[str, object], message: str) -> None:
    stored = {"template_name": "Letter", "version": 1, "blocks": [{"kind": "text", "text": "ok"}, data]}
    with pytest.raises(BlockError, match="block 2") as raised:
        parse_block_document(stored)
    assert message in str(raised.value)


def test_at_most_one_header_block() -> None:
    with pytest.raises(BlockError, match="at most one header"):
        BlockDocument(template_name="x", version=1, blocks=[HeaderBlock(text="a"), HeaderBlock(text="b")])


def test_naive_datetimes_are_refused_in_the_contract() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AuditRow(seq=1, at=datetime(2025, 1, 1), actor="a", kind="k", summary="s")


def test_times_print_with_their_offset() -> None:
    context = sample_dossier_context(fields=1, events=1)
    assert format_when(context.generated_at) == "2025-04-02 08:30 UTC"
    assert format_when(datetime.fromisoformat("2025-04-02T10:30:00+02:00")) == "2025-04-02 10:30 +02:00"


def test_paragraphs_split_at_blank_lines() -> None:
    assert paragraphs("one\ntwo\n\n  \nthree\r\n\r\nfour") == ["one\ntwo", "three", "four"]


def test_templates_escape_everything_they_are_given() -> None:
    context = sample_dossier_context(fields=2, events=2, steps=1)
    hostile = "<script>alert(1)</script>"
    context = type(context)(**{**{f: getattr(context, f) for f in context.__dataclass_fields__}, "title": hostile})
    html = dossier_html(context)
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    document = BlockDocument(template_name=hostile, version=1, blocks=[TextBlock(text=hostile + " {{x}}")])
    composed = block_document_html(document, context, values={"x": hostile})
    assert "<script>" not in composed


def test_a_field_table_block_names_missing_fields() -> None:
    context = sample_dossier_context(fields=2, events=1)
    document = BlockDocument(template_name="t", version=1, blocks=[FieldTableBlock(fields=["nope_gone"])])
    assert "[missing: nope_gone]" in block_document_html(document, context)


def test_a_letter_to_the_customer_carries_no_audit_chain_head_but_the_dossier_does() -> None:
    """Letters go to customers: their footer names the case, not a hash; the dossier keeps the chain head."""
    context = sample_dossier_context(fields=2, events=2)
    head = context.chain_head
    letter = block_document_html(BlockDocument(template_name="Resolution letter", version=1,
                                               blocks=[TextBlock(text="Dear customer")]), context, values={})
    assert context.ref in letter and head not in letter and "chain head" not in letter
    assert head in dossier_html(context) and "audit chain head" in dossier_html(context)
