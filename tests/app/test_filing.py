"""The requester wizard's post read as plain values: multiple choices as lists, group rows from
``items-0-amount`` names, so validation gives what the API gets for the same answers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from app.filing import rows_from_formdata, values_from_formdata
from forms.definitions import load_definition
from forms.schema import FormSchema
from forms.validation import validate_submission
from tests.support.complaint import GOOD, complaint_document
from tests.support.forms import order_form_document


@pytest.fixture
def order_form() -> FormSchema:
    return load_definition(order_form_document())


def test_html_post_and_json_give_the_same_result() -> None:
    complaint, valid_complaint = load_definition(complaint_document()), dict(GOOD)
    post = MultiDict(valid_complaint)
    assert validate_submission(complaint, values_from_formdata(complaint, post)) == validate_submission(
        complaint, valid_complaint)


def test_group_rows_from_an_html_post(order_form: FormSchema) -> None:
    raw = values_from_formdata(order_form, MultiDict(
        {
            "shipping": "0",
            "items-0-item": "Mug",
            "items-0-qty": "2",
            "items-0-price": "7.50",
            "items-1-item": "",
            "items-1-qty": "1",
            "items-1-price": "",  # untouched blank row: ignored
            "items-2-item": "Pen",
            "items-2-qty": "",
            "items-2-price": "1",
        }
    ))
    clean = validate_submission(order_form, raw)
    assert [row["item"] for row in clean["items"]] == ["Mug", "Pen"]
    assert clean["items"][1]["line"] is None  # no quantity: the line total is empty, not an error
    assert clean["total"] == Decimal("15.00")


def test_rows_from_formdata(order_form: FormSchema) -> None:
    group = order_form.field("items")
    raw = MultiDict(
        {
            "items-10-item": "b",
            "items-2-item": "a",
            "items-2-qty": "1",
            "items-x-item": "no",
            "other-0-item": "no",
            "items-0-unknown": "no",
        }
    )
    assert rows_from_formdata(raw, group) == [{"item": "a", "qty": "1"}, {"item": "b"}]
