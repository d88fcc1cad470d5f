"""Fixtures for the form language tests: a realistic definition and an HTML-post stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from forms.definitions import load_definition
from forms.schema import FormSchema
from tests.support.complaint import complaint_document
from tests.support.forms import single_page

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
    return complaint_document()


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


@pytest.fixture
def one_page() -> Callable[..., dict[str, Any]]:
    return single_page
