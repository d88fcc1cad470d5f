"""WTForms classes built from schemas: fresh classes, widgets, accessibility, shared validation."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import wtforms
from wtforms import fields as wtf_fields

from forms.definitions import load_definition
from forms.errors import SubmissionInvalid, UnknownPage
from forms.schema import FormSchema
from forms.validation import validate_submission
from forms.wtf import (
    CalculatedField,
    NoteField,
    SchemaForm,
    build_form_class,
    error_id,
    help_id,
    initial_form_data,
)

Post = Callable[[dict[str, Any]], Any]
OnePage = Callable[..., dict[str, Any]]


def checked(html: str) -> list[str]:
    """Values of the checked inputs in rendered HTML."""
    inputs = re.findall(r"<input([^>]*)>", html)
    return [re.search(r'value="([^"]*)"', attrs).group(1) for attrs in inputs if re.search(r"\bchecked\b", attrs)]  # type: ignore[union-attr]


def form_for(schema: FormSchema, data: dict[str, Any] | None, post: Post, **kwargs: Any) -> Any:
    cls = build_form_class(schema, **kwargs)
    return cls(post(data)) if data is not None else cls()


def test_a_fresh_class_per_call(complaint: FormSchema) -> None:
    first, second = build_form_class(complaint), build_form_class(complaint)
    assert first is not second
    assert issubclass(first, wtforms.Form) and issubclass(first, SchemaForm)
    first.extra = wtf_fields.StringField("Extra")  # type: ignore[attr-defined]
    assert "extra" not in second()._fields


def test_fields_follow_the_schema(complaint: FormSchema) -> None:
    form = build_form_class(complaint)()
    assert list(form._fields) == [
        "about_you",
        "name",
        "email",
        "order_number",
        "severity",
        "customer_tier",
        "category",
        "other_category",
        "description",
        "attachment",
    ]
    kinds = {key: type(field) for key, field in form._fields.items()}
    assert kinds["about_you"] is NoteField
    assert kinds["name"] is wtf_fields.StringField
    assert kinds["description"] is wtf_fields.TextAreaField
    assert kinds["severity"] is wtf_fields.RadioField  # display: radio
    assert kinds["category"] is wtf_fields.SelectField  # display: dropdown (the default)
    assert kinds["attachment"] is wtf_fields.MultipleFileField  # max_count 3
    assert form.name.label.text == "Your name"
    assert form.email.description == "We send updates about your complaint to this address."
    choices = [tuple(choice)[:2] for choice in form.category.choices]
    assert choices[0] == ("", "Choose…") and ("other", "Other") in choices


def test_rendered_html(complaint: FormSchema) -> None:
    form = build_form_class(complaint)()
    order = form.order_number()
    assert 'id="field-order_number"' in order and 'name="order_number"' in order
    assert 'placeholder="ORD-123456"' in order and "required" in order
    assert 'type="email"' in form.email()
    assert 'aria-describedby="field-email-help"' in form.email()
    assert help_id(form.email) == "field-email-help" and error_id(form.email) == "field-email-error"
    assert "required" not in form.other_category()  # conditional: the browser must not insist
    assert 'accept="application/pdf,image/png,image/jpeg"' in form.attachment()
    assert checked(form.severity()) == ["medium"]
    assert form.about_you() == '<h2 id="field-about_you" class="cw-heading">About you</h2>'


def test_admin_text_is_escaped(one_page: OnePage) -> None:
    schema = load_definition(
        one_page(
            {"type": "info", "key": "note", "text": "<script>alert(1)</script>"},
            {"type": "short_text", "key": "name", "label": "<img src=x onerror=alert(1)>", "placeholder": '"><b>'},
        )
    )
    form = build_form_class(schema)()
    assert "<script>" not in form.note() and "&lt;script&gt;" in form.note()
    assert "<img" not in str(form.name.label)
    assert "<b>" not in form.name()


def test_validation_uses_the_same_messages_as_the_api(complaint: FormSchema, post: Post) -> None:
    raw = {
        "name": "",
        "email": "nope",
        "order_number": "123",
        "severity": "high",
        "category": "other",
        "description": "short",
        "state": "closed",
    }
    form = form_for(complaint, raw, post)
    assert form.validate() is False
    with pytest.raises(SubmissionInvalid) as caught:
        validate_submission(complaint, raw)
    on_page = {key: field.errors for key, field in form._fields.items() if field.errors}
    assert on_page == caught.value.errors
    assert form.clean_data is None


def test_errors_wire_aria(complaint: FormSchema, post: Post) -> None:
    form = form_for(complaint, {"email": "nope"}, post)
    form.validate()
    html = form.email()
    assert 'aria-describedby="field-email-help field-email-error"' in html and 'aria-invalid="true"' in html
    # The class is not changed by one instance's errors.
    fresh = type(form)()
    assert "aria-invalid" not in fresh.email()


def test_valid_post(complaint: FormSchema, valid_complaint: dict[str, Any], post: Post) -> None:
    form = form_for(complaint, {**valid_complaint, "assignee": "me"}, post)
    form.file_refs = {"attachment": [{"id": "1", "name": "a.pdf", "size": 3, "content_type": "application/pdf"}]}
    assert form.validate() is True
    assert form.clean_data == validate_submission(complaint, valid_complaint, files=form.file_refs)
    assert form.clean_data["attachment"][0]["id"] == "1"


def test_base_class_validation_still_counts(complaint: FormSchema, valid_complaint: dict[str, Any], post: Post) -> None:
    """Flask-WTF's FlaskForm fails validate() on a bad CSRF token; that must not be bypassed."""

    class CsrfLike(wtforms.Form):
        csrf_token = wtf_fields.HiddenField()

        def validate(self, extra_validators: Any = None) -> bool:
            ok = super().validate(extra_validators)
            if self.csrf_token.data != "good":
                self.csrf_token.errors = ["The CSRF token is invalid."]
                return False
            return ok

    cls = build_form_class(complaint, base=CsrfLike)
    bad = cls(post({**valid_complaint, "csrf_token": "bad"}))
    assert bad.validate() is False and bad.clean_data is None
    good = cls(post({**valid_complaint, "csrf_token": "good"}))
    assert good.validate() is True
    assert [item.spec.key for item in good.layout()][:2] == ["about_you", "name"]  # csrf_token is not a schema field


