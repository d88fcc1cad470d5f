"""Idempotency-Key: a retried POST never files twice, even when 20 copies arrive at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from cases.models import Case, IdempotencyKey
from tests.support.complaint import GOOD
from tests.support.web import token_for

URL = "/api/v1/case-types/complaint/cases"


@pytest.fixture
def api(complaint_app: Any) -> Any:
    tokens = {who: token_for(complaint_app, f"{who}@example.com") for who in ("requester", "agent", "admin")}
    return complaint_app, tokens


def _cases(app: Any) -> int:
    with app.app_context():
        try:
            return int(db.session.scalar(select(func.count()).select_from(Case)) or 0)
        finally:
            db.session.remove()


def test_a_retry_gets_the_first_answer_and_files_nothing(api: Any) -> None:
    app, tokens = api
    client = app.test_client()
    headers = {**tokens["requester"], "Idempotency-Key": "order-4711"}
    first = client.post(URL, json={"data": GOOD}, headers=headers)
    again = client.post(URL, json={"data": GOOD}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _cases(app) == 1
    other_body = client.post(URL, json={"data": {**GOOD, "severity": "low"}}, headers=headers)
    assert other_body.status_code == 422 and other_body.json["error"]["code"] == "idempotency_key_reused"
    # Keys are per user; without a key every POST files.
    assert client.post(URL, json={"data": GOOD},
                       headers={**tokens["admin"], "Idempotency-Key": "order-4711"}).status_code == 403
    assert client.post(URL, json={"data": GOOD}, headers=tokens["requester"]).status_code == 201
    assert _cases(app) == 2


def test_refusals_are_replayed_too_and_bad_keys_are_400(api: Any) -> None:
    app, tokens = api
    client = app.test_client()
    headers = {**tokens["requester"], "Idempotency-Key": "bad-one"}
    bad = client.post(URL, json={"data": {**GOOD, "severity": "unknown"}}, headers=headers)
    assert bad.status_code == 422
    again = client.post(URL, json={"data": {**GOOD, "severity": "unknown"}}, headers=headers)
    assert again.status_code == 422 and again.json == bad.json and again.headers["Idempotent-Replayed"] == "true"
    too_long = client.post(URL, json={"data": GOOD}, headers={**tokens["requester"], "Idempotency-Key": "x" * 256})
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json["error"]["fields"]
    assert _cases(app) == 0


def test_twenty_concurrent_identical_posts_file_exactly_one_case(api: Any) -> None:
    app, tokens = api
    headers = {**tokens["requester"], "Idempotency-Key": "3f1c7a52-concurrent"}
    start = threading.Barrier(20)
    results: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def post() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(URL, json={"data": GOOD}, headers=headers)
        with lock:
            results.append((response.status_code, response.json))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 20
    assert {status for status, _ in results} == {201}, results
    assert len({body["id"] for _, body in results}) == 1
    assert _cases(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_other_posts_take_a_key_too(api: Any) -> None:
    app, tokens = api
    client = app.test_client()
    case_id = client.post(URL, json={"data": GOOD}, headers=tokens["requester"]).json["id"]
    headers = {**tokens["agent"], "Idempotency-Key": "comment-1"}
    url = f"/api/v1/cases/{case_id}/comments"
    first = client.post(url, json={"body": "Hello"}, headers=headers)
    again = client.post(url, json={"body": "Hello"}, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json["id"] == first.json["id"]
    comments = client.get(url, headers=tokens["agent"]).json["items"]
    assert [c["body"] for c in comments] == ["Hello"]
