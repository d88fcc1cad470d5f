"""The one input layer for the API and the pages: strict JSON, ids, flags and text, before any route runs.

The rules themselves live in the domain (``forms/text.py`` for text, ``cases/inputs.py`` for ids and
flags); this module applies them to what HTTP brings: path segments, query strings, form posts, headers
and JSON bodies. Bad input is a 400 (cannot be read) or a 422 (read, but not acceptable) that names the
part at fault, never a 500.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from flask import Flask, Request, request
from werkzeug.routing import IntegerConverter

from case_types.errors import ValidationFailed
from cases.errors import InvalidQuery
from cases.inputs import MAX_ID, parse_id
from forms.text import find_bad_text, text_problem

__all__ = [
    "MAX_JSON_DEPTH", "IdConverter", "JSONInputError", "StrictRequest", "init_inputs", "json_flag", "json_object",
    "parse_id", "parse_json",
]

MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 40  # far more than any amount or count; bounds int() and Decimal() work
_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET_RE = re.compile(r"[\[\]{}]")


class JSONInputError(ValueError):
    """A JSON body that cannot be read; the message says why in plain words."""


def _depth(text: str) -> int:
    deepest = depth = 0
    for bracket in _BRACKET_RE.findall(_STRING_RE.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise JSONInputError(f"A number in the body has more than {MAX_NUMBER_DIGITS} digits.")
    return int(text)


def _decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise JSONInputError(f"A number in the body has more than {MAX_NUMBER_DIGITS} digits.")
    return Decimal(text)


def _constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number; send a number or null.")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONInputError(f"The name {key!r} appears twice in one object.")
        out[key] = value
    return out


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: UTF-8, at most MAX_JSON_DEPTH levels, numbers as int or Decimal (never float),
    no NaN/Infinity, no repeated names. Raises JSONInputError."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONInputError("The body is not UTF-8 text.") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise JSONInputError(f"The body is nested more than {MAX_JSON_DEPTH} levels deep.")
    try:
        return json.loads(data, parse_int=_int, parse_float=_decimal, parse_constant=_constant,
                          object_pairs_hook=_pairs)
    except JSONInputError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JSONInputError(f"The body is not valid JSON ({exc}).") from None


class _StrictJSON:
    """What werkzeug's Request.get_json calls: the strict parser, for every route that reads JSON."""

    @staticmethod
    def loads(data: bytes | str, **_kw: Any) -> Any:
        return parse_json(data)

    @staticmethod
    def dumps(obj: Any, **kw: Any) -> str:
        return json.dumps(obj, **kw)


class StrictRequest(Request):
    json_module = _StrictJSON  # type: ignore[assignment]

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        raise InvalidQuery(str(e) if e else "Send a JSON body.", {"body": [str(e) if e else "Expected JSON."]})


def json_object() -> dict[str, Any]:
    """The request's JSON object, read strictly; its texts follow the text rule (422 naming the field)."""
    if not request.is_json:
        raise InvalidQuery("Send a JSON object with Content-Type: application/json.",
                           {"body": ["Expected a JSON object."]})
    try:
        body = parse_json(request.get_data(cache=True))
    except JSONInputError as exc:
        raise InvalidQuery(str(exc), {"body": [str(exc)]}) from None
    if not isinstance(body, dict):
        raise InvalidQuery("Send a JSON object with Content-Type: application/json.",
                           {"body": ["Expected a JSON object."]})
    bad = find_bad_text(body)
    if bad:
        where, problem = bad
        raise ValidationFailed(f"{where}: {problem}", {where: [problem]})
    return body


def json_flag(body: dict[str, Any], name: str, default: bool = False) -> bool:
    """A yes/no member of a JSON body: only true or false count ("false" the string is refused)."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValidationFailed(f"'{name}' must be true or false.", {name: ["Expected true or false."]})
    return value


class IdConverter(IntegerConverter):
    """Path ids: ASCII digits only (no superscripts, no other scripts' digits), at most MAX_ID;
    anything else is a 404."""

    regex = r"[0-9]{1,30}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _refuse_bad_text() -> None:
    """NUL, other control characters and broken Unicode in the path or the query string: a 400;
    NUL in a posted field: a 400 (the pages' own checks word the other control characters)."""
    problem = text_problem(request.path, multiline=False)
    if problem:
        raise InvalidQuery(f"The address: {problem}", {"path": [problem]})
    for name, value in request.args.items(multi=True):
        problem = text_problem(name, multiline=False) or text_problem(value, multiline=False)
        if problem:
            raise InvalidQuery(f"The parameter '{name[:40]}': {problem}", {name[:40]: [problem]})
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        for name, value in request.form.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise InvalidQuery(f"The field '{name[:40]}' contains a NUL character; remove it.",
                                   {name[:40]: ["Contains a NUL character; remove it."]})


def init_inputs(app: Flask) -> None:
    """Install the input layer on an app: call before the blueprints are registered."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter
    app.request_class = StrictRequest
    app.before_request(_refuse_bad_text)

