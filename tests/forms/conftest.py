"""Fixtures for the form language tests: a realistic definition and an HTML-post stand-in."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from forms.definitions import load_definition
from forms.schema import FormSchema

COMPLAINT: dict[str, Any] = {
    "schema_version": 1,
    "title": "Customer complaint",
    "description": "Tell us what went wrong with your order; we answer within two working days.",
    "pages": [
        {
            "key": "details",
            "title": "Your complaint",
            "fields": [
                {"type": "heading", "key": "about_you", "label": "About you"},
                {
                    "type": "short_text",
                    "key": "name",
                    "label": "Your name",
                    "required": True,
                    "max_length": 200,
                    "width": "half",
                },
                {
                    "type": "email",
                    "key": "email",
                    "label": "Email address",
                    "required": True,
                    "width": "half",
                    "help": "We send updates about your complaint to this address.",
                },
                {
                    "type": "short_text",
                    "key": "order_number",
                    "label": "Order number",
                    "required": True,
                    "placeholder": "ORD-123456",
                    "pattern": "ORD-[0-9]{6}",
                    "pattern_message": "Enter the order number as ORD- followed by 6 digits, like ORD-123456.",
                },
                {
                    "type": "single_choice",
                    "key": "severity",
                    "label": "Severity",
                    "required": True,
                    "display": "radio",
                    "default": "medium",
                    "options": [
                        {"label": "Low", "value": "low"},
                        {"label": "Medium", "value": "medium"},
                        {"label": "High", "value": "high"},
                        {"label": "Critical", "value": "critical"},
                    ],
                },
                {
                    "type": "single_choice",
                    "key": "customer_tier",
                    "label": "Customer tier",
                    "default": "standard",
                    "options": [
                        {"label": "Standard", "value": "standard"},
                        {"label": "Silver", "value": "silver"},
                        {"label": "Gold", "value": "gold"},
                    ],
                },
                {
                    "type": "single_choice",
                    "key": "category",
                    "label": "Category",
                    "required": True,
                    "options": [
                        {"label": "Late delivery", "value": "late_delivery"},
                        {"label": "Damaged item", "value": "damaged"},
                        {"label": "Wrong item", "value": "wrong_item"},
                        {"label": "Billing", "value": "billing"},
                        {"label": "Other", "value": "other"},
                    ],
                },
                {
                    "type": "short_text",
                    "key": "other_category",
                    "label": "Which category?",
                    "max_length": 100,
                    "visible_if": {"field": "category", "op": "eq", "value": "other"},
                    "required_if": {"field": "category", "op": "eq", "value": "other"},
                },
                {
                    "type": "long_text",
                    "key": "description",
                    "label": "What happened?",
                    "required": True,
                    "min_length": 20,
                    "max_length": 5000,
                },
                {
                    "type": "file",
                    "key": "attachment",
                    "label": "Photo or document",
                    "help": "A photo of the damage, or the invoice. PDF, PNG or JPEG, up to 10 MB.",
                    "allowed_types": ["application/pdf", "image/png", "image/jpeg"],
                    "max_size": 10485760,
                    "max_count": 3,
                },
            ],
        }
    ],
}

VALID_COMPLAINT: dict[str, Any] = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "order_number": "ORD-123456",
    "severity": "high",
    "customer_tier": "gold",
    "category": "damaged",
    "description": "The parcel arrived crushed and the vase inside is broken.",
}


@pytest.fixture
def complaint_definition() -> dict[str, Any]:
    return copy.deepcopy(COMPLAINT)


@pytest.fixture
def complaint(complaint_definition: dict[str, Any]) -> FormSchema:
    return load_definition(complaint_definition)


@pytest.fixture
def valid_complaint() -> dict[str, Any]:
    return dict(VALID_COMPLAINT)


class Post(dict[str, list[str]]):
    """What an HTML form post looks like to WTForms: every name maps to a list of strings."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__({k: list(v) if isinstance(v, list | tuple) else [v] for k, v in data.items()})

    def getlist(self, key: str) -> list[str]:
        return list(super().get(key, []))

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key)[0]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        values = super().get(key)
        return values[0] if values else default

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.keys()))


@pytest.fixture
def post() -> Callable[[dict[str, Any]], Post]:
    return Post


def single_page(*fields: dict[str, Any], title: str = "Test form") -> dict[str, Any]:
    """A one-page definition around some fields (handy in tests of one property)."""
    return {"schema_version": 1, "title": title, "pages": [{"key": "main", "title": "Main", "fields": list(fields)}]}


@pytest.fixture
def one_page() -> Callable[..., dict[str, Any]]:
    return single_page
