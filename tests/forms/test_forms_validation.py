"""Submissions: coercion, rules, conditions, groups, pages, storage round trips and uploads."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from forms.definitions import load_definition
from forms.errors import SubmissionInvalid, UnknownPage
from forms.files import sniff_content_type
from forms.schema import FormSchema
from forms.validation import (
    check_upload,
    defaults,
    from_json_values,
    to_json_values,
    validate_submission,
)
from tests.support.forms import order_form_document

OnePage = Callable[..., dict[str, Any]]
PDF_REF = {"id": "f1", "name": "invoice.pdf", "size": 1200, "content_type": "application/pdf"}


def errors_of(schema: FormSchema, raw: Any, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(SubmissionInvalid) as caught:
        validate_submission(schema, raw, **kwargs)
    return caught.value.errors


def field_schema(one_page: OnePage, **field: Any) -> FormSchema:
    return load_definition(one_page({"key": "x", "label": "X", **field}))


# --- the complaint form ------------------------------------------------------------------------


def test_valid_complaint_gives_typed_clean_data(complaint: FormSchema, valid_complaint: dict[str, Any]) -> None:
    clean = validate_submission(complaint, valid_complaint, files={"attachment": [PDF_REF]})
    assert clean == {**valid_complaint, "attachment": [PDF_REF]}
    assert list(clean) == [
        "name",
        "email",
        "order_number",
        "severity",
        "customer_tier",
        "category",
        "description",
        "attachment",
    ]


def test_keys_that_are_not_fields_are_dropped(complaint: FormSchema, valid_complaint: dict[str, Any]) -> None:
    raw = {**valid_complaint, "state": "closed", "assignee": "mallory@example.com", "about_you": "x", "__class__": 1}
    clean = validate_submission(complaint, raw)
    assert not {"state", "assignee", "about_you", "__class__"} & set(clean)


def test_every_error_is_listed_in_form_order(complaint: FormSchema) -> None:
    raw = {
        "email": "not-an-email",
        "order_number": "123",
        "severity": "extreme",
        "category": "other",
        "description": "too short",
    }
    assert errors_of(complaint, raw) == {
        "name": ["This field is required."],
        "email": ["Enter a valid email address, like name@example.com."],
        "order_number": ["Enter the order number as ORD- followed by 6 digits, like ORD-123456."],
        "severity": ["Select one of the options."],
        "other_category": ["This field is required."],
        "description": ["Must be at least 20 characters."],
    }


def test_hidden_field_is_neither_validated_nor_returned(complaint: FormSchema, valid_complaint: dict[str, Any]) -> None:
    raw = {**valid_complaint, "category": "billing", "other_category": "x" * 500}  # too long, but hidden
    assert "other_category" not in validate_submission(complaint, raw)


def test_shown_field_is_validated_and_returned(complaint: FormSchema, valid_complaint: dict[str, Any]) -> None:
    raw = {**valid_complaint, "category": "other", "other_category": "x" * 101}
    assert errors_of(complaint, raw) == {"other_category": ["Must be at most 100 characters."]}
    raw["other_category"] = "  Packaging  "
    assert validate_submission(complaint, raw)["other_category"] == "Packaging"


def test_visibility_is_decided_on_coerced_values(one_page: OnePage) -> None:
    schema = load_definition(
        one_page(
            {"type": "currency", "key": "amount", "label": "Amount", "currency": "EUR"},
            {
                "type": "long_text",
                "key": "why",
                "label": "Why so much?",
                "required": True,
                "visible_if": {"field": "amount", "op": "gt", "value": 10000},
            },
        )
    )
    assert errors_of(schema, {"amount": "10,000.01"}) == {"why": ["This field is required."]}
    assert validate_submission(schema, {"amount": "10,000.00"}) == {"amount": Decimal("10000.00")}
    # An invalid amount counts as empty: the question stays hidden and only the amount is reported.
    assert errors_of(schema, {"amount": "lots"}) == {"amount": ["Enter an amount, like 1,234.56."]}


def test_hidden_fields_hide_what_depends_on_them(one_page: OnePage) -> None:
    schema = load_definition(
        one_page(
            {"type": "yes_no", "key": "has_car", "label": "Car?"},
            {
                "type": "short_text",
                "key": "plate",
                "label": "Plate",
                "visible_if": {"field": "has_car", "op": "is_true"},
            },
            {
                "type": "short_text",
                "key": "colour",
                "label": "Colour",
                "visible_if": {"field": "plate", "op": "not_empty"},
            },
        )
    )
    clean = validate_submission(schema, {"has_car": "false", "plate": "AB-12", "colour": "red"})
    assert clean == {"has_car": False}
    clean = validate_submission(schema, {"has_car": "on", "plate": "AB-12", "colour": "red"})
    assert clean == {"has_car": True, "plate": "AB-12", "colour": "red"}


def test_required_if(one_page: OnePage) -> None:
    schema = load_definition(
        one_page(
            {
                "type": "single_choice",
                "key": "contact",
                "label": "Contact by",
                "options": [{"label": "Email", "value": "email"}, {"label": "Phone", "value": "phone"}],
            },
            {
                "type": "phone",
                "key": "phone",
                "label": "Phone",
                "required_if": {"field": "contact", "op": "eq", "value": "phone"},
            },
        )
    )
    assert errors_of(schema, {"contact": "phone"}) == {"phone": ["This field is required."]}
    assert validate_submission(schema, {"contact": "email"}) == {"contact": "email", "phone": None}


def test_raw_that_is_not_a_mapping_is_empty(complaint: FormSchema) -> None:
    assert "name" in errors_of(complaint, ["not", "a", "dict"])  # type: ignore[arg-type]


# --- coercion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ({"type": "integer"}, "12000", 12000),
        ({"type": "integer"}, 12000, 12000),
        ({"type": "integer"}, "12,000", 12000),
        ({"type": "integer"}, " -7 ", -7),
        ({"type": "integer"}, 12.0, 12),
        ({"type": "decimal"}, "0.1", Decimal("0.1")),
        ({"type": "decimal"}, 0.1, Decimal("0.1")),
        ({"type": "decimal"}, "1,234,567.891", Decimal("1234567.891")),
        ({"type": "currency", "currency": "EUR"}, "12,000.50", Decimal("12000.50")),
        ({"type": "currency", "currency": "EUR"}, 12000, Decimal("12000.00")),
        ({"type": "currency", "currency": "EUR"}, "12000", Decimal("12000.00")),
        ({"type": "currency", "currency": "EUR"}, "EUR 99.9", Decimal("99.90")),
        ({"type": "currency", "currency": "EUR"}, "€ 5", Decimal("5.00")),
        ({"type": "currency", "currency": "USD"}, "-$5.25", Decimal("-5.25")),
        ({"type": "currency", "currency": "EUR"}, "1.500", Decimal("1.50")),
        ({"type": "yes_no"}, "on", True),
        ({"type": "yes_no"}, "true", True),
        ({"type": "yes_no"}, True, True),
        ({"type": "yes_no"}, "false", False),
        ({"type": "yes_no"}, "No", False),
        ({"type": "yes_no"}, "", None),
        ({"type": "date"}, "2024-02-29", dt.date(2024, 2, 29)),
        ({"type": "datetime"}, "2024-05-01T14:30:00+02:00", dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)),
        ({"type": "datetime"}, "2024-05-01T14:30", dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.UTC)),
        ({"type": "email"}, " Ada@Example.COM ", "Ada@example.com"),
        ({"type": "phone"}, "+44 (20) 7946-0958", "+44 (20) 7946-0958"),
        ({"type": "url"}, "https://example.com/a?b=c", "https://example.com/a?b=c"),
        ({"type": "short_text"}, "  hello  ", "hello"),
        ({"type": "short_text"}, 42, "42"),
        ({"type": "long_text"}, "line one\r\nline two", "line one\nline two"),
        ({"type": "short_text"}, "   ", None),
        (
            {"type": "multi_choice", "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
            ["b", "a", "b"],
            ["b", "a"],
        ),
        ({"type": "multi_choice", "options": [{"label": "A", "value": "a"}]}, "a", ["a"]),
        ({"type": "multi_choice", "options": [{"label": "A", "value": "a"}]}, None, []),
        ({"type": "single_choice", "options": [{"label": "One", "value": "1"}]}, 1, "1"),
    ],
)
def test_coercion(one_page: OnePage, field: dict[str, Any], raw: Any, expected: Any) -> None:
    assert validate_submission(field_schema(one_page, **field), {"x": raw}) == {"x": expected}


def test_datetime_without_offset_is_read_in_the_given_timezone(one_page: OnePage) -> None:
    schema = field_schema(one_page, type="datetime")
    clean = validate_submission(schema, {"x": "2024-07-01T09:00"}, timezone=ZoneInfo("Europe/Paris"))
    assert clean["x"] == dt.datetime(2024, 7, 1, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ({"type": "integer"}, "12.5", "Enter a whole number."),
        ({"type": "integer"}, "twelve", "Enter a whole number."),
        ({"type": "integer"}, True, "Enter a whole number."),
        ({"type": "integer"}, "1e3", "Enter a whole number."),
        ({"type": "integer"}, "1,2", "Enter a whole number."),
        ({"type": "integer"}, "9" * 5000, "This number is too large."),
        ({"type": "integer"}, "9" * 16, "This number is too large."),
        ({"type": "decimal"}, "NaN", "Enter a number."),
        ({"type": "decimal"}, float("inf"), "Enter a number."),
        ({"type": "decimal"}, "0.00000000001", "Use at most 10 decimal places."),
        ({"type": "currency", "currency": "EUR"}, "12.345", "Use at most 2 decimal places."),
        ({"type": "currency", "currency": "EUR"}, "USD 12", "Enter an amount, like 1,234.56."),
        ({"type": "currency", "currency": "EUR"}, [12], "Enter an amount, like 1,234.56."),
        ({"type": "yes_no"}, "maybe", "Answer yes or no."),
        ({"type": "date"}, "01/02/2024", "Enter a date as YYYY-MM-DD."),
        ({"type": "date"}, "2023-02-29", "This date does not exist; enter a real date as YYYY-MM-DD."),
        ({"type": "datetime"}, "tomorrow at noon", "Enter a date and time as YYYY-MM-DD HH:MM."),
        ({"type": "email"}, "ada@", "Enter a valid email address, like name@example.com."),
        ({"type": "phone"}, "call me", "Enter a valid phone number, like +44 20 7946 0958."),
        ({"type": "phone"}, "12", "Enter a valid phone number, like +44 20 7946 0958."),
        ({"type": "url"}, "javascript:alert(1)", "Enter a full web address starting with https:// or http://."),
        ({"type": "url"}, "example.com", "Enter a full web address starting with https:// or http://."),
        ({"type": "url"}, "http://[::1", "Enter a full web address starting with https:// or http://."),
        ({"type": "short_text"}, "two\nlines", "Enter a single line of text."),
        ({"type": "short_text"}, "nul\x00byte", "Remove the control characters from this text."),
        ({"type": "short_text"}, {"a": 1}, "Enter text."),
        ({"type": "short_text"}, "x" * 1001, "Must be at most 1,000 characters."),
        ({"type": "single_choice", "options": [{"label": "A", "value": "a"}]}, "A", "Select one of the options."),
        ({"type": "single_choice", "options": [{"label": "A", "value": "a"}]}, ["a"], "Select one of the options."),
        (
            {"type": "multi_choice", "options": [{"label": "A", "value": "a"}]},
            ["a", "z"],
            "Select only the options offered.",
        ),
        (
            {"type": "multi_choice", "options": [{"label": "A", "value": "a"}]},
            {"a": 1},
            "Select options from the list.",
        ),
    ],
)
def test_refusals_are_plain_english(one_page: OnePage, field: dict[str, Any], raw: Any, message: str) -> None:
    assert errors_of(field_schema(one_page, **field), {"x": raw}) == {"x": [message]}


# --- rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "messages"),
    [
        ({"type": "integer", "min": 3, "max": 12000}, "2", ["Must be at least 3."]),
        ({"type": "integer", "min": 3, "max": 12000}, "12001", ["Must be at most 12,000."]),
        ({"type": "currency", "currency": "EUR", "min": "0.01"}, "0", ["Must be at least 0.01."]),
        ({"type": "date", "min": "2024-01-01"}, "2023-12-31", ["Must be on or after 2024-01-01."]),
        ({"type": "date", "max": "2024-01-01"}, "2024-01-02", ["Must be on or before 2024-01-01."]),
        ({"type": "short_text", "min_length": 3}, "ab", ["Must be at least 3 characters."]),
        ({"type": "long_text", "max_length": 5}, "abcdef", ["Must be at most 5 characters."]),
        ({"type": "short_text", "pattern": "[A-Z]{2}[0-9]+"}, "ab1", ["Enter a value in the expected format."]),
        ({"type": "short_text", "pattern": "[A-Z]{2}[0-9]+", "pattern_message": "Like AB123."}, "AB", ["Like AB123."]),
        (
            {"type": "short_text", "pattern": "[0-9]+", "min_length": 4},
            "ab",
            ["Must be at least 4 characters.", "Enter a value in the expected format."],
        ),
        ({"type": "short_text", "required": True}, "  ", ["This field is required."]),
        (
            {"type": "multi_choice", "required": True, "options": [{"label": "A", "value": "a"}]},
            [],
            ["This field is required."],
        ),
        ({"type": "yes_no", "required": True}, None, ["This field is required."]),
    ],
)
def test_rules(one_page: OnePage, field: dict[str, Any], raw: Any, messages: list[str]) -> None:
    assert errors_of(field_schema(one_page, **field), {"x": raw}) == {"x": messages}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ({"type": "integer", "min": 3, "max": 12000}, "3"),
        ({"type": "integer", "min": 3, "max": 12000}, "12,000"),
        ({"type": "short_text", "pattern": "[A-Z]{2}[0-9]+"}, "AB1"),
        ({"type": "short_text", "min_length": 3}, "abc"),
        ({"type": "date", "min": "2024-01-01", "max": "2024-01-01"}, "2024-01-01"),
        ({"type": "yes_no", "required": True}, "false"),  # "No" is an answer
        ({"type": "short_text", "min_length": 3}, ""),  # optional and empty: no length check
    ],
)
def test_values_on_the_boundary_pass(one_page: OnePage, field: dict[str, Any], raw: Any) -> None:
    validate_submission(field_schema(one_page, **field), {"x": raw})


def test_pattern_must_match_the_whole_value(one_page: OnePage) -> None:
    schema = field_schema(one_page, type="short_text", pattern="[0-9]{3}")
    assert errors_of(schema, {"x": "1234"})
    assert errors_of(schema, {"x": "a123"})


# --- groups ------------------------------------------------------------------------------------


@pytest.fixture
def order_form() -> FormSchema:
    return load_definition(order_form_document())


def test_group_rows_from_json(order_form: FormSchema) -> None:
    raw = {
        "shipping": "4.95",
        "items": [
            {"item": "Mug", "qty": 2, "price": "7.50"},
            {"item": "Card", "qty": "1", "price": 3, "gift": True, "message": "Happy birthday", "extra": "dropped"},
        ],
    }
    clean = validate_submission(order_form, raw)
    assert clean["items"] == [
        {"item": "Mug", "qty": 2, "price": Decimal("7.50"), "gift": None, "line": Decimal("15.00")},
        {
            "item": "Card",
            "qty": 1,
            "price": Decimal("3.00"),
            "gift": True,
            "message": "Happy birthday",
            "line": Decimal("3.00"),
        },
    ]
    assert clean["total"] == Decimal("22.95")


def test_group_errors_name_row_and_field(order_form: FormSchema) -> None:
    raw = {
        "items": [
            {"item": "Mug", "qty": 1, "price": "1"},
            {"item": "Cup", "qty": 1, "price": "1"},
            {"item": "", "qty": "0", "price": "x", "gift": "yes"},
        ]
    }
    assert errors_of(order_form, raw) == {
        "items.2.item": ["This field is required."],
        "items.2.qty": ["Must be at least 1."],
        "items.2.price": ["Enter an amount, like 1,234.56."],
        "items.2.message": ["This field is required."],
    }


def test_group_row_limits(order_form: FormSchema) -> None:
    assert errors_of(order_form, {"items": []}) == {"items": ["Add at least 1 row."]}
    row = {"item": "Mug", "qty": 1, "price": "1"}
    assert errors_of(order_form, {"items": [row] * 4}) == {"items": ["Add at most 3 rows."]}
    assert errors_of(order_form, {"items": "Mug"}) == {"items": ["Enter the rows as a list."]}
    assert errors_of(order_form, {"items": [row, "junk"]}) == {
        "items.1": ["Each row must be an object of field values."]
    }


# --- pages -------------------------------------------------------------------------------------


@pytest.fixture
def two_pages() -> FormSchema:
    return load_definition(
        {
            "schema_version": 1,
            "title": "Claim",
            "pages": [
                {
                    "key": "about",
                    "title": "About",
                    "fields": [
                        {"type": "yes_no", "key": "injured", "label": "Injured?", "required": True},
                        {"type": "short_text", "key": "name", "label": "Name", "required": True},
                    ],
                },
                {
                    "key": "injury",
                    "title": "Injury",
                    "fields": [
                        {
                            "type": "long_text",
                            "key": "injury",
                            "label": "Injury",
                            "required": True,
                            "visible_if": {"field": "injured", "op": "is_true"},
                        },
                        {"type": "date", "key": "when", "label": "When", "required": True},
                    ],
                },
            ],
        }
    )


def test_page_validation_checks_only_that_page(two_pages: FormSchema) -> None:
    assert validate_submission(two_pages, {"injured": "no", "name": "Ann"}, page="about") == {
        "injured": False,
        "name": "Ann",
    }
    assert errors_of(two_pages, {"name": ""}, page="about") == {
        "injured": ["This field is required."],
        "name": ["This field is required."],
    }


def test_page_conditions_use_earlier_pages(two_pages: FormSchema) -> None:
    assert errors_of(two_pages, {"injured": "yes"}, page="injury") == {
        "injury": ["This field is required."],
        "when": ["This field is required."],
    }
    assert validate_submission(two_pages, {"injured": "no", "when": "2024-01-02"}, page="injury") == {
        "when": dt.date(2024, 1, 2)
    }


def test_full_validation_at_the_end(two_pages: FormSchema) -> None:
    assert set(errors_of(two_pages, {"injured": "yes", "name": "Ann"})) == {"injury", "when"}


def test_unknown_page(two_pages: FormSchema) -> None:
    with pytest.raises(UnknownPage):
        validate_submission(two_pages, {}, page="nope")


# --- storage -----------------------------------------------------------------------------------


def test_json_round_trip(order_form: FormSchema) -> None:
    clean = validate_submission(order_form, {"shipping": "1", "items": [{"item": "Mug", "qty": 3, "price": "0.10"}]})
    stored = json.loads(json.dumps(to_json_values(clean)))
    assert stored["items"][0]["price"] == "0.10" and stored["total"] == "1.30"
    assert from_json_values(order_form, stored) == clean


def test_json_round_trip_of_every_family(one_page: OnePage) -> None:
    schema = load_definition(
        one_page(
            {"type": "date", "key": "d", "label": "D"},
            {"type": "datetime", "key": "t", "label": "T"},
            {"type": "yes_no", "key": "b", "label": "B"},
            {"type": "integer", "key": "i", "label": "I"},
            {"type": "multi_choice", "key": "m", "label": "M", "options": [{"label": "A", "value": "a"}]},
            {"type": "file", "key": "f", "label": "F"},
        )
    )
    clean = validate_submission(
        schema, {"d": "2024-01-31", "t": "2024-01-31T23:00:00-05:00", "b": "on", "i": "7", "m": ["a"], "f": [PDF_REF]}
    )
    stored = to_json_values(clean)
    assert stored == {
        "d": "2024-01-31",
        "t": "2024-01-31T23:00:00-05:00",
        "b": True,
        "i": 7,
        "m": ["a"],
        "f": [PDF_REF],
    }
    assert from_json_values(schema, json.loads(json.dumps(stored))) == clean


def test_from_json_drops_unknown_keys_and_keeps_unreadable_values(complaint: FormSchema) -> None:
    typed = from_json_values(complaint, {"name": "Ann", "state": "closed", "email": 42})
    assert typed == {"name": "Ann", "email": 42}


def test_defaults(complaint: FormSchema) -> None:
    assert defaults(complaint) == {"severity": "medium", "customer_tier": "standard"}


# --- files -------------------------------------------------------------------------------------


def test_file_refs(complaint: FormSchema, valid_complaint: dict[str, Any]) -> None:
    png = {"id": 7, "name": "photo.png", "size": 11 * 1024 * 1024, "content_type": "image/png"}
    exe = {"id": "x", "name": "tool.pdf", "size": 10, "content_type": "application/x-msdownload"}
    raw = {**valid_complaint, "attachment": [PDF_REF, png, exe, PDF_REF]}
    assert errors_of(complaint, raw) == {
        "attachment": [
            "Attach at most 3 files.",
            "“photo.png” is larger than 10 MB.",
            "“tool.pdf” is not an allowed type of file (allowed: PDF, PNG image, JPEG image).",
        ]
    }
    bad = {**valid_complaint, "attachment": [{"id": "1", "name": "a.pdf"}]}
    assert errors_of(complaint, bad) == {
        "attachment": ["This attachment reference is not valid; attach the file again."]
    }


def test_files_argument_wins_over_posted_values(complaint: FormSchema, valid_complaint: dict[str, Any]) -> None:
    raw = {**valid_complaint, "attachment": "C:\\fakepath\\evil.exe"}
    assert validate_submission(complaint, raw, files={"attachment": [PDF_REF]})["attachment"] == [PDF_REF]


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


def _odf(mimetype: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr("content.xml", "<xml/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"%PDF-1.7\n...", "a.pdf", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a.png", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a.jpg", "image/jpeg"),
        (b"GIF89a\x01\x00", "a.gif", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "a.webp", "image/webp"),
        (
            _zip("[Content_Types].xml", "_rels/.rels", "word/document.xml"),
            "a.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            _zip("[Content_Types].xml", "xl/workbook.xml"),
            "a.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (_odf("application/vnd.oasis.opendocument.text"), "a.odt", "application/vnd.oasis.opendocument.text"),
        (_zip("notes.txt"), "a.zip", "application/zip"),
        (b"Name,Amount\nAda,12\n", "a.csv", "text/csv"),
        ("Grüße\n".encode(), "notes.txt", "text/plain"),
        ("Grüße".encode()[:-1], "cut.txt", "text/plain"),  # head cut inside a character
        (b"<!DOCTYPE html><script>", "page.txt", "text/html"),
        (b"MZ\x90\x00", "invoice.pdf", "application/x-msdownload"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old.doc", "application/x-ole-storage"),
        (b"text\x00with nul", "a.txt", None),
        (b"\x80\x81\x82\x83\x84\x85", "a.bin", None),
        (b"", "empty.txt", None),
    ],
)
def test_sniff_content_type(head: bytes, name: str, expected: str | None) -> None:
    assert sniff_content_type(head, name=name) == expected


def test_check_upload_judges_content_not_name(complaint: FormSchema) -> None:
    field = complaint.field("attachment")
    assert check_upload(field, "invoice.pdf", 1000, b"%PDF-1.4") == []
    assert check_upload(field, "invoice.pdf", 1000, b"MZ\x90\x00") == [
        "This kind of file is not accepted (allowed: PDF, PNG image, JPEG image)."
    ]
    assert check_upload(field, "photo.jpg", 1000, b"GIF89a") == [
        "This file is a GIF image, which is not accepted here (allowed: PDF, PNG image, JPEG image)."
    ]
    assert check_upload(field, "big.pdf", 20 * 1024 * 1024, b"%PDF-") == [
        "The file is too large (20 MB); the limit is 10 MB."
    ]
    assert check_upload(field, "empty.pdf", 0, b"") == [
        "The file is empty.",
        "This kind of file is not accepted (allowed: PDF, PNG image, JPEG image).",
    ]
    assert check_upload(field, "four.pdf", 10, b"%PDF-", existing_count=3) == ["Attach at most 3 files."]
    assert check_upload(complaint.field("name"), "a.pdf", 10, b"%PDF-") == ["This field does not take files."]


def test_check_upload_with_zip_and_text_families(one_page: OnePage) -> None:
    zips = field_schema(one_page, type="file", allowed_types=["application/zip", "text/plain"]).field("x")
    assert check_upload(zips, "a.docx", 100, _zip("word/document.xml")) == []  # a docx is a zip
    assert check_upload(zips, "a.csv", 100, b"a,b\n") == []  # CSV is plain text
    csv_only = field_schema(one_page, type="file", allowed_types=["text/csv"]).field("x")
    assert check_upload(csv_only, "data.csv", 100, b"a,b\n1,2\n") == []
    assert check_upload(csv_only, "notes.txt", 100, b"hello") == []  # content cannot tell CSV from text
    assert check_upload(csv_only, "data.csv", 100, b"%PDF-1.4") != []


def test_hidden_fields_follow_the_answers(complaint: FormSchema) -> None:
    from forms.validation import hidden_fields

    schema = complaint
    assert hidden_fields(schema, {"category": "damaged"}) == {"other_category"}
    assert hidden_fields(schema, {"category": "other"}) == set()
    assert hidden_fields(schema, {}) == {"other_category"}
