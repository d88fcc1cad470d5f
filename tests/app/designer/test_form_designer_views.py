"""The form designer's view models and posted inputs: problems in place, the preview, the condition
builder, the side panel's properties, and the words of its announcements."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict as Post

from app.designer.forms import builder, messages, palette, posts
from app.designer.forms.preview import preview_document
from app.designer.forms.problems import problems_by_place
from forms import editing
from forms.definitions import load_definition
from forms.errors import DefinitionError
from forms.fieldtypes import FIELD_TYPES
from tests.support.complaint import complaint_document


def problems(document: dict[str, Any]) -> list[tuple[str | None, str]]:
    try:
        load_definition(document)
    except DefinitionError as exc:
        return [(p.field, p.message) for p in exc.errors]
    return []


@pytest.fixture
def doc() -> dict[str, Any]:
    return complaint_document()


def test_problems_are_placed_on_their_field_page_and_form(doc: dict[str, Any]) -> None:
    doc["title"] = ""
    doc, _page = editing.add_page(doc, "Empty")
    doc = editing.update_field(doc, "order_number", {"pattern": "([a-z", "label": None})
    doc = editing.remove_option(doc, "category", 4)
    try:
        load_definition(doc)
    except DefinitionError as exc:
        found = problems_by_place(doc, exc.errors)
    assert found.form == ["Give the form a title."]
    assert found.pages == {1: ["Add at least one field to this page."]}
    assert {p.prop for p in found.fields["order_number"]} == {"pattern", "label"}
    assert found.of("order_number", "pattern")[0].startswith("The pattern is not a valid regular expression")
    assert {(p.prop, p.detail) for p in found.fields["other_category"]} == {
        ("visible_if", "value"), ("required_if", "value")}
    assert found.count == 6


def test_the_preview_leaves_out_what_has_problems(doc: dict[str, Any]) -> None:
    doc, _page = editing.add_page(doc, "Empty")
    doc = editing.update_field(doc, "order_number", {"pattern": "([a-z"})
    doc, _ = editing.delete_field(doc, "category")
    preview = preview_document(doc)
    assert preview.document is not None
    schema = load_definition(preview.document)
    assert "order_number" not in schema.by_key and "other_category" in schema.by_key
    assert schema.by_key["other_category"].visible_if is None
    assert preview.omitted == ["Order number"]
    assert sorted(set(preview.ignored_conditions)) == ["Which category?"]
    assert [p.key for p in schema.pages] == ["details"]
    assert preview_document({"schema_version": 1, "title": "x", "pages": []}).document is None


def test_the_condition_builder_offers_fields_operators_and_values_that_fit(doc: dict[str, Any]) -> None:
    doc, page = editing.add_page(doc, "More")
    doc, later = editing.add_field(doc, "yes_no", page)
    fields = builder.condition_fields(doc, "other_category")
    assert [f.key for f in fields] == ["name", "email", "order_number", "severity", "customer_tier", "category",
                                       "description", "attachment"]  # no heading, not itself, no later page
    category = next(f for f in fields if f.key == "category")
    assert ("other", "Other") in category.options
    assert [op for op, _ in builder.operators_for("choice")] == ["eq", "neq", "in", "not_in", "not_empty", "empty"]
    assert dict(builder.operators_for("multi"))["contains"] == "includes"
    assert later not in [f.key for f in fields]
    assert "severity" in [f.key for f in builder.condition_fields(doc, later)]


def test_the_condition_builder_round_trips_through_a_post(doc: dict[str, Any]) -> None:
    fields = builder.condition_fields(doc, "other_category")
    post = Post({"enabled": "1", "mode": "any", "rows": "3",
                 "field-0": "category", "op-0": "eq", "value-0": "other",
                 "field-1": "severity", "op-1": "in", "value-1": ["high", "critical"],
                 "field-2": "description", "op-2": "not_empty"})
    state = posts.builder_from_post(post, fields)
    condition = builder.condition_from_builder(state, fields)
    assert condition == {"any": [{"field": "category", "op": "eq", "value": "other"},
                                 {"field": "severity", "op": "in", "value": ["high", "critical"]},
                                 {"field": "description", "op": "not_empty"}]}
    again = builder.state_from_condition(condition)
    assert again == builder.BuilderState(True, "any", state.rows)
    after = editing.set_condition(doc, "other_category", "visible_if", condition)
    assert problems(after) == []
    assert builder.condition_summary(after, condition) == (
        "Category is Other or Severity is High or Critical or What happened? is filled in")


def test_the_builder_resets_an_operator_that_no_longer_fits_and_adds_rows(doc: dict[str, Any]) -> None:
    fields = builder.condition_fields(doc, "description")
    state = posts.builder_from_post(Post({"enabled": "1", "rows": "1", "field-0": "attachment",
                                             "op-0": "eq", "value-0": "x", "action": "add"}), fields)
    assert (state.rows[0].op, state.rows[0].values) == ("not_empty", [])
    assert len(state.rows) == 2 and state.rows[1].field == "name"
    state = posts.builder_from_post(Post({"enabled": "1", "rows": "2", "field-0": "name", "op-0": "eq",
                                             "field-1": "name", "op-1": "eq", "action": "remove-0"}), fields)
    assert len(state.rows) == 1
    assert builder.condition_from_builder(builder.BuilderState(False, "all", state.rows), fields) is None


def test_builder_values_are_typed_by_the_field_family() -> None:
    doc = {"schema_version": 1, "title": "T", "pages": [{"key": "p", "title": "P", "fields": [
        {"type": "integer", "key": "n", "label": "N"}, {"type": "datetime", "key": "at", "label": "At"},
        {"type": "short_text", "key": "t", "label": "T"}, {"type": "date", "key": "d", "label": "D"},
        {"type": "short_text", "key": "me", "label": "Me"}]}]}
    fields = builder.condition_fields(doc, "me")
    post = Post({"enabled": "1", "rows": "4", "field-0": "n", "op-0": "between", "low-0": "1", "high-0": "2.5",
                 "field-1": "at", "op-1": "after", "value-1": "2024-05-01T14:30",
                 "field-2": "t", "op-2": "in", "value-2": "alpha\r\n beta \n\n",
                 "field-3": "d", "op-3": "before", "value-3": "2024-01-31"})
    condition = builder.condition_from_builder(posts.builder_from_post(post, fields), fields)
    assert condition == {"all": [{"field": "n", "op": "between", "value": [1, "2.5"]},
                                 {"field": "at", "op": "after", "value": "2024-05-01T14:30:00+00:00"},
                                 {"field": "t", "op": "in", "value": ["alpha", "beta"]},
                                 {"field": "d", "op": "before", "value": "2024-01-31"}]}
    doc["pages"][0]["fields"][4]["visible_if"] = condition
    assert problems(doc) == []


def test_a_nested_condition_is_shown_as_too_complex_for_the_pickers() -> None:
    state = builder.state_from_condition({"not": {"field": "x", "op": "empty"}})
    assert state.complex and state.enabled and not state.rows


def test_side_panel_posts_become_properties(doc: dict[str, Any]) -> None:
    post = Post({"present": ["label", "help", "placeholder", "required", "min_length", "max_length", "pattern",
                             "pattern_message", "width", "default"],
                 "label": "Order <b>number</b>", "help": "line 1\r\nline 2", "placeholder": "",
                 "min_length": "3", "max_length": "ten", "pattern": "ORD-[0-9]{6}", "pattern_message": "Like ORD-1",
                 "width": "full", "default": "", "key": "order_no"})
    props = posts.props_from_post("short_text", post)
    assert props == {"label": "Order <b>number</b>", "help": "line 1\nline 2", "placeholder": None, "required": None,
                     "min_length": 3, "max_length": "ten", "pattern": "ORD-[0-9]{6}", "pattern_message": "Like ORD-1",
                     "width": None, "default": None, "key": "order_no"}
    after = editing.update_field(doc, "order_number", props)
    assert [(f, "maximum length must be a whole number" in m) for f, m in problems(after)] == [("order_no", True)]
    file_props = posts.props_from_post("file", Post({
        "present": ["allowed_types", "max_size", "max_count", "required"], "required": "1",
        "allowed_types": ["application/pdf", "text/x-evil"], "max_size_mb": "2.5", "max_count": "3"}))
    assert file_props == {"allowed_types": ["application/pdf"], "max_size": 2621440, "max_count": 3, "required": True}
    choice = posts.props_from_post("single_choice", Post({
        "present": ["options", "display", "default"], "option_label": ["A", "B"], "option_value": ["a", "b"],
        "display": "radio", "default": "b"}))
    assert choice == {"options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}], "display": "radio",
                      "default": "b"}
    assert posts.props_from_post("yes_no", Post({"present": ["default"], "default": "false"})) == {"default": False}


def test_uses_lists_the_fields_that_depend_on_a_field(doc: dict[str, Any]) -> None:
    assert messages.uses(doc, "category") == ["Which category?"]
    assert json.dumps(palette.PALETTE)  # plain data the template can show
    assert {name for _, items in palette.PALETTE for name, _ in items} == set(FIELD_TYPES)


def test_where_and_add_target_say_where_fields_are_and_go(doc: dict[str, Any]) -> None:
    assert messages.where(doc, "email") == "position 3 of 10 on page “Your complaint”"
    assert messages.label_of(doc, "email") == "Email address" and messages.label_of(doc, "ghost") == "ghost"
    doc, group = editing.add_field(doc, "group", "details", 0)
    assert messages.where(doc, f"{group}_item") == "position 1 of 1 in “Rows”"
    assert palette.add_target(doc, field="email") == {"page": "details", "title": "Your complaint", "index": 4}
    assert palette.add_target(doc, field=f"{group}_item")["index"] == 1  # after the group, not inside it
    doc, page = editing.add_page(doc, "Evidence")
    assert palette.add_target(doc) == {"page": page, "title": "Evidence", "index": None}
    assert palette.add_target(doc, page="details")["index"] is None
