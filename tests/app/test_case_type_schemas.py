"""GET /api/v1/case-types/<slug>/schema.json and /openapi.json on the four packs, against the server itself."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.support.web import token_for

PACKS = ["complaint", "contract", "invoice", "onboarding"]


@pytest.fixture
def packs_client(app: Any) -> Any:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["packs", "import", "--all"]).exit_code == 0
    return app, app.test_client(), {r: token_for(app, f"{r}@example.com") for r in ("requester", "auditor", "agent")}


def _samples(app: Any, slug: str) -> list[dict[str, Any]]:
    from pathlib import Path

    path = Path(app.config["PACKS_DIR"]) / slug / "samples.json"
    return [s["data"] for s in json.loads(path.read_text(), parse_float=Decimal)["samples"]]


def test_each_case_type_has_a_schema_that_fits_the_server(packs_client: Any) -> None:
    app, client, tokens = packs_client
    for slug in PACKS:
        response = client.get(f"/api/v1/case-types/{slug}/schema.json", headers=tokens["requester"])
        assert response.status_code == 200 and response.mimetype == "application/schema+json"
        schema = json.loads(response.get_data(as_text=True), parse_float=Decimal)
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/api/v1/case-types/{slug}/schema.json")
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for data in _samples(app, slug):
            assert validator.is_valid(data), (slug, data)
            first_key = next(iter(data))
            for bad in ({**data, first_key: {"not": "text"}}, {k: v for k, v in data.items() if k != first_key}):
                filed = client.post(f"/api/v1/case-types/{slug}/cases", data=json.dumps({"data": bad}, default=str),
                                    content_type="application/json", headers=tokens["requester"])
                assert filed.status_code == 422 and not validator.is_valid(bad), (slug, bad)
            filed = client.post(f"/api/v1/case-types/{slug}/cases", data=json.dumps({"data": data}, default=str),
                                content_type="application/json", headers=tokens["requester"])
            assert filed.status_code == 201, filed.json


def test_each_case_type_has_a_typed_openapi_document(packs_client: Any) -> None:
    _app, client, tokens = packs_client
    for slug in PACKS:
        doc = client.get(f"/api/v1/case-types/{slug}/openapi.json", headers=tokens["agent"]).json
        validate(doc)
        filing = doc["paths"][f"/case-types/{slug}/cases"]["post"]
        assert filing["operationId"] == f"file_{slug}"
        body = filing["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        data_ref = doc["components"]["schemas"][body]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert doc["components"]["schemas"][data_ref]["properties"]
        transition = doc["paths"]["/cases/{case_id}/transitions"]["post"]
        assert transition["operationId"] == f"transition_{slug}_case"


def test_who_may_read_the_case_type_documents(packs_client: Any) -> None:
    _app, client, tokens = packs_client
    assert client.get("/api/v1/case-types/complaint/schema.json").status_code == 401
    assert client.get("/api/v1/case-types/nope/schema.json", headers=tokens["requester"]).status_code == 404
    assert client.get("/api/v1/case-types/nope/openapi.json", headers=tokens["auditor"]).status_code == 404
    assert client.get("/api/v1/case-types/invoice/openapi.json", headers=tokens["auditor"]).status_code == 200
