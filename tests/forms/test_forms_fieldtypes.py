"""The field type registry's design-time side: starter fields and the property panel's description."""

from __future__ import annotations

from typing import Any

import pytest

from forms.definitions import load_definition
from forms.fieldtypes import FIELD_TYPES, FieldType
from forms.fieldtypes.panel import CHOICE_SOURCES, EDITORS, PANEL_EDITS_ELSEWHERE, PANEL_ORDER, PROPERTY_KINDS
from forms.properties import PROPERTIES

TYPES = sorted(FIELD_TYPES)


def one_field_form(field: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "title": "T", "pages": [{"key": "p", "title": "P", "fields": [field]}]}


@pytest.mark.parametrize("type_name", TYPES)
def test_every_starter_loads_as_it_is(type_name: str) -> None:
    ftype = FIELD_TYPES[type_name]
    starter = ftype.starter("new_field")
    assert starter["type"] == type_name and starter["key"] == "new_field"
    schema = load_definition(one_field_form(starter))
    assert schema.field("new_field").type == type_name


def test_starters_are_fresh_copies_and_groups_take_the_sub_key() -> None:
    first = FIELD_TYPES["single_choice"].starter("a")
    first["options"].append({"label": "x", "value": "x"})
    assert len(FIELD_TYPES["single_choice"].starter("b")["options"]) == 2
    group = FIELD_TYPES["group"].starter("rows", sub_key="rows_item_2")
    assert [sub["key"] for sub in group["fields"]] == ["rows_item_2"]
    assert FIELD_TYPES["group"].starter("rows")["fields"][0]["key"] == "rows_item"


@pytest.mark.parametrize("type_name", TYPES)
def test_every_type_has_a_readable_key_base(type_name: str) -> None:
    ftype = FIELD_TYPES[type_name]
    assert ftype.key_base and ftype.key_base.isidentifier() and ftype.key_base == ftype.key_base.lower()


@pytest.mark.parametrize("type_name", TYPES)
def test_the_panel_edits_every_allowed_property_once_in_panel_order(type_name: str) -> None:
    ftype = FIELD_TYPES[type_name]
    names = [p.name for p in ftype.editable_properties()]
    assert len(names) == len(set(names))
    assert set(names) == ftype.allowed_properties - PANEL_EDITS_ELSEWHERE
    assert names == [n for n in PANEL_ORDER if n in names]
    assert set(names) <= set(PROPERTIES)  # every edited property is one the schema loads


@pytest.mark.parametrize("type_name", TYPES)
def test_every_editable_property_is_renderable(type_name: str) -> None:
    for prop in FIELD_TYPES[type_name].editable_properties():
        assert prop.kind in PROPERTY_KINDS, prop
        assert prop.label.strip(), prop
        assert prop.choices_from is None or prop.choices_from in CHOICE_SOURCES, prop
        if prop.kind in ("choice", "choices"):
            assert bool(prop.choices) != bool(prop.choices_from), prop  # exactly one source of choices
        if prop.kind == "choices":
            assert prop.choices_from is not None, prop
        if prop.kind == "whole":
            assert prop.minimum is not None, prop
        if prop.initial is not None and prop.choices:
            assert prop.initial in dict(prop.choices), prop


def test_the_panel_order_and_the_common_descriptions_cover_the_schema() -> None:
    assert set(PANEL_ORDER) == set(PROPERTIES) - PANEL_EDITS_ELSEWHERE
    assert set(EDITORS) == set(PANEL_ORDER)


def test_types_describe_properties_the_way_their_values_are_typed() -> None:
    def kinds(type_name: str) -> dict[str, str]:
        return {p.name: p.kind for p in FIELD_TYPES[type_name].editable_properties()}

    assert kinds("date")["min"] == "date" and kinds("decimal")["min"] == "number"
    assert kinds("multi_choice")["default"] == "choices" and kinds("single_choice")["default"] == "choice"
    assert kinds("long_text")["default"] == "multiline" and kinds("short_text")["default"] == "text"
    assert "required" not in kinds("heading") and kinds("file")["max_size"] == "megabytes"
    labels = {p.name: p.label for p in FIELD_TYPES["heading"].editable_properties()}
    assert labels["label"] == "Heading text"


def test_a_type_without_overrides_uses_the_common_descriptions() -> None:
    assert isinstance(FIELD_TYPES["email"], FieldType)
    assert FIELD_TYPES["email"].editable_properties() == tuple(
        EDITORS[n] for n in PANEL_ORDER if n in FIELD_TYPES["email"].allowed_properties
    )
