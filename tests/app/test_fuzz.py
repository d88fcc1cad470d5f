"""The random fuzzer, kept in the suite (issue 11): no input gets a 5xx.

Hypothesis generates answers for every field type of the four packs' forms (valid-looking values and
hostile ones: lone surrogates, NUL and control characters, huge and odd numbers, deep and wrong shapes)
and sends them through the API and the page wizards; it sends random bodies, queries, path ids and
headers to each API route. CI runs a bounded number of examples (CASEWORK_FUZZ_EXAMPLES, default 12 per
fuzzer); `bench/fuzz.py` runs the same fuzzers much longer.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Web
from tests.support.web import token_for

EXAMPLES = int(os.environ.get("CASEWORK_FUZZ_EXAMPLES", "12"))
PACKS_ROOT = Path(__file__).resolve().parents[2] / "packs"
PACKS = ["complaint", "contract", "invoice", "onboarding"]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 50, database=None,
                suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class Raw:
    """A JSON fragment written out as is (numbers JSON allows but Python would not write)."""

    text: str


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


ANY_CHAR = st.characters(exclude_categories=())  # surrogates included: JSON carries them as \udXXX
NASTY_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.sampled_from(["\ud800", "a\x00b", "\u200b\u200d", "\x1b[31m", "-0", "²", "\u0661", "1_0", "+1", "\t/evil",
                     "((a+))+$", "a" * 34 + "!", "<script>alert(1)</script>", "'; DROP TABLE cases;--", "",
                     " ", "\n", "null", "NaN", "9" * 50, "\ufeff", "x" * 5000]),
)
RAW_NUMBERS = st.sampled_from(["-0", "-0.0", "1e999999", "1E-999999", "250000.00000000000001", "9" * 4400,
                               "-" + "9" * 60, "10000.0100000000000000000001", "0.1", "1e2", "123456789012345678"]
                              ).map(Raw)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), NASTY_TEXT,
                    RAW_NUMBERS)
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(NASTY_TEXT, inner, max_size=4)),
                        max_leaves=12)
DEEP = st.integers(min_value=30, max_value=3000).map(lambda n: Raw("[" * n + "]" * n))


def _fields(form: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in form["pages"]:
        for field in page["fields"]:
            out.append(field)
            out.extend(field.get("fields", []))
    return out


FORMS = {slug: json.loads((PACKS_ROOT / slug / "form.json").read_text()) for slug in PACKS}
FIELD_TYPES = sorted({f["type"] for form in FORMS.values() for f in _fields(form)})


def plausible(field: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that look like answers of the field's type (often valid, often just outside)."""
    kind = field["type"]
    options = [o["value"] for o in field.get("options", [])] or ["x"]
    if kind in ("single_choice",):
        return st.sampled_from([*options, "", "nope"])
    if kind == "multi_choice":
        return st.lists(st.sampled_from([*options, "nope"]), max_size=4)
    if kind in ("decimal", "currency", "integer"):
        return st.one_of(st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Raw(str(d))),
                         st.integers(min_value=-(10**20), max_value=10**20), RAW_NUMBERS,
                         st.sampled_from(["1,234.56", "EUR 12", "€5", "-0", "1_0"]))
    if kind in ("date", "datetime"):
        return st.one_of(st.dates().map(str), st.sampled_from(["2026-02-30", "0000-01-01", "9999-12-31", "today"]))
    if kind == "email":
        return st.one_of(st.emails(), st.sampled_from(["a@b", "@", "x@example.com\x00", "a@" + "b" * 300 + ".com"]))
    if kind == "file":
        return st.lists(st.integers(min_value=-5, max_value=2**64), max_size=3)
    return NASTY_TEXT


def answers(slug: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = [f for f in _fields(FORMS[slug]) if f["type"] != "heading"]
    per_field = {f["key"]: st.one_of(plausible(f), ANY_JSON) for f in fields}
    return st.fixed_dictionaries({}, optional={**per_field, "extra_key": ANY_JSON})


@pytest.fixture
def fuzz_app(app: Any) -> Any:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["packs", "import", "--all"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["demo"]).exit_code == 0
    return app


def test_the_packs_cover_these_field_types() -> None:
    """The fuzzer's strategies know every field type the packs use."""
    assert {"short_text", "long_text", "email", "single_choice", "multi_choice", "date", "decimal", "currency",
            "file"} <= set(FIELD_TYPES)


def _no_5xx(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:400])


