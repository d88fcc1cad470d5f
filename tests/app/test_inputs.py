"""One input layer: every bad input gets a clear 4xx, nothing is silently changed (issue 11, findings 4, 6, 9)."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Web
from tests.support.complaint import FIXTURES, GOOD, complaint_with_fields, publish_complaint
from tests.support.web import token_for

PACKS = Path(__file__).resolve().parents[2] / "packs"
FILE = "/api/v1/case-types/complaint/cases"


AMOUNT = {"type": "currency", "key": "amount", "label": "Amount", "currency": "EUR"}
SCORE = {"type": "decimal", "key": "score", "label": "Score"}


@pytest.fixture
def api(app: Any, demo_users: Any) -> tuple[Any, dict[str, dict[str, str]]]:
    publish_complaint(app, form=complaint_with_fields(AMOUNT, SCORE))
    tokens = {who: token_for(app, f"{who}@example.com") for who in ("admin", "agent", "requester")}
    return app.test_client(), tokens


def _post_raw(client: Any, path: str, text: str, headers: dict[str, str]) -> Any:
    return client.post(path, data=text.encode(), headers={**headers, "Content-Type": "application/json"})


def _filed(client: Any, token: dict[str, str], **data: Any) -> Any:
    return client.post(FILE, json={"data": {**GOOD, **data}}, headers=token)


# ------------------------------------------------------------------------------ strict JSON


def test_deeply_nested_json_is_a_400_not_a_recursion_error(api: Any) -> None:
    client, tokens = api
    for depth in (33, 1000, 100_000):
        response = _post_raw(client, FILE, "[" * depth + "]" * depth, tokens["requester"])
        assert response.status_code == 400, depth
        assert "nested more than 32 levels" in response.json["error"]["message"]


def test_a_huge_integer_is_named_as_such(api: Any) -> None:
    client, tokens = api
    body = '{"data": {"amount": ' + "9" * 4301 + "}}"
    response = _post_raw(client, FILE, body, tokens["requester"])
    assert response.status_code == 400
    assert "more than 40 digits" in response.json["error"]["message"]
    assert "Expected a JSON object" not in json.dumps(response.json)


@pytest.mark.parametrize("bad", ['{"data": NaN}', '{"data": {"amount": Infinity}}', '{"a": 1, "a": 2}',
                                 '{"data": {}', b"\xff\xfe{}".decode("latin-1")])
def test_json_that_is_not_strict_json_is_a_400(api: Any, bad: str) -> None:
    client, tokens = api
    assert _post_raw(client, FILE, bad, tokens["requester"]).status_code == 400


def test_json_numbers_are_read_as_written_never_as_floats(api: Any) -> None:
    """250000.00000000000001 used to become 250000.0; now it keeps its digits, so the 2-place rule sees it."""
    client, tokens = api
    text = json.dumps({"data": {**GOOD}})[:-2] + ', "amount": 10000.0100000000000000000001}}'
    response = _post_raw(client, FILE, text, tokens["requester"])
    assert response.status_code == 422
    assert response.json["error"]["fields"]["amount"] == ["Use at most 2 decimal places."]
    text = json.dumps({"data": {**GOOD}})[:-2] + ', "score": 250000.00000000000001}}'
    response = _post_raw(client, FILE, text, tokens["requester"])
    assert response.status_code == 422 and "decimal places" in response.json["error"]["fields"]["score"][0]
    text = json.dumps({"data": {**GOOD}})[:-2] + ', "score": 250000.0000000001}}'
    response = _post_raw(client, FILE, text, tokens["requester"])
    assert response.status_code == 201
    detail = client.get(f"/api/v1/cases/{response.json['id']}", headers=tokens["agent"]).json
    assert Decimal(str(detail["data"]["score"])) == Decimal("250000.0000000001")


def test_minus_zero_is_stored_as_zero(api: Any) -> None:
    client, tokens = api
    for raw in ("-0", "-0.00"):
        case = _filed(client, tokens["requester"], amount=raw, score=raw).json
        detail = client.get(f"/api/v1/cases/{case['id']}", headers=tokens["agent"]).json
        assert not str(detail["data"]["amount"]).startswith("-")
        assert not str(detail["data"]["score"]).startswith("-")
    text = json.dumps({"data": {**GOOD}})[:-2] + ', "score": -0.0}}'
    case = _post_raw(client, FILE, text, tokens["requester"]).json
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=tokens["agent"]).json
    assert not str(detail["data"]["score"]).startswith("-")


# ------------------------------------------------------------------------------ text


def test_lone_surrogates_in_case_text_and_comments_are_a_422(api: Any) -> None:
    client, tokens = api
    text = json.dumps({"data": {**GOOD}})[:-2] + ', "other_category": "x\\ud800y"}}'
    response = _post_raw(client, FILE, text, tokens["requester"])
    assert response.status_code == 422
    assert "data.other_category" in response.json["error"]["fields"]
    case = _filed(client, tokens["requester"]).json
    response = _post_raw(client, f"/api/v1/cases/{case['id']}/comments", '{"body": "hi \\udfff"}',
                         tokens["agent"])
    assert response.status_code == 422 and "body" in response.json["error"]["fields"]


@pytest.mark.parametrize("text", ["a\\u0000b", "a\\u0007b", "\\u001b[31mred"])
def test_nul_and_control_characters_in_comments_are_refused(api: Any, text: str) -> None:
    client, tokens = api
    case = _filed(client, tokens["requester"]).json
    response = _post_raw(client, f"/api/v1/cases/{case['id']}/comments", '{"body": "' + text + '"}',
                         tokens["agent"])
    assert response.status_code == 422


def test_nul_in_filters_slugs_and_streams_is_a_400(api: Any) -> None:
    client, tokens = api
    agent = tokens["agent"]
    for path in ("/api/v1/cases?q=%00", "/api/v1/cases?state=a%00b", "/api/v1/case-types/a%00b",
                 "/api/v1/cases?assignee=x%00@example.com", "/api/v1/audit/verify?stream=case:1%00"):
        headers = tokens["admin"] if "audit" in path else agent
        response = client.get(path, headers=headers)
        assert response.status_code == 400, path
        assert response.json["error"]["message"]


def test_nul_in_a_page_comment_is_refused(api: Any) -> None:
    client, tokens = api
    case = _filed(client, tokens["requester"]).json
    web = Web(client)
    web.login("requester@example.com")
    response = web.post(f"/portal/cases/{case['id']}/comments", {"body": "hello\x00there"})
    assert response.status_code == 400
    response = web.post(f"/portal/cases/{case['id']}/comments", {"body": "hello\x1bthere"})
    assert response.status_code in (400, 422)


def test_definition_labels_with_broken_unicode_are_refused(app: Any, demo_users: Any) -> None:
    from app.extensions import db
    from case_types.errors import ValidationFailed
    from cases import accounts, definitions

    document = json.loads((FIXTURES / "complaint.form.json").read_text())
    document["pages"][0]["fields"][1]["label"] = "Name \ud800"
    with app.app_context():
        admin = accounts.find_user(db.session, "admin@example.com")
        with pytest.raises(ValidationFailed) as caught:
            definitions.create(db.session, "form", slug="complaint", title="C", actor=admin, document=document)
        assert "pages[0].fields[1].label" in caught.value.fields
        raw = json.dumps(document).encode()  # the escape \ud800 in an imported file
        with pytest.raises(ValidationFailed):
            definitions.import_document(db.session, "form", raw, slug="imported", actor=admin)
        assert definitions.find_definition(db.session, "form", "imported") is None


def test_zero_width_characters_do_not_fill_a_required_field(api: Any) -> None:
    client, tokens = api
    response = _filed(client, tokens["requester"], name="\u200b\u200d\ufeff ")
    assert response.status_code == 422
    assert response.json["error"]["fields"]["name"] == ["This field is required."] or \
        "required" in response.json["error"]["fields"]["name"][0].lower()


# ------------------------------------------------------------------------------ ids and flags


def test_path_ids_out_of_range_or_not_ascii_are_404(api: Any) -> None:
    client, tokens = api
    for raw in (str(2**31), str(2**63), str(2**64 + 5), "9" * 30, "%C2%B2", "%D9%A1", "0"):
        response = client.get(f"/api/v1/cases/{raw}", headers=tokens["agent"])
        assert response.status_code == 404, raw
    assert client.get(f"/api/v1/cases/{2**31 - 1}", headers=tokens["agent"]).status_code == 404


def test_if_match_must_be_a_version_number(api: Any) -> None:
    client, tokens = api
    case = _filed(client, tokens["requester"]).json
    for value in ('"²"', '"\u0661"', '"-1"', f'"{2**70}"', "soon"):
        response = client.post(f"/api/v1/cases/{case['id']}/claim", headers={**tokens["agent"], "If-Match": value})
        assert response.status_code == 400, value
        assert "If-Match" in response.json["error"]["fields"]


def test_internal_must_be_a_json_boolean(api: Any) -> None:
    client, tokens = api
    case = _filed(client, tokens["requester"]).json
    for value in ("false", "true", 0, 1, None):
        response = client.post(f"/api/v1/cases/{case['id']}/comments", json={"body": "Hi", "internal": value},
                               headers=tokens["agent"])
        assert response.status_code == 422, value
        assert "internal" in response.json["error"]["fields"]
    response = client.post(f"/api/v1/cases/{case['id']}/comments", json={"body": "Hi", "internal": False},
                           headers=tokens["agent"])
    assert response.status_code == 201 and response.json["internal"] is False


def _upload(client: Any, token: dict[str, str]) -> int:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    response = client.post("/api/v1/uploads?case_type=complaint&field=attachment",
                           data={"file": (io.BytesIO(png), "photo.png")}, headers=token)
    assert response.status_code == 201
    return int(response.json["id"])


def test_unknown_foreign_or_oversized_upload_ids_are_field_errors(api: Any, app: Any) -> None:
    from app.extensions import db
    from cases import accounts
    from cases.models import Role

    client, tokens = api
    with app.app_context():
        accounts.create_user(db.session, email="other@example.com", name="Other", password="casework-demo-2",
                             roles=[Role.REQUESTER])
    other = token_for(app, "other@example.com")
    foreign = _upload(client, other)
    for ids in ([999_999], [foreign], [2**31], [2**63], [True], [-1], [0]):
        response = _filed(client, tokens["requester"], attachment=ids)
        assert response.status_code == 422, ids
        assert "attachment" in response.json["error"]["fields"], ids
    mine = _upload(client, tokens["requester"])
    assert _filed(client, tokens["requester"], attachment=[mine]).status_code == 201
    # used once: the same id again is refused, not silently dropped
    assert _filed(client, tokens["requester"], attachment=[mine]).status_code == 422


@pytest.mark.parametrize("hidden", [("_files-attachment", "²"), ("_files-attachment", str(2**63)),
                                    ("_files-attachment", "99999"), ("_files-attachment", str(2**31)),
                                    ("_nav", "remove:rows:²"),
                                    ("_nav", f"remove:rows:{2**70}"), ("_nav", "unfile:attachment:²")])
def test_wizard_hidden_inputs_never_cause_a_500(api: Any, hidden: tuple[str, str]) -> None:
    client, _tokens = api
    web = Web(client)
    web.login("requester@example.com")
    name, value = hidden
    response = web.post("/portal/new/complaint", {**GOOD, "_page": "details", name: value})
    assert response.status_code in (200, 303, 422), response.status_code
    if name == "_files-attachment":
        assert response.status_code == 422
        assert "upload the file again" in response.get_data(as_text=True)


def test_paging_accepts_only_plain_digits(api: Any) -> None:
    client, tokens = api
    for raw in ("1_0", "+1", "%D9%A1", " 1", "0"):
        response = client.get(f"/api/v1/cases?page={raw}", headers=tokens["agent"])
        assert response.status_code == 400, raw
        assert "page" in response.json["error"]["fields"]
    assert client.get("/api/v1/cases?page=1", headers=tokens["agent"]).status_code == 200


# ------------------------------------------------------------------------------ packs


def test_a_pack_zip_with_a_bad_crc_is_refused_cleanly() -> None:
    from case_types.errors import ValidationFailed
    from cases.seed import packs

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in packs.FILES:
            archive.writestr(name, (PACKS / "complaint" / name).read_bytes())
    raw = bytearray(buffer.getvalue())
    body = (PACKS / "complaint" / "pack.json").read_bytes()
    at = bytes(raw).index(body[:40])
    raw[at + 5] ^= 0x01  # one flipped bit in a stored member: its CRC no longer matches
    with pytest.raises(ValidationFailed) as caught:
        packs.read_zip(bytes(raw))
    assert "damaged" in caught.value.message
