"""Readable answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from forms.definitions import load_definition
from forms.display import EMPTY, display_rows, display_value
from forms.schema import FieldSpec, Option
from tests.support.complaint import complaint_document


def test_values_read_as_people_expect() -> None:
    choice = FieldSpec(type="single_choice", key="s", options=(Option("High", "high"),))
    multi = FieldSpec(type="multi_choice", key="m", options=(Option("A", "a"), Option("B", "b")))
    money = FieldSpec(type="currency", key="c", currency="EUR")
    assert display_value(choice, "high") == "High"
    assert display_value(choice, "gone") == "gone"
    assert display_value(multi, ["b", "a"]) == "B, A"
    assert display_value(FieldSpec(type="yes_no", key="y"), False) == "No"
    assert display_value(money, Decimal("12000")) == "EUR 12,000.00"
    assert display_value(FieldSpec(type="integer", key="i"), 1234567) == "1,234,567"
    assert display_value(FieldSpec(type="date", key="d"), dt.date(2026, 3, 1)) == "2026-03-01"
    assert display_value(FieldSpec(type="file", key="f"), [{"name": "a.png", "size": 2048}]) == "a.png (2 KB)"
    assert display_value(FieldSpec(type="short_text", key="t"), "") == EMPTY


def test_rows_follow_the_form_and_skip_headings_and_empty_answers() -> None:
    schema = load_definition(complaint_document())
    rows = display_rows(schema, {"name": "Ada", "severity": "critical", "category": "other",
                                 "other_category": "Courier"})
    assert [(r.key, r.text) for r in rows] == [("name", "Ada"), ("severity", "Critical"), ("category", "Other"),
                                               ("other_category", "Courier")]
    assert "about_you" not in {r.key for r in display_rows(schema, {}, include_empty=True)}