def test_fuzzing_the_api_and_the_wizards_gives_no_5xx(fuzz_app: Any) -> None:
    client = fuzz_app.test_client()
    requester = token_for(fuzz_app, "requester@example.com")
    agent = token_for(fuzz_app, "agent@example.com")
    auditor = token_for(fuzz_app, "auditor@example.com")
    json_headers = {"Content-Type": "application/json"}
    case_ids = []
    for slug in PACKS:  # one real case per pack, for the routes that work on a case
        samples = json.loads((PACKS_ROOT / slug / "samples.json").read_text())
        data = samples["samples"][0]["data"]
        filed = client.post(f"/api/v1/case-types/{slug}/cases", json={"data": data}, headers=requester)
        if filed.status_code == 201:
            case_ids.append(filed.json["id"])
    assert case_ids

    @FUZZ
    @given(slug=st.sampled_from(PACKS), data=st.one_of(answers("complaint"), answers("contract"),
                                                       answers("invoice"), answers("onboarding")),
           wrap=st.sampled_from(["data", "bare", "deep"]), deep=DEEP)
    def filing(slug: str, data: dict[str, Any], wrap: str, deep: Raw) -> None:
        body = {"data": data} if wrap == "data" else data if wrap == "bare" else {"data": deep}
        response = client.post(f"/api/v1/case-types/{slug}/cases", data=dump(body),
                               headers={**requester, **json_headers})
        _no_5xx(response, f"file {slug}")

    HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30)
    QUERY_KEYS = st.sampled_from(["state", "queue", "assignee", "case_type", "q", "page", "per_page", "status",
                                  "sort", "priority", "overdue", "created_from", "created_to", "scope", "stream",
                                  "field"])
    PATH_IDS = st.one_of(st.integers(min_value=-1, max_value=2**70).map(str),
                         st.sampled_from(["²", "\u0661", "1_0", "+1", "0x10", "%00", "1%00", " 1", "1.0"]),
                         st.sampled_from([str(i) for i in case_ids]))

    @FUZZ
    @given(route=st.sampled_from(["transitions", "comments", "claim", "tasks", "events", "documents", "get"]),
           case_id=PATH_IDS, body=st.one_of(ANY_JSON, DEEP, st.fixed_dictionaries(
               {}, optional={"transition": NASTY_TEXT, "comment": ANY_JSON, "data": ANY_JSON, "version": SCALARS,
                             "body": ANY_JSON, "internal": SCALARS, "task": NASTY_TEXT, "reason": ANY_JSON})),
           if_match=st.one_of(st.none(), HEADER_TEXT), who=st.sampled_from(["agent", "requester"]))
    def case_routes(route: str, case_id: str, body: Any, if_match: str | None, who: str) -> None:
        headers = {**(agent if who == "agent" else requester), **json_headers}
        if if_match is not None:
            headers["If-Match"] = if_match
        path = f"/api/v1/cases/{quote(case_id, safe='%')}"
        if route == "get":
            response = client.get(path, headers=headers)
        elif route in ("events", "documents", "tasks") and body is None:
            response = client.get(f"{path}/{route}", headers=headers)
        else:
            response = client.post(f"{path}/{route}", data=dump(body), headers=headers)
        _no_5xx(response, f"{route} {case_id}")

    @FUZZ
    @given(path=st.sampled_from(["/api/v1/cases", "/api/v1/case-types", "/api/v1/audit/verify", "/api/v1/me",
                                 "/api/v1/users", "/api/v1/case-types/complaint", "/work/", "/audit/",
                                 "/audit/verify"]),
           query=st.dictionaries(QUERY_KEYS, NASTY_TEXT.filter(lambda t: "\ud800" not in t), max_size=4))
    def queries(path: str, query: dict[str, str]) -> None:
        text = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in query.items())
        response = client.get(f"{path}?{text}", headers=auditor)
        _no_5xx(response, f"GET {path}?{text}")

    @FUZZ
    @given(case_type=st.one_of(st.sampled_from(PACKS), NASTY_TEXT), field=st.one_of(
        st.sampled_from(["attachment", "contract_file", "invoice_file", "documents"]), NASTY_TEXT),
           content=st.one_of(st.binary(max_size=300), st.sampled_from([b"<!-- c --><script>x</script>",
                                                                      b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n"])),
           name=HEADER_TEXT)
    def uploads(case_type: str, field: str, content: bytes, name: str) -> None:
        query = f"case_type={quote(case_type.encode('utf-8', 'surrogatepass'))}&field=" \
                f"{quote(field.encode('utf-8', 'surrogatepass'))}"
        response = client.post(f"/api/v1/uploads?{query}", data={"file": (io.BytesIO(content), name or "f")},
                               headers=requester)
        _no_5xx(response, f"upload {query}")

    filing()
    case_routes()
    queries()
    uploads()

    web = Web(fuzz_app.test_client())
    web.login("requester@example.com")
    FORM_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)

    @FUZZ
    @given(slug=st.sampled_from(PACKS), values=st.dictionaries(
        st.sampled_from(sorted({f["key"] for form in FORMS.values() for f in _fields(form)})), FORM_TEXT,
        max_size=12), nav=st.one_of(st.none(), st.sampled_from(["next", "back", "add:rows", "remove:rows:²",
                                                                "remove:rows:99999999999999999999", "unfile:a:1"]),
                                    FORM_TEXT.map(lambda t: "remove:" + t)),
           files=st.lists(st.one_of(st.integers(-3, 2**70).map(str), FORM_TEXT), max_size=3))
    def wizard(slug: str, values: dict[str, str], nav: str | None, files: list[str]) -> None:
        post: dict[str, Any] = {**values, "_page": FORMS[slug]["pages"][0]["key"]}
        if nav is not None:
            post["_nav"] = nav
        if files:
            post["_files-attachment"] = files
        response = web.post(f"/portal/new/{slug}", post)
        _no_5xx(response, f"wizard {slug} {post}")

    wizard()
