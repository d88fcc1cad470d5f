"""The case-type designer through its pages and htmx partials, as an admin uses it (both backends)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from cases import accounts, definitions
from cases.models import AuditEvent, Definition
from tests.conftest import Web
from tests.support.complaint import publish_complaint_form
from tests.support.designer import draft, edit, element

BASE = "/designer/case-types/"


# ---------------------------------------------------------------- helpers


@pytest.fixture
def admin(app: Any, demo_users: Any) -> Web:
    """The demo admin, logged in, with the complaint form published as version 1."""
    publish_complaint_form(app)
    web = Web(app.test_client())
    web.login("admin@example.com")
    return web


def create(web: Web, **fields: str) -> str:
    data = {"name": "Customer complaint", "slug": "complaint", "form_ref": "complaint@1", "queue": "general", **fields}
    response = web.post(BASE + "new", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return str(response.headers["Location"])


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


TRANSITION = {"label": "Escalate", "sources": ["new", "in_progress"], "target": "escalated",
              "roles": ["agent", "admin"], "assignee_only": "y", "required_fields": ["severity"],
              "comment_required": "y", "confirm": "Escalate this case?"}


GENERAL = {"name": "Complaints", "prefix": "cmp", "description": "", "form_ref": "complaint@1",
           "default_queue": "general", "fallback_queue": "general", "request_info_state": "waiting",
           "reopen_to": "in_progress", "reopen_days": "14"}


# ---------------------------------------------------------------- tests


def test_create_from_a_published_form(app: Any, admin: Web) -> None:
    page = text(admin.get(BASE + "new"))
    assert "Customer complaint — version 1 (latest)" in page and "General enquiries" in page
    bad = admin.post(BASE + "new", {"name": "", "form_ref": "complaint@9", "queue": "general"})
    assert bad.status_code == 422
    assert "Not a valid choice" in text(bad) and 'aria-invalid="true"' in text(bad)
    url = create(admin)
    document, revision = draft(app, url)
    assert (document["form"], document["form_version"], document["default_queue"]) == ("complaint", 1, "general")
    assert [s["key"] for s in document["states"]] == ["new", "in_progress", "waiting", "resolved", "rejected"]
    assert revision == 1
    again = admin.post(BASE + "new", {"name": "Other", "slug": "complaint", "form_ref": "complaint@1",
                                      "queue": "general"})
    assert again.status_code == 422 and "Another case type already uses this short name." in text(again)
    leave = create(admin, name="Leave request", slug="")
    assert draft(app, leave)[0]["name"] == "Leave request"
    listing = text(admin.get(BASE))
    assert "Customer complaint" in listing and "<code>leave-request</code>" in listing
    assert "not published yet" in listing
    editor = text(admin.get(url))
    assert "No problems: this draft can be published." in editor
    # one arrow per source state of each transition: "reject" leaves two states
    assert editor.count('class="node"') == 5 and editor.count('class="edge"') == 4
    assert 'id="state-waiting"' in editor and 'id="transition-reject"' in editor


def test_general_settings(app: Any, admin: Web) -> None:
    url = create(admin)
    saved = edit(admin, app, url + "/general", "g", **GENERAL)
    assert saved.status_code == 200 and "Settings saved." in text(saved)
    document, _ = draft(app, url)
    assert (document["name"], document["prefix"], document["reopen"]) == ("Complaints", "CMP", {
        "to": "in_progress", "within_days": 14})
    wrong = edit(admin, app, url + "/general", "g", **{**GENERAL, "request_info_state": "in_progress"})
    assert "need a &#39;waiting&#39; state" in element(text(wrong), "g-request_info_state-problem")
    bad = edit(admin, app, url + "/general", "g", **{**GENERAL, "reopen_days": "0", "default_queue": "vip"})
    assert bad.status_code == 422
    assert "Not a valid choice" in element(text(bad), "g-default_queue-error")
    assert "between 1 and 3650" in element(text(bad), "g-reopen_days-error")


def test_edit_states_through_htmx(app: Any, admin: Web) -> None:
    url = create(admin)
    added = edit(admin, app, url + "/states", "ns", label="Escalated", kind="working", color="red")
    assert added.status_code == 200
    body = text(added)
    assert not body.lstrip().startswith("<!doctype") and body.count('id="ct-editor"') == 1
    assert '<div id="ct-status" hx-swap-oob="innerHTML">State “Escalated” added.</div>' in body
    assert "No transition leads to &#39;Escalated&#39;" in element(body, "state-escalated")
    assert 'data-state="escalated"' in element(body, "diagram")  # the diagram follows every edit
    document, revision = draft(app, url)
    assert document["states"][-1] == {"key": "escalated", "label": "Escalated", "kind": "working", "color": "red"}
    assert revision == 2

    renamed = edit(admin, app, url + "/states/in_progress", "s-in_progress", label="Working on it",
                   key="working", kind="working", color="teal")
    assert renamed.status_code == 200
    assert 'id="s-working-save" autofocus' in text(renamed)  # focus stays on the button the admin pressed
    document, _ = draft(app, url)
    assert {t["key"]: t["to"] for t in document["transitions"]}["start"] == "working"
    assert document["reopen"]["to"] == "working"

    bad = edit(admin, app, url + "/states/working", "s-working", label="Working on it", key="Bad Key",
               kind="working", color="teal")
    assert bad.status_code == 422
    form = element(text(bad), "s-working-key-error")
    assert "lower-case letters" in form
    assert draft(app, url)[1] == 3  # nothing saved

    moved = edit(admin, app, url + "/states/escalated/move", direction="up")
    assert moved.status_code == 200
    assert [s["key"] for s in draft(app, url)[0]["states"]][-2:] == ["escalated", "rejected"]

    question = element(text(admin.get(url)), "state-rejected")
    assert "This also removes the transition “Reject”." in question
    removed = edit(admin, app, url + "/states/rejected/remove")
    assert removed.status_code == 200 and "autofocus>States</h2>" in text(removed)
    document, _ = draft(app, url)
    assert "rejected" not in [s["key"] for s in document["states"]]
    assert [t["key"] for t in document["transitions"]] == ["start", "resolve"]

    # Without JavaScript the same form posts and comes back to the edited state.
    plain = edit(admin, app, url + "/states/escalated", "s-escalated", htmx=False, label="Escalated!",
                 kind="working", color="orange")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("#state-escalated")
    gone = edit(admin, app, url + "/states/ghost", "s-ghost", label="X", kind="working", color="grey")
    assert gone.status_code == 404 and "no state &#39;ghost&#39;" in text(gone)


def test_edit_transitions_who_and_required_fields(app: Any, admin: Web) -> None:
    url = create(admin)
    edit(admin, app, url + "/states", "ns", label="Escalated", kind="working", color="red")
    refused = edit(admin, app, url + "/transitions", "nt", **{**TRANSITION, "required_fields": ["ghost"]})
    assert refused.status_code == 422 and "is not a valid choice" in text(refused)
    added = edit(admin, app, url + "/transitions", "nt", **TRANSITION)
    assert added.status_code == 200
    document, _ = draft(app, url)
    assert document["transitions"][-1] == {
        "key": "escalate", "label": "Escalate", "from": ["new", "in_progress"], "to": "escalated",
        "who": {"roles": ["agent", "admin"], "queue_members": False, "assignee_only": True, "requester": False},
        "required_fields": ["severity"], "comment_required": True, "confirm": "Escalate this case?"}
    card = element(text(added), "transition-escalate")
    assert "from New, In progress to Escalated" in card and "by the assignee (agent or admin)" in card
    assert "needs Severity" in card and "comment required" in card
    # Escalated can be reached now, but not left: the problem sits on the state.
    assert "could never move on" in element(text(added), "state-escalated")

    changed = edit(admin, app, url + "/transitions/escalate", "t-escalate", label="Escalate", key="escalate",
                   sources=["*"], target="escalated", roles=[], requester="y")
    assert changed.status_code == 200
    transition = draft(app, url)[0]["transitions"][-1]
    assert transition["from"] == ["*"] and transition["who"]["roles"] == [] and transition["who"]["requester"]
    assert "from any state" in element(text(changed), "transition-escalate")

    nobody = edit(admin, app, url + "/transitions/escalate", "t-escalate", label="Escalate", sources=["new"],
                  target="escalated", roles=[])
    assert "Nobody could fire this transition" in element(text(nobody), "transition-escalate")

    edit(admin, app, url + "/transitions/escalate/move", direction="up")
    assert [t["key"] for t in draft(app, url)[0]["transitions"]] == ["start", "resolve", "escalate", "reject"]
    edit(admin, app, url + "/transitions/escalate/remove")
    assert [t["key"] for t in draft(app, url)[0]["transitions"]] == ["start", "resolve", "reject"]


def test_editable_fields_and_deadlines_per_state(app: Any, admin: Web) -> None:
    url = create(admin)
    response = edit(admin, app, url + "/states/in_progress/fields", "sf-in_progress",
                    fields=["description", "severity"])
    assert response.status_code == 200
    assert draft(app, url)[0]["editable_fields"] == {"in_progress": ["description", "severity"]}
    assert "agents may edit What happened?, Severity" in element(text(response), "state-in_progress")
    bad = edit(admin, app, url + "/states/new/deadlines", "sla-new", response_hours="-1", response_business="y")
    assert bad.status_code == 422 and "greater than 0" in element(text(bad), "sla-new-response_hours-error")
    ok = edit(admin, app, url + "/states/new/deadlines", "sla-new", response_hours="8", response_business="y",
              resolution_hours="40.5")
    assert ok.status_code == 200
    assert draft(app, url)[0]["sla"] == [
        {"state": "new", "kind": "response", "hours": 8.0, "business_hours": True},
        {"state": "new", "kind": "resolution", "hours": 40.5, "business_hours": False}]
    assert "respond within 8 business hours" in element(text(ok), "state-new")
    edit(admin, app, url + "/states/new/deadlines", "sla-new", response_hours="", resolution_hours="")
    assert draft(app, url)[0]["sla"] == []


def test_problems_are_shown_where_they_belong(app: Any, admin: Web) -> None:
    url = create(admin)
    no_initial = edit(admin, app, url + "/states/new", "s-new", label="New", kind="working", color="blue")
    page = text(no_initial)
    assert "Mark exactly one state as the initial state" in element(page, "states")
    assert "Mark exactly one state as the initial state" in element(page, "problems")
    assert 'id="pub-save" disabled' in page  # problems block publishing
    edit(admin, app, url + "/states/new", "s-new", label="New", kind="initial", color="blue")

    edit(admin, app, url + "/states", "ns", label="Limbo", kind="working", color="grey")
    page = text(admin.get(url))
    assert "No transition leads to &#39;Limbo&#39;" in element(page, "state-limbo")
    assert '<a href="#state-limbo">State “Limbo”</a>' in element(page, "problems")
    edit(admin, app, url + "/transitions", "nt", label="Park", sources=["new"], target="limbo", roles=["agent"])
    page = text(admin.get(url))
    assert "could never move on" in element(page, "state-limbo")
    assert "could never move on" not in element(page, "state-new")

    # The default queue was deactivated since: the problem shows at that setting.
    with app.app_context():
        queue = accounts.find_queue(db.session, "general")
        assert queue is not None
        accounts.update_queue(db.session, queue, name=queue.name, description="", active=False)
    page = text(admin.get(url))
    problem = element(page, "g-default_queue-problem")
    assert "Choose one of the queues." in problem
    assert 'aria-describedby="g-default_queue-help g-default_queue-problem"' in element(page, "g-default_queue")
    assert "general (not available)" in element(page, "g-default_queue")
    refused = admin.post(url + "/publish", {"pub-expected_revision": draft(app, url)[1], "pub-change_note": "x"},
                         htmx=True)
    assert refused.status_code == 422 and "Fix the problems" in text(refused)
    with app.app_context():
        assert definitions.find_definition(db.session, "case_type", "complaint").versions == []  # type: ignore[union-attr]


def test_a_stale_page_gets_a_clear_conflict(app: Any, admin: Web) -> None:
    url = create(admin)
    assert edit(admin, app, url + "/states", "ns", revision=1, label="One", kind="working").status_code == 200
    stale = edit(admin, app, url + "/states", "ns", revision=1, label="Two", kind="working")
    assert stale.status_code == 409
    body = text(stale)
    assert "changed by Ada Admin" in body and "Reload the draft" in body and 'role="alert"' in body
    assert f'href="{url}"' in body
    document, revision = draft(app, url)
    assert revision == 2 and [s["label"] for s in document["states"]][-1] == "One"
    publish = admin.post(url + "/publish", {"pub-expected_revision": 1, "pub-change_note": "late"}, htmx=True)
    assert publish.status_code == 409
    page = edit(admin, app, url + "/general", "g", revision=1, htmx=False, **GENERAL)
    assert page.status_code == 409 and "<!doctype html>" in text(page)


def test_publish_diff_and_history(app: Any, admin: Web) -> None:
    url = create(admin)
    published = admin.post(url + "/publish", {"pub-expected_revision": 1, "pub-change_note": "First version"},
                           htmx=True)
    assert published.status_code == 200
    assert "Version 1 published" in text(published) and "The draft is the same as version 1." in text(published)
    again = admin.post(url + "/publish", {"pub-expected_revision": 1}, htmx=True)
    assert again.status_code == 409 and "Nothing changed since version 1" in text(again)

    changed = edit(admin, app, url + "/states/resolved", "s-resolved", label="Done", kind="final", color="green")
    assert "State &#39;Done&#39;: label changed from &#39;Resolved&#39; to &#39;Done&#39;." in \
        element(text(changed), "publish")
    admin.post(url + "/publish", {"pub-expected_revision": draft(app, url)[1], "pub-change_note": "Shorter"},
               htmx=True)
    history = text(admin.get(url + "/history"))
    assert "Version 2" in element(history, "version-2") and "Shorter" in element(history, "version-2")
    assert "label changed from &#39;Resolved&#39; to &#39;Done&#39;" in element(history, "version-2")
    assert "The first version." in element(history, "version-1")
    for row in ("Created", "Draft saved (revision 2)", "Version 1 published", "Version 2 published"):
        assert row in history
    assert "version 2" in text(admin.get(BASE))


def test_published_versions_cannot_be_changed_through_pages(app: Any, admin: Web) -> None:
    url = create(admin)
    admin.post(url + "/publish", {"pub-expected_revision": 1}, htmx=True)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        version = definitions.find_definition(db.session, "case_type", "complaint").versions[0]  # type: ignore[union-attr]
        sha = version.sha256
    edit(admin, app, url + "/states/new", "s-new", label="Brand new", kind="initial", color="blue")
    page = text(admin.get(url + "/versions/1"))
    assert ">New<" in page and "Brand new" not in page
    assert "<form" not in element(page, "main")  # nothing on the page can change it
    assert 'data-state="new"' in page
    assert admin.post(url + "/versions/1", {}).status_code == 405
    assert admin.get(url + "/versions/7").status_code == 404
    with app.app_context():
        again = definitions.find_definition(db.session, "case_type", "complaint").versions[0]  # type: ignore[union-attr]
        assert again.sha256 == sha
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1  # the draft save


def test_export_and_import(app: Any, admin: Web) -> None:
    url = create(admin)
    exported = admin.get(url + "/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"] == "attachment; filename=complaint.case_type.json"
    assert json.loads(exported.data) == draft(app, url)[0]  # nothing published: the draft
    admin.post(url + "/publish", {"pub-expected_revision": 1}, htmx=True)
    version_one = admin.get(url + "/export?version=1").data
    assert admin.get(url + "/export?version=5").status_code == 404

    imported = admin.post(BASE + "import", {"file": (io.BytesIO(version_one), "complaint.case_type.json"),
                                            "slug": "complaint-copy", "publish": "y"},
                          content_type="multipart/form-data")
    assert imported.status_code == 303
    with app.app_context():
        copy = definitions.find_definition(db.session, "case_type", "complaint-copy")
        assert copy is not None and [v.number for v in copy.versions] == [1]
        assert json.loads(copy.versions[0].document) == json.loads(version_one)


HOSTILE = [
    (b"not json at all", "not a Casework case type"),
    (b"[1, 2, 3]", "not a Casework case type"),
    (b"[" * 50000 + b"]" * 50000, "not a Casework case type"),
    (b"\xff\xfe\x00garbage", "not a Casework case type"),
    (b'{"schema_version": 1, "name": "<script>alert(1)</script>", "states": "nope", "prefix": "x"}',
     "Add the states a case goes through."),
    (b" " * (1024 * 1024 + 10) + b"{}", "at most 1 MiB"),
]


def test_a_bad_or_hostile_file_changes_nothing(app: Any, admin: Web) -> None:
    url = create(admin)
    good = json.loads(admin.get(url + "/export").data)
    unknown_form = json.dumps({**good, "form_version": 42, "extra": "<img src=x onerror=alert(1)>"}).encode()
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        count = db.session.scalar(select(func.count()).select_from(Definition))
    before = draft(app, url)
    for raw, reason in [*HOSTILE, (unknown_form, "has no published version 42")]:
        response = admin.post(BASE + "import", {"file": (io.BytesIO(raw), "complaint.case_type.json"), "publish": "y"},
                              content_type="multipart/form-data")
        assert response.status_code == 422, raw[:40]
        problems = element(text(response), "import-problems")
        assert reason in problems
        assert "<script>" not in text(response) and "<img src=x" not in text(response)
    assert "Settings, Default queue" not in problems
    assert "Form and version: The form" in problems  # says where in the file
    no_file = admin.post(BASE + "import", {"slug": "x"}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and "Choose a file to import." in text(no_file)
    assert draft(app, url) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert db.session.scalar(select(func.count()).select_from(Definition)) == count


def test_admin_text_is_escaped_everywhere(app: Any, admin: Web) -> None:
    url = create(admin, name="<script>alert('name')</script>")
    payload = "<img src=x onerror=alert(1)>"
    edit(admin, app, url + "/states/new", "s-new", label=payload, kind="initial", color="blue",
         description="<b>bold</b>")
    edit(admin, app, url + "/transitions/start", "t-start", label='"><script>alert(2)</script>', sources=["new"],
         target="in_progress", roles=["agent"], confirm="js:alert(3)")
    admin.post(url + "/publish", {"pub-expected_revision": draft(app, url)[1], "pub-change_note": payload},
               htmx=True)
    pages = [admin.get(url), admin.get(BASE), admin.get(url + "/history"), admin.get(url + "/versions/1"),
             edit(admin, app, url + "/states", "ns", label=payload, kind="working")]
    for response in pages:
        body = text(response)
        assert "<script>alert" not in body and "<img src=x" not in body and "<b>bold" not in body
    editor = text(pages[0])
    assert "&lt;img src=x onerror=alert(1)&gt;" in editor
    # Confirmation questions start with fixed words, so htmx never reads them as `js:` code.
    assert 'hx-confirm="Remove the state “&lt;img' in editor
    assert "asks “js:alert(3)”" in editor


def test_availability_and_archived_case_types(app: Any, admin: Web) -> None:
    url = create(admin)
    response = admin.post(url + "/availability", {"av-open_for_requests": "y", "av-public": "y"}, htmx=True)
    assert response.status_code == 200 and "Availability saved." in text(response)
    admin.post(url + "/availability", {"av-archived": "y"}, htmx=True)
    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None
        assert (definition.open_for_requests, definition.public, definition.archived) == (False, False, True)
    assert "<code>complaint</code>" not in text(admin.get(BASE))
    assert "<code>complaint</code>" in text(admin.get(BASE + "?archived=1"))
    assert "Availability changed" in text(admin.get(url + "/history"))


@pytest.mark.parametrize("who", ["agent", "requester", "auditor"])
def test_only_admins_may_design(app: Any, admin: Web, who: str) -> None:
    url = create(admin)
    before = draft(app, url)
    other = Web(app.test_client())
    other.login(f"{who}@example.com")
    assert other.get(BASE).status_code == 403
    assert other.get(url).status_code == 403
    assert other.get(url + "/export").status_code == 403
    assert other.post(url + "/states", {"ns-label": "X", "ns-expected_revision": 1}, htmx=True).status_code == 403
    anonymous = Web(app.test_client())
    assert anonymous.get(url).status_code == 302
    assert draft(app, url) == before
