"""Editing a form draft step by step (forms.editing)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from forms import editing
from forms.definitions import load_definition
from forms.editing import EditError, Removed
from forms.errors import DefinitionError
from forms.fieldtypes import FIELD_TYPES


def keys(document: dict[str, Any], page: int = 0) -> list[str]:
    return [f["key"] for f in document["pages"][page]["fields"]]


def problems(document: dict[str, Any]) -> list[tuple[str | None, str]]:
    try:
        load_definition(document)
    except DefinitionError as exc:
        return [(p.field, p.message) for p in exc.errors]
    return []


@pytest.fixture
def doc(complaint_definition: dict[str, Any]) -> dict[str, Any]:
    return complaint_definition


# --- fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", sorted(FIELD_TYPES))
def test_every_new_field_keeps_the_form_publishable(doc: dict[str, Any], type_name: str) -> None:
    before = copy.deepcopy(doc)
    after, key = editing.add_field(doc, type_name, "details", 1)
    assert doc == before  # the input is never changed
    assert after["pages"][0]["fields"][1]["key"] == key
    assert after["pages"][0]["fields"][1]["type"] == type_name
    assert problems(after) == []


def test_new_keys_are_fresh_readable_and_avoid_dangling_references(doc: dict[str, Any]) -> None:
    doc, first = editing.add_field(doc, "short_text", "details")
    doc, second = editing.add_field(doc, "short_text", "details")
    assert (first, second) == ("text", "text_2")
    doc, email = editing.add_field(doc, "email", "details")
    assert email == "email_2"  # the complaint already has an "email"
    # A condition pointing at a deleted field never adopts a new field by accident.
    doc, _removed = editing.delete_field(doc, "category")
    doc, choice = editing.add_field(doc, "single_choice", "details")
    assert choice == "choice"
    assert editing.fresh_key(doc, "category") == "category_2"
    assert editing.fresh_key(doc, "validate") == "validate_field"  # reserved by WTForms


def test_add_field_to_an_unknown_page_or_type_is_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(EditError, match="no page"):
        editing.add_field(doc, "short_text", "nowhere")
    with pytest.raises(EditError, match="Unknown field type"):
        editing.add_field(doc, "rocket", "details")


def test_update_keeps_the_key_and_removes_emptied_properties(doc: dict[str, Any]) -> None:
    after = editing.update_field(doc, "order_number", {"label": "Order no.", "placeholder": None, "required": None})
    field = editing.find_field(after, "order_number")
    assert field is not None and field["label"] == "Order no."
    assert "placeholder" not in field and "required" not in field
    assert editing.find_field(doc, "order_number")["placeholder"] == "ORD-123456"  # type: ignore[index]
    with pytest.raises(EditError, match="type"):
        editing.update_field(doc, "order_number", {"type": "email"})
    with pytest.raises(EditError, match="no field"):
        editing.update_field(doc, "ghost", {"label": "x"})


def test_renaming_rewrites_conditions_and_calculations(doc: dict[str, Any]) -> None:
    doc = editing.set_condition(doc, "description", "required_if",
                                {"any": [{"field": "category", "op": "eq", "value": "other"},
                                         {"not": {"field": "category", "op": "empty"}}]})
    doc, total = editing.add_field(doc, "calculated", "details")
    doc, price = editing.add_field(doc, "decimal", "details")
    doc = editing.update_field(doc, total, {"expression": f"round({price} * 2, 2) + max({price}, 1)"})
    doc = editing.update_field(doc, "category", {"key": "topic"})
    doc = editing.update_field(doc, price, {"key": "price"})
    assert editing.find_field(doc, "category") is None
    other = editing.find_field(doc, "other_category")
    assert other is not None and other["visible_if"]["field"] == "topic"
    description = editing.find_field(doc, "description")
    assert description is not None
    assert description["required_if"]["any"][0]["field"] == "topic"
    assert description["required_if"]["any"][1]["not"]["field"] == "topic"
    assert editing.find_field(doc, total)["expression"] == "round(price * 2, 2) + max(price, 1)"  # type: ignore[index]
    assert problems(doc) == []


@pytest.mark.parametrize(("new_key", "message"), [
    ("email", "already has the key"), ("Bad Key", "lowercase"), ("9lives", "lowercase"), ("data", "reserved"),
])
def test_renaming_to_a_bad_or_taken_key_is_refused(doc: dict[str, Any], new_key: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        editing.rename_field(doc, "name", new_key)


def test_move_within_a_page_between_pages_and_by_keyboard(doc: dict[str, Any]) -> None:
    after = editing.move_field(doc, "attachment", "details", 0)
    assert keys(after)[0] == "attachment"
    after = editing.move_field(doc, "about_you", "details", 99)
    assert keys(after)[-1] == "about_you"
    doc, page = editing.add_page(doc, "Evidence")
    after = editing.move_field(doc, "attachment", page, 0)
    assert keys(after, 1) == ["attachment"] and "attachment" not in keys(after)
    # Keyboard: one step at a time; at the edge of a page the field goes to the neighbouring page.
    after, place = editing.nudge_field(doc, "name", -1)
    assert keys(after)[:2] == ["name", "about_you"] and place == editing.Place("details", 0)
    after, place = editing.nudge_field(doc, "attachment", +1)
    assert keys(after, 1) == ["attachment"] and place == editing.Place(page, 0)
    after, place = editing.nudge_field(after, "attachment", -1)
    assert keys(after)[-1] == "attachment" and place.page == "details"
    with pytest.raises(EditError, match="top of the form"):
        editing.nudge_field(doc, "about_you", -1)


def test_delete_keeps_conditions_that_used_the_field_and_undo_restores_it(doc: dict[str, Any]) -> None:
    after, removed = editing.delete_field(doc, "category")
    assert "category" not in keys(after)
    assert removed.page == "details" and removed.index == 6 and removed.field["label"] == "Category"
    # The condition of "other_category" still points at it, and the draft says so at that field.
    assert editing.find_field(after, "other_category")["visible_if"]["field"] == "category"  # type: ignore[index]
    found = problems(after)
    assert found and all(field == "other_category" for field, _ in found)
    assert any("does not exist (or was deleted)" in message for _, message in found)
    # The undo information survives a round trip through the page.
    restored = editing.restore_field(after, Removed.from_json(removed.to_json()))
    assert restored == doc
    assert problems(restored) == []


def test_undo_is_refused_when_the_key_was_taken_meanwhile(doc: dict[str, Any]) -> None:
    after, removed = editing.delete_field(doc, "name")
    after = editing.rename_field(after, "email", "name")
    with pytest.raises(EditError, match="another field now has the key 'name'"):
        editing.restore_field(after, removed)
    for bad in ("", "[]", '{"field": {"key": 1}}', "not json"):
        with pytest.raises(EditError, match="nothing to undo"):
            Removed.from_json(bad)


def test_undo_after_its_page_was_deleted_puts_the_field_on_the_last_page(doc: dict[str, Any]) -> None:
    doc, page = editing.add_page(doc, "Extra")
    doc = editing.move_field(doc, "attachment", page, 0)
    doc, removed = editing.delete_field(doc, "attachment")
    doc = editing.delete_page(doc, page)
    restored = editing.restore_field(doc, removed)
    assert keys(restored)[-1] == "attachment"


def test_conditions_are_set_and_removed(doc: dict[str, Any]) -> None:
    condition = {"field": "severity", "op": "in", "value": ["high", "critical"]}
    after = editing.set_condition(doc, "order_number", "visible_if", condition)
    assert editing.find_field(after, "order_number")["visible_if"] == condition  # type: ignore[index]
    after = editing.set_condition(after, "order_number", "required_if", condition)
    assert "required" not in editing.find_field(after, "order_number")  # type: ignore[operator]
    after = editing.set_condition(after, "order_number", "visible_if", None)
    assert "visible_if" not in editing.find_field(after, "order_number")  # type: ignore[operator]
    with pytest.raises(EditError):
        editing.set_condition(doc, "order_number", "hidden_if", condition)


# --- groups ------------------------------------------------------------------------------------


def test_group_sub_fields_are_added_moved_and_kept_in_their_group(doc: dict[str, Any]) -> None:
    doc, group = editing.add_field(doc, "group", "details")
    doc, amount = editing.add_field(doc, "currency", "details", 0, group=group)
    sub_keys = [f["key"] for f in editing.find_field(doc, group)["fields"]]  # type: ignore[index]
    assert sub_keys[0] == amount and len(sub_keys) == 2
    assert editing.place_of(doc, amount) == editing.Place("details", 0, group)
    after, place = editing.nudge_field(doc, amount, +1)
    assert place.index == 1 and place.group == group
    with pytest.raises(EditError, match="bottom of its group"):
        editing.nudge_field(after, amount, +1)
    with pytest.raises(EditError, match="within its group"):
        editing.move_field(doc, amount, "details", 0)
    with pytest.raises(EditError, match="into a repeating group"):
        editing.move_field(doc, "name", None, 0, group=group)
    with pytest.raises(EditError, match="cannot contain a file upload"):
        editing.add_field(doc, "file", "details", group=group)
    assert problems(doc) == []
    after, removed = editing.delete_field(doc, amount)
    assert removed.group == group
    assert editing.restore_field(after, removed) == doc


# --- options -----------------------------------------------------------------------------------


def test_option_values_follow_their_labels_until_set_on_purpose(doc: dict[str, Any]) -> None:
    doc, key = editing.add_field(doc, "single_choice", "details")
    doc = editing.set_options(doc, key, [{"label": "Low", "value": "option_1"},
                                         {"label": "High", "value": "option_2"}])
    assert editing.find_field(doc, key)["options"] == [  # type: ignore[index]
        {"label": "Low", "value": "low"}, {"label": "High", "value": "high"}]
    doc = editing.update_option(doc, key, 1, value="hi")
    doc = editing.update_option(doc, key, 1, label="Very high")
    assert editing.find_field(doc, key)["options"][1] == {"label": "Very high", "value": "hi"}  # type: ignore[index]


def test_option_renames_carry_conditions_and_the_default_along(doc: dict[str, Any]) -> None:
    doc = editing.set_condition(doc, "description", "visible_if",
                                {"field": "severity", "op": "in", "value": ["high", "critical"]})
    doc = editing.update_option(doc, "severity", 0, label="Minor")  # "low" followed "Low": becomes "minor"
    doc = editing.update_option(doc, "severity", 3, value="urgent")
    doc = editing.update_option(doc, "severity", 1, label="Normal")
    severity = editing.find_field(doc, "severity")
    assert severity is not None
    assert [o["value"] for o in severity["options"]] == ["minor", "normal", "high", "urgent"]
    assert severity["default"] == "normal"
    assert editing.find_field(doc, "description")["visible_if"]["value"] == ["high", "urgent"]  # type: ignore[index]
    assert problems(doc) == []


def test_options_are_added_removed_and_reordered(doc: dict[str, Any]) -> None:
    doc = editing.add_option(doc, "customer_tier")
    doc = editing.add_option(doc, "customer_tier", "Platinum")
    tier = editing.find_field(doc, "customer_tier")
    assert tier is not None
    assert tier["options"][-2:] == [{"label": "Option 4", "value": "option_4"},
                                    {"label": "Platinum", "value": "platinum"}]
    doc = editing.move_option(doc, "customer_tier", 4, 0)
    doc = editing.remove_option(doc, "customer_tier", 4)
    assert [o["value"] for o in editing.find_field(doc, "customer_tier")["options"]] == [  # type: ignore[index]
        "platinum", "standard", "silver", "gold"]
    with pytest.raises(EditError, match="no such option"):
        editing.remove_option(doc, "customer_tier", 9)
    with pytest.raises(EditError, match="not a choice field"):
        editing.add_option(doc, "name")


def test_removing_an_option_a_condition_uses_is_shown_at_that_condition(doc: dict[str, Any]) -> None:
    after = editing.remove_option(doc, "category", 4)  # "Other"
    assert [(f, "not an option" in m) for f, m in problems(after)] == [("other_category", True)] * 2


# --- pages -------------------------------------------------------------------------------------


def test_pages_are_added_renamed_moved_and_deleted(doc: dict[str, Any]) -> None:
    doc, evidence = editing.add_page(doc, "Evidence")
    doc, again = editing.add_page(doc, "Evidence", 0)
    assert (evidence, again) == ("evidence", "evidence_2")
    assert [p["key"] for p in doc["pages"]] == ["evidence_2", "details", "evidence"]
    assert problems(doc)  # empty pages need a field
    doc = editing.rename_page(doc, "evidence", "Proof")
    assert doc["pages"][2]["title"] == "Proof" and doc["pages"][2]["key"] == "evidence"
    doc = editing.move_page(doc, "evidence_2", 5)
    assert [p["key"] for p in doc["pages"]] == ["details", "evidence", "evidence_2"]
    doc = editing.nudge_page(doc, "evidence", +1)
    assert [p["key"] for p in doc["pages"]] == ["details", "evidence_2", "evidence"]
    doc = editing.nudge_page(doc, "evidence", -1)
    with pytest.raises(EditError, match="already the first"):
        editing.nudge_page(doc, "details", -1)
    doc = editing.delete_page(doc, "evidence_2")
    doc = editing.move_field(doc, "attachment", "evidence", 0)
    with pytest.raises(EditError, match="has fields"):
        editing.delete_page(doc, "evidence")
    with pytest.raises(EditError, match="no next page"):
        editing.delete_page(doc, "evidence", move_fields_to="next")
    doc = editing.delete_page(doc, "evidence", move_fields_to="previous")
    assert keys(doc)[-1] == "attachment" and len(doc["pages"]) == 1
    with pytest.raises(EditError, match="at least one page"):
        editing.delete_page(doc, "details")
    assert problems(doc) == []


def test_deleting_a_page_can_move_its_fields_to_the_next_page(doc: dict[str, Any]) -> None:
    doc, first = editing.add_page(doc, "Start", 0)
    doc = editing.move_field(doc, "about_you", first, 0)
    doc = editing.delete_page(doc, first, move_fields_to="next")
    assert keys(doc)[0] == "about_you"


def test_form_title_and_description(doc: dict[str, Any]) -> None:
    after = editing.set_form_properties(doc, title="  Complaint  ", description="")
    assert after["title"] == "Complaint" and "description" not in after


def test_a_damaged_draft_is_reported_not_crashed_on() -> None:
    with pytest.raises(EditError, match="damaged"):
        editing.add_field({"schema_version": 1, "title": "x", "pages": "nope"}, "short_text", "p")