@pytest.fixture
def order_form(one_page: OnePage) -> FormSchema:
    return load_definition(
        one_page(
            {
                "type": "group",
                "key": "items",
                "label": "Items",
                "min_rows": 2,
                "fields": [
                    {"type": "short_text", "key": "item", "label": "Item", "required": True},
                    {"type": "integer", "key": "qty", "label": "Quantity", "min": 1},
                    {
                        "type": "multi_choice",
                        "key": "wrap",
                        "label": "Wrap",
                        "options": [{"label": "Paper", "value": "paper"}, {"label": "Bow", "value": "bow"}],
                    },
                    {"type": "calculated", "key": "double", "label": "Double", "expression": "qty * 2"},
                ],
            },
            {"type": "calculated", "key": "total", "label": "Total", "expression": "sum(items.qty)"},
        )
    )


def test_group_rows_are_indexed_names(order_form: FormSchema) -> None:
    form = build_form_class(order_form)()
    assert len(form.items.entries) == 2  # min_rows blank rows to fill in
    first = form.items.entries[0].form
    assert 'name="items-0-item"' in first.item()
    assert 'name="items-1-qty"' in form.items.entries[1].form.qty()


def test_group_post_validates_and_computes(order_form: FormSchema, post: Post) -> None:
    form = form_for(
        order_form,
        {
            "items-0-item": "Mug",
            "items-0-qty": "2",
            "items-0-wrap": ["paper", "bow"],
            "items-1-item": "Pen",
            "items-1-qty": "3",
            "total": "999",
        },
        post,
    )
    assert form.validate() is True
    assert form.clean_data == {
        "items": [
            {"item": "Mug", "qty": 2, "wrap": ["paper", "bow"], "double": Decimal(4)},
            {"item": "Pen", "qty": 3, "wrap": [], "double": Decimal(6)},
        ],
        "total": Decimal(5),
    }
    assert 'value="5"' in form.total()  # the posted 999 is ignored; the computed value is shown


