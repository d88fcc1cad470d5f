"""Caching and downloads (issue 11, finding 8): no-store on everything authenticated, no active content in
uploads, no active-content extension on downloads."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.conftest import Web
from tests.support.complaint import GOOD, complaint_with_fields, publish_complaint
from tests.support.web import token_for

NOTES = {"type": "file", "key": "notes", "label": "Notes", "allowed_types": ["text/plain", "application/pdf"]}


@pytest.fixture
def app_with_notes(app: Any, demo_users: Any) -> Any:
    publish_complaint(app, form=complaint_with_fields(NOTES))
    return app


def _upload(client: Any, token: dict[str, str], body: bytes, name: str) -> Any:
    return client.post("/api/v1/uploads?case_type=complaint&field=notes",
                       data={"file": (io.BytesIO(body), name)}, headers=token)


def test_authenticated_pages_and_json_are_never_stored(app_with_notes: Any) -> None:
    web = Web(app_with_notes.test_client())
    assert "no-store" not in web.get("/login").headers.get("Cache-Control", "")  # public page: may be cached
    web.login("agent@example.com")
    for path in ("/work/", "/profile"):
        response = web.get(path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store", path
    htmx = web.get("/work/", headers={"HX-Request": "true"})
    assert htmx.headers["Cache-Control"] == "no-store"
    token = token_for(app_with_notes, "agent@example.com")
    client = app_with_notes.test_client()
    for path in ("/api/v1/me", "/api/v1/cases", "/api/v1/cases/999"):
        assert client.get(path, headers=token).headers["Cache-Control"] == "no-store", path
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"  # the 401 too


@pytest.mark.parametrize("body", [b"<!-- c --><script>alert(1)</script>", b"\n  <svg onload=alert(1)>",
                                  b"<?xml version='1.0'?><x:script xmlns:x='http://www.w3.org/1999/xhtml'/>",
                                  b"Dear team,\n<script>fetch('/x')</script>", b"<a href='javascript:alert(1)'>x</a>",
                                  b"\xef\xbb\xbf<!DOCTYPE html><p>hi"])
@pytest.mark.parametrize("name", ["comment.html", "comment.txt"])
def test_uploads_that_sniff_as_markup_are_refused_whatever_their_name(app_with_notes: Any, body: bytes,
                                                                      name: str) -> None:
    token = token_for(app_with_notes, "requester@example.com")
    response = _upload(app_with_notes.test_client(), token, body, name)
    assert response.status_code == 422, (body, name)


def test_downloads_are_no_store_and_lose_active_extensions(app_with_notes: Any) -> None:
    client = app_with_notes.test_client()
    requester = token_for(app_with_notes, "requester@example.com")
    up = _upload(client, requester, b"Just some notes about the parcel.\n", "comment.html")
    assert up.status_code == 201 and up.json["content_type"] == "text/plain"
    case = client.post("/api/v1/case-types/complaint/cases", json={"data": {**GOOD, "notes": [up.json["id"]]}},
                       headers=requester)
    assert case.status_code == 201, case.json
    web = Web(app_with_notes.test_client())
    web.login("agent@example.com")
    download = web.get(f"/files/{up.json['id']}")
    assert download.status_code == 200
    assert download.headers["Cache-Control"] == "no-store"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "comment.html.txt" in disposition
    assert download.headers["Content-Type"].startswith("text/plain")
