"""Definitions cannot grow without bound: a case type at the limits imports and its designer page answers;
one over a limit is refused in words an admin understands, and nothing of it is stored.

How fast the page answers at the limit is measured by bench/definition_limits.py, not here.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from app.extensions import db
from case_types.workflow import MAX_SLA_TARGETS, MAX_STATES, MAX_TRANSITIONS
from cases import definitions
from tests.conftest import Web
from tests.support.complaint import complaint_case_type_document, publish_complaint_form
from tests.support.designer import case_type_of_size, edit

BASE = "/designer/case-types/"


@pytest.fixture
def admin(app: Any, demo_users: Any) -> Web:
    publish_complaint_form(app)
    web = Web(app.test_client())
    web.login("admin@example.com")
    return web


def _import(admin: Web, document: dict[str, Any], slug: str) -> Any:
    raw = json.dumps(document).encode()
    return admin.post(BASE + "import", {"file": (io.BytesIO(raw), f"{slug}.case_type.json"), "slug": slug,
                                        "publish": "y"}, content_type="multipart/form-data")


def test_a_case_type_at_every_limit_imports_publishes_and_its_designer_page_answers(app: Any, admin: Web) -> None:
    document = case_type_of_size(MAX_STATES, MAX_TRANSITIONS)
    response = _import(admin, document, "big")
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    page = admin.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="ct-node') >= MAX_STATES or html.count("<rect") >= MAX_STATES
    assert "Step <1>" not in html and "Step &lt;1&gt; &amp; co" in html  # every label escaped
    with app.app_context():
        stored = definitions.find_definition(db.session, "case_type", "big")
        assert stored is not None and stored.latest_version is not None


@pytest.mark.parametrize(("grow", "message"), [
    (lambda d: case_type_of_size(MAX_STATES + 1, 10),
     f"A case type has at most {MAX_STATES} states; this one has {MAX_STATES + 1}."),
    (lambda d: case_type_of_size(MAX_STATES, MAX_TRANSITIONS + 1),
     f"A case type has at most {MAX_TRANSITIONS} transitions; this one has {MAX_TRANSITIONS + 1}."),
    (lambda d: {**d, "sla": [{"state": "new", "kind": "response", "hours": 4}] * (MAX_SLA_TARGETS + 1)},
     f"A case type has at most {MAX_SLA_TARGETS} SLA targets"),
    (lambda d: {**d, "transitions": [{**d["transitions"][0], "from": ["new"] * (MAX_STATES + 1)}]},
     f"A transition starts from at most {MAX_STATES} states"),
], ids=["states", "transitions", "sla-targets", "sources"])
def test_a_case_type_over_a_limit_is_refused_with_one_clear_message(app: Any, admin: Web, grow: Any,
                                                                     message: str) -> None:
    response = _import(admin, grow(complaint_case_type_document()), "too-big")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert html.count("is not one of the states") == 0  # no echo of the same problem for every transition
    with app.app_context():
        assert definitions.find_definition(db.session, "case_type", "too-big") is None


def test_a_designer_save_over_the_state_limit_is_refused(app: Any, admin: Web) -> None:
    """The designer's own edits go through the same check: the state one over the limit is not added."""
    response = _import(admin, case_type_of_size(MAX_STATES, MAX_TRANSITIONS), "full")
    assert response.status_code == 303
    url = response.headers["Location"]
    added = edit(admin, app, url + "/states", "ns", label="One more", kind="working", color="grey")
    assert added.status_code == 422, added.status_code
    assert f"This case type already has {MAX_STATES} states." in added.get_data(as_text=True)
    moved = edit(admin, app, url + "/transitions", "nt", label="One more", sources=["new"], target="resolved",
                 roles=["agent"])
    assert moved.status_code == 422, moved.status_code
    assert f"This case type already has {MAX_TRANSITIONS} transitions." in moved.get_data(as_text=True)
    with app.app_context():
        stored = definitions.find_definition(db.session, "case_type", "full")
        assert stored is not None
        draft = definitions.draft_document(stored)
    assert (len(draft["states"]), len(draft["transitions"])) == (MAX_STATES, MAX_TRANSITIONS)


def test_a_large_case_type_shows_the_forms_of_the_opened_card_only(app: Any, admin: Web) -> None:
    """Every form of every card made the page 10 MB at the limits; a large case type opens them one at a time."""
    response = _import(admin, case_type_of_size(MAX_STATES, MAX_TRANSITIONS), "large")
    url = response.headers["Location"]
    closed = admin.get(url).get_data(as_text=True)
    assert closed.count("Save transition") == 0 and closed.count("Save state") == 0
    assert f'href="{url}?open=transition:move_5#transition-move_5"' in closed
    opened = admin.get(url + "?open=transition:move_5", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert opened.count("Save transition") == 1 and 'id="t-move_5-save"' in opened
    state = admin.get(url + "?open=state:step_3").get_data(as_text=True)
    assert state.count("Save state") == 1 and state.count("Save deadlines") == 1
    assert admin.get(url + "?open=<script>").status_code == 200
