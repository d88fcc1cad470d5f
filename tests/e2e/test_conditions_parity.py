"""conditions.js and forms/conditions.py agree: every condition case of the form language, run in Chromium on
the real form widgets (rendered by the app's own `form_fields` macro, filled in as a requester would) and
through `forms.conditions.evaluate`, shows or hides the conditional field alike.

The cases are the semantics cases of tests/forms/test_forms_conditions.py and a generated set: every operator
of every family, with an operand of its type, against empty, missing and present answers. It found three
differences, fixed in conditions.js: text compared with lower case instead of casefold (the straße case), a
group's rows were never seen (items not_empty with a row), and an untouched blank row would have counted as
an answer (items empty when nothing was entered, since the page shows one blank row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader
from playwright.sync_api import Browser, Page
from werkzeug.datastructures import MultiDict

from forms.conditions import FAMILY_OPERATORS, UNARY_OPERATORS, evaluate
from forms.definitions import load_definition
from forms.wtf import build_form_class

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "app/static/js/conditions.js").read_text()
MISSING = object()

OPTIONS = {"severity": ["low", "medium", "high", "critical"], "tags": ["red", "green"]}
FIELDS: list[dict[str, Any]] = [
    {"type": "short_text", "key": "name", "label": "Name"},
    {"type": "decimal", "key": "amount", "label": "Amount"},
    {"type": "date", "key": "due", "label": "Due"},
    {"type": "datetime", "key": "at", "label": "At"},
    {"type": "single_choice", "key": "severity", "label": "Severity",
     "options": [{"label": v.title(), "value": v} for v in OPTIONS["severity"]]},
    {"type": "multi_choice", "key": "tags", "label": "Tags",
     "options": [{"label": v.title(), "value": v} for v in OPTIONS["tags"]]},
    {"type": "yes_no", "key": "urgent", "label": "Urgent"},
    {"type": "file", "key": "files", "label": "Files"},
    {"type": "group", "key": "items", "label": "Items",
     "fields": [{"type": "short_text", "key": "what", "label": "What"}]},
]
FAMILIES = {"name": "text", "amount": "number", "due": "date", "at": "datetime", "severity": "choice",
            "tags": "multi", "urgent": "bool", "files": "file", "items": "group"}
FIELD_OF = {family: key for key, family in FAMILIES.items()}
MOMENT = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def clause(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if op in UNARY_OPERATORS else {"field": field, "op": op, "value": value}


Case = tuple[dict[str, Any], dict[str, Any]]


def _existing_cases() -> Iterator[Case]:
    """The semantics section of tests/forms/test_forms_conditions.py, case by case."""
    yield {"all": []}, {}
    yield {"any": []}, {}
    for empty in (None, "", "   ", [], MISSING):
        for op, value in (("eq", "x"), ("neq", "x"), ("in", ["x"]), ("not_in", ["x"]), ("contains", "x"),
                          ("not_contains", "x"), ("empty", None), ("not_empty", None)):
            yield clause("name", op, value), {} if empty is MISSING else {"name": empty}
    for node in (clause("amount", "gt", 0), clause("amount", "lte", 0), clause("amount", "between", [0, 1]),
                 clause("due", "before", "2100-01-01"), clause("at", "after", "2000-01-01T00:00:00+00:00"),
                 clause("urgent", "is_true"), clause("urgent", "is_false"), clause("tags", "contains", "red"),
                 clause("severity", "eq", "low")):
        yield node, {}
        yield node, {node["field"]: None}
    yield clause("name", "eq", " ADA "), {"name": "ada"}
    yield clause("name", "in", ["bob", "Ada"]), {"name": "  ada"}
    yield clause("name", "contains", "LOVE"), {"name": "Ada Lovelace"}
    yield clause("name", "not_contains", "love"), {"name": "Ada Lovelace"}
    yield clause("name", "neq", "bob"), {"name": "ada"}
    yield clause("name", "eq", "straße"), {"name": "STRASSE"}  # casefold, not lower: found by this test
    yield clause("amount", "gt", 10000), {"amount": Decimal("10000.01")}
    yield clause("amount", "gt", "10000.01"), {"amount": Decimal("10000.01")}
    yield clause("amount", "gte", "10000.01"), {"amount": Decimal("10000.010")}
    yield clause("amount", "eq", 3), {"amount": Decimal("3.00")}
    yield clause("amount", "lt", "0.3"), {"amount": Decimal("0.1") + Decimal("0.19")}
    yield clause("amount", "in", [1, 2, 3]), {"amount": 2}
    yield clause("amount", "not_in", [1, 2, 3]), {"amount": 4}
    yield clause("amount", "eq", 0), {"amount": 0}
    for value in (9, 10, 15, 20, 21):
        yield clause("amount", "between", [10, 20]), {"amount": value}
    day = dt.date(2024, 3, 1)
    yield clause("due", "before", "2024-03-02"), {"due": day}
    yield clause("due", "before", "2024-03-01"), {"due": day}
    yield clause("due", "after", "2024-03-01"), {"due": day}
    yield clause("due", "between", ["2024-03-01", "2024-03-01"]), {"due": day}
    yield clause("due", "eq", "2024-03-01"), {"due": day}
    yield clause("at", "after", "2024-05-01T13:59:00+02:00"), {"at": MOMENT}
    yield clause("at", "after", "2024-05-01T14:00:00+02:00"), {"at": MOMENT}
    yield clause("at", "between", ["2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"]), {"at": MOMENT}
    yield clause("severity", "eq", "high"), {"severity": "high"}
    yield clause("severity", "not_in", ["low"]), {"severity": "high"}
    yield clause("tags", "contains", "red"), {"tags": ["green", "red"]}
    yield clause("tags", "contains", "red"), {"tags": ["green"]}
    yield clause("tags", "not_contains", "red"), {"tags": []}
    yield clause("urgent", "is_true"), {"urgent": True}
    yield clause("urgent", "is_true"), {"urgent": False}
    yield clause("urgent", "is_false"), {"urgent": False}
    yield clause("urgent", "not_empty"), {"urgent": False}
    yield clause("files", "empty"), {"files": []}
    yield clause("items", "not_empty"), {"items": [{"what": "a"}]}  # rows are answers: found by this test
    either = {"any": [clause("name", "eq", "x"), clause("name", "eq", "y")]}
    node = {"all": [clause("amount", "gt", 5), {"not": either}]}
    yield node, {"amount": 6, "name": "z"}
    yield node, {"amount": 6, "name": "Y"}
    yield node, {"amount": 5, "name": "z"}
    yield clause("amount", "gt", 10000), {"amount": "10000.01"}
    yield clause("due", "before", "2024-03-02"), {"due": "2024-03-01"}


# Per family: an operand for each kind of operator, and answers below, at and above it.
OPERANDS: dict[str, dict[str, Any]] = {
    "text": {"single": "Ada", "list": ["ada", "Bob"]},
    "number": {"single": 10, "list": [10, "12.5"], "range": [10, 20]},
    "date": {"single": "2024-03-01", "range": ["2024-03-01", "2024-03-31"]},
    "datetime": {"single": "2024-05-01T12:00:00+00:00", "range": ["2024-05-01T12:00:00Z", "2024-05-02T00:00:00Z"]},
    "choice": {"single": "high", "list": ["high", "critical"]},
    "multi": {"single": "red"},
}
ANSWERS: dict[str, list[Any]] = {
    "text": ["ada", " ADA ", "Ada Lovelace", "bob", "zed"],
    "number": [9, 10, Decimal("12.5"), 20, Decimal("20.01")],
    "date": [dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2024, 3, 31), dt.date(2024, 4, 1)],
    "datetime": [MOMENT - dt.timedelta(minutes=1), MOMENT, dt.datetime(2024, 5, 2, tzinfo=dt.UTC),
                 dt.datetime(2024, 5, 2, 0, 1, tzinfo=dt.UTC)],
    "choice": ["low", "high", "critical"],
    "multi": [["red"], ["green"], ["green", "red"]],
    "bool": [True, False],
    "file": [["a.pdf"]],
    "group": [[{"what": "a"}], [{"what": "a"}, {"what": "b"}]],
}
EMPTIES: dict[str, list[Any]] = {
    "text": [None, "", "   ", MISSING], "number": [None, "", MISSING], "date": [None, "", MISSING],
    "datetime": [None, "", MISSING], "choice": [None, "", MISSING], "multi": [None, [], MISSING],
    "bool": [None, MISSING], "file": [[], MISSING], "group": [[], MISSING],
}


def _operand(family: str, op: str) -> Any:
    if op in ("in", "not_in"):
        return OPERANDS[family]["list"]
    if op == "between":
        return OPERANDS[family]["range"]
    return OPERANDS[family]["single"]


def _generated_cases() -> Iterator[Case]:
    """Every operator of every family x an operand of its type x empty, missing and present answers."""
    for family, operators in sorted(FAMILY_OPERATORS.items()):
        key = FIELD_OF[family]
        for op in sorted(operators):
            node = clause(key, op, None if op in UNARY_OPERATORS else _operand(family, op))
            for answer in EMPTIES[family] + ANSWERS[family]:
                yield node, {} if answer is MISSING else {key: answer}


def _posted(values: dict[str, Any]) -> tuple[MultiDict[str, str], list[str]]:
    """The answers as the inputs hold them once typed (the form's time zone and the browser's are UTC),
    and the file fields that get a file."""
    posted: MultiDict[str, str] = MultiDict()
    files = []
    for key, value in values.items():
        family = FAMILIES[key]
        if value is None or value == []:
            continue
        if family == "file":
            files.append(key)
        elif family == "group":
            for index, row in enumerate(value):
                for name, cell in row.items():
                    posted.add(f"{key}-{index}-{name}", cell)
        elif family == "multi":
            for item in value:
                posted.add(key, item)
        elif family == "bool":
            posted.add(key, "true" if value else "false")
        elif isinstance(value, dt.datetime):
            posted.add(key, value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M"))
        elif isinstance(value, dt.date):
            posted.add(key, value.isoformat())
        else:
            posted.add(key, str(value))
    return posted, files


MACROS = Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=True).get_template("_formfields.html")


def _page_html(cond: dict[str, Any], values: dict[str, Any]) -> tuple[str, list[str]]:
    target = {"type": "short_text", "key": "target", "label": "Shown when the condition holds", "visible_if": cond}
    schema = load_definition({"schema_version": 1, "title": "Parity",
                              "pages": [{"key": "p", "title": "P", "fields": [*FIELDS, target]}]})
    posted, files = _posted(values)
    form = build_form_class(schema)(formdata=posted)
    fields = MACROS.module.form_fields(form)  # type: ignore[attr-defined]
    return f"<!doctype html><form>{fields}</form><script>{SCRIPT}</script>", files


def _shown_in_chromium(page: Page, cond: dict[str, Any], values: dict[str, Any]) -> bool:
    html, files = _page_html(cond, values)
    page.set_content(html)
    for key in files:  # a file input cannot be filled from markup; choosing one fires change, as a person does
        page.set_input_files(f"#field-{key}", files=[{"name": "a.pdf", "mimeType": "application/pdf",
                                                     "buffer": b"%PDF-1.4"}])
    return not page.locator("#wrap-target").evaluate("element => element.hidden")


def _describe(cond: dict[str, Any], values: dict[str, Any]) -> str:
    return f"{cond} on {values!r}"


@pytest.fixture(scope="module")
def form_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(timezone_id="UTC")
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize(("name", "cases"), [("existing", _existing_cases), ("generated", _generated_cases)])
def test_the_browser_shows_a_conditional_field_exactly_when_the_server_does(
    form_page: Page, name: str, cases: Any
) -> None:
    disagreements = []
    count = 0
    for cond, values in cases():
        count += 1
        server = evaluate(cond, values, FAMILIES)
        browser = _shown_in_chromium(form_page, cond, values)
        if browser != server:
            disagreements.append(f"server {server}, browser {browser}: {_describe(cond, values)}")
    assert count > (50 if name == "existing" else 300)
    assert not disagreements, "\n".join(disagreements)
