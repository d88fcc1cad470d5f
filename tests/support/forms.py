"""Small form definitions the form-language tests and the web layer's post tests share."""

from __future__ import annotations

from typing import Any


def single_page(*fields: dict[str, Any], title: str = "Test form") -> dict[str, Any]:
    """A one-page definition around some fields (handy in tests of one property)."""
    return {"schema_version": 1, "title": title, "pages": [{"key": "main", "title": "Main", "fields": list(fields)}]}


def order_form_document() -> dict[str, Any]:
    """An order: shipping, a group of item rows (a gift message only for gifts, a line total) and a total."""
    return single_page(
        {"type": "currency", "key": "shipping", "label": "Shipping", "currency": "EUR"},
        {
            "type": "group",
            "key": "items",
            "label": "Items",
            "min_rows": 1,
            "max_rows": 3,
            "fields": [
                {"type": "short_text", "key": "item", "label": "Item", "required": True},
                {"type": "integer", "key": "qty", "label": "Quantity", "min": 1, "default": 1},
                {"type": "currency", "key": "price", "label": "Price", "currency": "EUR", "required": True},
                {"type": "yes_no", "key": "gift", "label": "Gift?"},
                {
                    "type": "short_text",
                    "key": "message",
                    "label": "Gift message",
                    "required": True,
                    "visible_if": {"field": "gift", "op": "is_true"},
                },
                {"type": "calculated", "key": "line", "label": "Line total", "expression": "qty * price"},
            ],
        },
        {
            "type": "calculated",
            "key": "total",
            "label": "Total",
            "expression": "sum(items.line) + shipping",
            "decimals": 2,
        },
    )
