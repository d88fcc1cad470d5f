"""The OpenAPI 3.1 document: valid, generated from the routes (none missing), and what the routes enforce."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from tests.support.complaint import GOOD


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)[len("/api/v1"):]


def test_the_document_is_valid_openapi_3_1_and_public(client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.json
    validate(doc)
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "/api/v1"}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearerAuth"]
        ["description"]}
    error = doc["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "fields"} and set(error["required"]) == {"code", "message"}
    listing = doc["paths"]["/cases"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"page", "per_page", "state", "queue", "assignee", "q"}
    page = doc["components"]["schemas"]["Page_CaseOut_"]
    assert set(page["required"]) == {"items", "total", "page", "per_page"}
    assert listing["responses"]["401"]["$ref"] == "#/components/responses/Error"
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    filing = doc["paths"]["/case-types/{slug}/cases"]["post"]
    body = doc["components"]["schemas"]["FilingBody"]
    assert filing["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/FilingBody"}
    assert body["properties"]["data"]["examples"]  # examples come from the models


def test_every_api_url_rule_is_in_the_document(app: Any) -> None:
    """The document is built from the routes: a route added without @operation fails here."""
    with app.test_request_context():
        doc = app.test_client().get("/api/v1/openapi.json").json
    rules = [(r.rule, m.lower()) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
             for m in r.methods if m not in ("HEAD", "OPTIONS")]
    assert len(rules) >= 19
    missing = [(rule, method) for rule, method in rules if method not in doc["paths"].get(_openapi_path(rule), {})]
    assert missing == []
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == {(_openapi_path(rule), method) for rule, method in rules}


def test_routes_parse_their_bodies_through_the_documented_models(complaint_app: Any) -> None:
    from tests.support.web import token_for

    client = complaint_app.test_client()
    requester = token_for(complaint_app, "requester@example.com")
    typo = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD, "dta": {}}, headers=requester)
    assert typo.status_code == 422 and set(typo.json["error"]["fields"]) == {"dta"}
    case_id = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD}, headers=requester).json["id"]
    wrong = client.post(f"/api/v1/cases/{case_id}/comments", json={"body": "hi", "internal": "yes"}, headers=requester)
    assert wrong.status_code == 422 and set(wrong.json["error"]["fields"]) == {"internal"}
    no_key = client.post(f"/api/v1/cases/{case_id}/transitions", json={"transition": 5}, headers=requester)
    assert no_key.status_code == 422 and set(no_key.json["error"]["fields"]) == {"transition"}
    assert client.get("/api/v1/cases?per_page=0", headers=requester).json["error"]["fields"] == {
        "per_page": ["Input should be greater than or equal to 1"]}
    assert client.get("/api/v1/cases?status=maybe", headers=requester).status_code == 400
    assert client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_the_headers_the_api_reads_and_answers_are_described(client: Any) -> None:
    """If-Match (412/428), If-None-Match and ETag (304), Idempotency-Key: in the document where the routes use them."""
    doc = client.get("/api/v1/openapi.json").json
    paths = doc["paths"]

    def headers(path: str, method: str) -> dict[str, bool]:
        return {p["name"]: p["required"] for p in paths[path][method].get("parameters", []) if p["in"] == "header"}

    read = paths["/cases/{case_id}"]["get"]
    assert headers("/cases/{case_id}", "get") == {"If-None-Match": False}
    assert "304" in read["responses"] and "ETag" in read["responses"]["200"]["headers"]
    assert headers("/cases/{case_id}/data", "patch")["If-Match"] is True  # 428 without it
    assert headers("/cases/{case_id}/assign", "post") == {"If-Match": False}
    assert headers("/case-types/{slug}/cases", "post") == {"Idempotency-Key": False}
    assert "Idempotency-Key" in headers("/cases/{case_id}/comments", "post")
