"""The JSON Schema of a form gives the same verdict as forms.validation, on the packs' samples and on bad input.

Values are what a JSON client sends (numbers parsed as Decimal, as the server does); the server's extra
leniency for the text of HTML posts ("12" for a number, "yes" for yes/no) is outside the schema's promise.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from forms.definitions import load_definition
from forms.errors import SubmissionInvalid
from forms.json_schema import form_json_schema, json_numbers
from forms.schema import FieldSpec, FormSchema
from forms.validation import validate_submission

PACKS = Path(__file__).resolve().parents[2] / "packs"
SLUGS = ["complaint", "contract", "invoice", "onboarding"]


def _load(slug: str) -> tuple[FormSchema, list[dict[str, Any]]]:
    form = load_definition(json.loads((PACKS / slug / "form.json").read_text()))
    samples = json.loads((PACKS / slug / "samples.json").read_text(), parse_float=Decimal)["samples"]
    return form, [s["data"] for s in samples]


def _validator(form: FormSchema) -> Draft202012Validator:
    # Through JSON and back, as a client reads it (Decimals as JSON numbers, read back exactly).
    text = json.dumps(json_numbers(form_json_schema(form)))
    schema = json.loads(text, parse_float=Decimal)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _server_accepts(form: FormSchema, data: dict[str, Any]) -> bool:
    try:
        validate_submission(form, data, files={})
    except SubmissionInvalid:
        return False
    return True


def _bad_values(spec: FieldSpec) -> list[Any]:
    """Values a JSON client might send that break the field's rules (and a few that do not)."""
    values: list[Any] = [{"an": "object"}, None, "", [[]]]
    if spec.family == "text":
        values += ["x" * ((spec.max_length or 1000) + 1), "two\nlines" if spec.type != "long_text" else "ok",
                   "nope", "a@b.example", "tab\there", " ORD-123456 ", "bell\x07",
                   "ORD-12345", "PO-1234567", "x" * max((spec.min_length or 1) - 1, 0)]
    if spec.family == "number":
        values += [Decimal("-1"), Decimal("0"), Decimal("0.001"), Decimal("1.234"), Decimal(10) ** 15, "abc",
                   "12.345", "99.99", Decimal("1e3"), 7, True]
    if spec.family == "date":
        values += ["2027-13-45", "01/02/2027", "2027-02-29", "2028-02-29", 20270101]
    if spec.family == "choice":
        values += ["zzz", [spec.options[0].value], spec.options[-1].value, 3]
    if spec.family == "multi":
        values += [["zzz"], [spec.options[0].value, "zzz"], [], spec.options[0].value, [1]]
    if spec.family == "bool":
        values += ["maybe", 1, False]
    return values


@pytest.mark.parametrize("slug", SLUGS)
def test_every_sample_of_every_pack_fits_its_schema(slug: str) -> None:
    form, samples = _load(slug)
    validator = _validator(form)
    for data in samples:
        assert _server_accepts(form, data)
        assert list(validator.iter_errors(data)) == [], data


@pytest.mark.parametrize("slug", SLUGS)
def test_schema_and_server_agree_on_every_bad_input(slug: str) -> None:
    form, samples = _load(slug)
    validator = _validator(form)
    checked = disagreements = refused = 0
    cases: list[dict[str, Any]] = []
    for data in samples:
        for spec in form.fields:
            if not spec.takes_input or spec.family in (None, "file"):
                continue
            missing = dict(data)
            missing.pop(spec.key, None)
            cases.append(missing)
            for value in _bad_values(spec):
                cases.append({**copy.deepcopy(data), spec.key: value})
    mismatches = []
    for case in cases:
        server, schema = _server_accepts(form, case), validator.is_valid(case)
        checked += 1
        refused += not server
        if server != schema:
            disagreements += 1
            mismatches.append((server, schema, case))
    assert mismatches[:3] == [] and disagreements == 0
    assert checked > 100 and refused > checked // 4  # most mutations are bad input, refused by both


def test_the_bad_inputs_of_the_api_tests_are_refused_by_both() -> None:
    from tests.support.complaint import GOOD

    form = load_definition(json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "complaint.form.json")
                                      .read_text()))
    validator = _validator(form)
    assert _server_accepts(form, GOOD) and validator.is_valid(GOOD)
    for bad in ({"severity": "unknown", "order_number": "123"}, {"customer_tier": "platinum"},
                {"description": "short"}, {"email": "nobody"}):
        data = {**GOOD, **bad}
        assert not _server_accepts(form, data) and not validator.is_valid(data), bad


def test_conditional_requiredness_is_if_then() -> None:
    form, samples = _load("complaint")
    validator = _validator(form)
    other = {**samples[0], "category": "other"}
    other.pop("other_category", None)
    assert not _server_accepts(form, other) and not validator.is_valid(other)
    named = {**other, "other_category": "Packaging"}
    assert _server_accepts(form, named) and validator.is_valid(named)
    hidden = {**samples[0], "category": "damaged", "other_category": "x" * 500}  # hidden: ignored by both
    assert _server_accepts(form, hidden) and validator.is_valid(hidden)
    schema = form_json_schema(form)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert any("if" in c and "required" in c["then"] for c in schema["allOf"])
