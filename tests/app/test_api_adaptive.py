"""The API of adaptive case work: `tasks_available` and `links` on a case, POST /cases/<id>/tasks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.complaint import GOOD, publish_complaint
from tests.support.web import token_for

SAFETY = {"key": "safety_review", "label": "Product-safety review", "who": {"roles": ["agent"]},
          "states": ["in_progress"], "reason_required": True, "queue": "general", "blocks_closing": True}


@pytest.fixture
def api(app: Any, demo_users: Any) -> Any:
    publish_complaint(app, discretionary=[SAFETY])
    client = app.test_client()
    tokens = {who: token_for(app, f"{who}@example.com") for who in ("agent", "requester")}
    return client, tokens


def test_an_agent_sees_and_starts_a_task_of_the_catalogue(api: Any) -> None:
    client, tokens = api
    case = client.post("/api/v1/case-types/complaint/cases", json={"data": GOOD}, headers=tokens["requester"]).json
    url = f"/api/v1/cases/{case['id']}"
    assert client.get(url, headers=tokens["agent"]).json["tasks_available"] == []  # not while New
    assert client.post(f"{url}/tasks", json={"task": "safety_review", "reason": "x"},
                       headers=tokens["agent"]).status_code == 409
    assert client.post(f"{url}/transitions", json={"transition": "start"}, headers=tokens["agent"]).status_code == 200

    detail = client.get(url, headers=tokens["agent"]).json
    assert detail["tasks_available"] == [{"key": "safety_review", "label": "Product-safety review",
                                          "requires_reason": True}]
    assert detail["links"] == []
    assert client.get(url, headers=tokens["requester"]).json["tasks_available"] == []
    assert client.post(f"{url}/tasks", json={"task": "safety_review", "reason": "x"},
                       headers=tokens["requester"]).status_code == 403
    missing = client.post(f"{url}/tasks", json={"task": "safety_review"}, headers=tokens["agent"])
    assert missing.status_code == 422 and "reason" in missing.json["error"]["fields"]

    started = client.post(f"{url}/tasks", json={"task": "safety_review", "reason": "Charger smoked"},
                          headers=tokens["agent"])
    assert started.status_code == 201
    assert (started.json["key"], started.json["status"], started.json["reason"]) == (
        "safety_review", "open", "Charger smoked")
    assert client.post(f"{url}/tasks", json={"task": "safety_review", "reason": "again"},
                       headers=tokens["agent"]).status_code == 409
    refused = client.post(f"{url}/transitions", json={"transition": "resolve", "comment": "Done"},
                          headers=tokens["agent"])
    assert refused.status_code == 409 and "Product-safety review" in refused.get_data(as_text=True)
    done = client.post(f"{url}/tasks/{started.json['id']}/complete", headers=tokens["agent"])
    assert done.status_code == 200
    assert client.post(f"{url}/transitions", json={"transition": "resolve", "comment": "Done"},
                       headers=tokens["agent"]).status_code == 200