def test_group_errors_land_on_the_row_field(order_form: FormSchema, post: Post) -> None:
    form = form_for(
        order_form, {"items-0-item": "Mug", "items-0-qty": "1", "items-1-item": "", "items-1-qty": "0"}, post
    )
    assert form.validate() is False
    row = form.items.entries[1].form
    assert row.item.errors == ["This field is required."]
    assert row.qty.errors == ["Must be at least 1."]
    assert 'aria-invalid="true"' in row.qty()
    assert form.items.entries[0].form.item.errors == []
    # Too few rows is a message on the group itself.
    form = form_for(order_form, {"items-0-item": "Mug"}, post)
    assert form.validate() is False
    assert "Add at least 2 rows." in form.items.errors


def test_page_forms(one_page: OnePage, post: Post) -> None:
    schema = load_definition(
        {
            "schema_version": 1,
            "title": "Two",
            "pages": [
                {"key": "a", "title": "A", "fields": [{"type": "yes_no", "key": "more", "label": "More?"}]},
                {
                    "key": "b",
                    "title": "B",
                    "fields": [
                        {
                            "type": "short_text",
                            "key": "detail",
                            "label": "Detail",
                            "required": True,
                            "visible_if": {"field": "more", "op": "is_true"},
                        },
                        {"type": "integer", "key": "n", "label": "N"},
                    ],
                },
            ],
        }
    )
    cls = build_form_class(schema, page="b")
    assert list(cls()._fields) == ["detail", "n"]
    form = cls(post({"n": "1"}))
    form.prior_data = {"more": True}
    assert form.validate() is False and form.detail.errors == ["This field is required."]
    form = cls(post({"n": "1"}))
    form.prior_data = {"more": False}
    assert form.validate() is True and form.clean_data == {"n": 1}
    with pytest.raises(UnknownPage):
        build_form_class(schema, page="zzz")


def test_initial_form_data_prefills(one_page: OnePage) -> None:
    schema = load_definition(
        one_page(
            {"type": "yes_no", "key": "ok", "label": "OK"},
            {"type": "currency", "key": "amount", "label": "Amount", "currency": "EUR"},
            {
                "type": "multi_choice",
                "key": "tags",
                "label": "Tags",
                "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
            },
            {
                "type": "group",
                "key": "rows",
                "label": "Rows",
                "fields": [{"type": "date", "key": "day", "label": "Day"}],
            },
        )
    )
    clean = validate_submission(
        schema, {"ok": "false", "amount": "12.5", "tags": ["b"], "rows": [{"day": "2024-01-02"}]}
    )
    data = initial_form_data(schema, clean)
    assert data == {"ok": "false", "amount": "12.50", "tags": ["b"], "rows": [{"day": "2024-01-02"}]}
    form = build_form_class(schema)(data=data)
    assert checked(form.ok()) == ["false"]
    assert checked(form.tags()) == ["b"]
    assert 'value="12.50"' in form.amount()
    assert form.tags.data == ["b"]
    assert 'value="2024-01-02"' in form.rows.entries[0].form.day()


def test_defaults_prefill_a_new_form(complaint: FormSchema) -> None:
    form = build_form_class(complaint)()
    assert form.severity.data == "medium" and form.customer_tier.data == "standard"


def test_calculated_field_is_read_only(order_form: FormSchema) -> None:
    form = build_form_class(order_form)()
    assert isinstance(form.total, CalculatedField)
    assert "readonly" in form.total()
