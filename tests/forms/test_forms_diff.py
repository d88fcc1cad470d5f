"""Readable differences between two versions of a form definition."""

from __future__ import annotations

import copy
from typing import Any

from forms.definitions import load_definition
from forms.diff import Change, diff_definitions
from forms.schema import FormSchema


def messages(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [str(change) for change in diff_definitions(old, new)]


def test_no_changes(complaint_definition: dict[str, Any], complaint: FormSchema) -> None:
    assert diff_definitions(complaint_definition, complaint) == []


def test_field_added_on_a_page(complaint_definition: dict[str, Any]) -> None:
    new = copy.deepcopy(complaint_definition)
    new["pages"][0]["fields"].append({"type": "yes_no", "key": "urgent", "label": "Urgent?"})
    changes = diff_definitions(complaint_definition, new)
    assert changes == [Change("field_added", "Field 'Urgent?' added on page 'Your complaint'", field="urgent",
                              page="details")]  # fmt: skip


def test_label_change(complaint_definition: dict[str, Any]) -> None:
    new = copy.deepcopy(complaint_definition)
    new["pages"][0]["fields"][2]["label"] = "E-mail"
    (change,) = diff_definitions(complaint_definition, new)
    assert str(change) == "Label of 'email' changed from 'Email address' to 'E-mail'"
    assert (change.kind, change.field, change.prop, change.before, change.after) == (
        "property_changed",
        "email",
        "label",
        "Email address",
        "E-mail",
    )


def test_options(complaint_definition: dict[str, Any]) -> None:
    new = copy.deepcopy(complaint_definition)
    options = new["pages"][0]["fields"][6]["options"]
    del options[2]  # Wrong item
    options[0]["label"] = "Late"
    options.append({"label": "Fraud", "value": "fraud"})
    assert messages(complaint_definition, new) == [
        "Option 'Late delivery' of 'Category' renamed to 'Late'",
        "Option 'Fraud' added to 'Category'",
        "Option 'Wrong item' removed from 'Category'",
    ]
    new["pages"][0]["fields"][4]["options"].reverse()
    assert "Options of 'Severity' reordered" in messages(complaint_definition, new)


def test_moves_report_only_the_field_that_moved(complaint_definition: dict[str, Any]) -> None:
    new = copy.deepcopy(complaint_definition)
    fields = new["pages"][0]["fields"]
    fields.insert(1, fields.pop(3))  # order_number from position 4 to 2
    assert messages(complaint_definition, new) == ["Field 'order_number' moved from position 4 to 2"]


def test_removed_field_and_property_changes(complaint_definition: dict[str, Any]) -> None:
    new = copy.deepcopy(complaint_definition)
    fields = new["pages"][0]["fields"]
    del fields[9]  # attachment
    del fields[4]["required"]
    fields[8]["max_length"] = 8000
    fields[1]["help"] = "As on your ID"
    fields[7]["visible_if"] = {"field": "category", "op": "in", "value": ["other", "billing"]}
    fields[7]["type"] = "long_text"
    assert messages(complaint_definition, new) == [
        "Help text of 'name' set to 'As on your ID'",
        "'severity' is no longer required",
        "Type of 'other_category' changed from short text to long text",
        "'other_category' is now shown only when Category is Other or Billing",
        "Maximum length of 'description' changed from '5000' to '8000'",
        "Field 'Photo or document' removed from page 'Your complaint'",
    ]


def test_pages_and_groups(complaint_definition: dict[str, Any]) -> None:
    new = copy.deepcopy(complaint_definition)
    new["title"] = "Complaint"
    new["pages"][0]["title"] = "Details"
    moved = new["pages"][0]["fields"].pop(9)
    new["pages"].insert(
        0,
        {
            "key": "items",
            "title": "Items",
            "fields": [
                {
                    "type": "group",
                    "key": "lines",
                    "label": "Order lines",
                    "fields": [{"type": "integer", "key": "qty", "label": "Quantity"}],
                },
                moved,
            ],
        },
    )
    assert messages(complaint_definition, new) == [
        "Title changed from 'Customer complaint' to 'Complaint'",
        "Page 'Items' added",
        "Page 'Your complaint' renamed to 'Details'",
        "Field 'Order lines' added on page 'Items'",
        "Field 'Quantity' added to group 'Order lines'",
        "Field 'attachment' moved from page 'Your complaint' to page 'Items'",
    ]


def test_accepts_loaded_schemas(complaint: FormSchema, complaint_definition: dict[str, Any]) -> None:
    complaint_definition["pages"][0]["fields"][1]["required"] = False
    changes = diff_definitions(complaint, load_definition(complaint_definition))
    assert [c.message for c in changes] == ["'name' is no longer required"]
