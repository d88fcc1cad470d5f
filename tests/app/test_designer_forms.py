"""The form designer's pages, through the test client on both backends, and the `casework forms` commands."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from cases import definitions
from cases.models import Definition
from tests.conftest import Web
from tests.support.complaint import FIXTURES

COMPLAINT = (FIXTURES / "complaint.form.json").read_bytes()
XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def admin(web: Web, demo_users: Any) -> Web:
    web.login("admin@example.com")
    return web


def create_form(web: Web, title: str = "Customer complaint", slug: str = "complaint") -> int:
    response = web.post("/designer/forms/new", {"title": title, "slug": slug})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def import_form(web: Web, raw: bytes = COMPLAINT, name: str = "complaint.form.json", **extra: Any) -> Any:
    fields = {f"import-{field}": value for field, value in extra.items()}
    return web.post("/designer/forms/import", {"import-file": (io.BytesIO(raw), name), **fields},
                    content_type="multipart/form-data")


def draft(app: Any, form_id: int) -> tuple[dict[str, Any], int]:
    with app.app_context():
        definition = definitions.get_definition(db.session, "form", form_id)
        return definitions.draft_document(definition), definition.draft_revision


def keys(document: dict[str, Any], page: int = 0) -> list[str]:
    return [f["key"] for f in document["pages"][page]["fields"]]


def edit(web: Web, app: Any, form_id: int, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """One htmx edit with the current revision, as the page sends it."""
    _, revision = draft(app, form_id)
    return web.post(f"/designer/forms/{form_id}{path}", {"revision": str(revision), **(data or {})}, htmx=True, **kw)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def card(html: str, key: str) -> str:
    """The HTML of one field card (up to its actions)."""
    match = re.search(rf'<li class="dz-card[^"]*"\s+id="card-{key}".*?<div class="dz-actions">', html, re.S)
    assert match, f"no card for {key}"
    return match.group(0)


# --- list, create ------------------------------------------------------------------------------


def test_forms_list_and_new_form(app: Any, admin: Web) -> None:
    page = text(admin.get("/designer/forms/"))
    assert "No forms yet" in page and 'href="/designer/forms/"' in text(admin.get("/designer/"))
    form_id = create_form(admin)
    page = text(admin.get("/designer/forms/"))
    assert "Customer complaint" in page and "<code>complaint</code>" in page and "not published" in page
    refused = admin.post("/designer/forms/new", {"title": "Again", "slug": "complaint"})
    assert refused.status_code == 422 and "already uses this short name" in text(refused)
    refused = admin.post("/designer/forms/new", {"title": "Bad", "slug": "Bad Slug!"})
    assert refused.status_code == 422 and "lower-case letters" in text(refused)
    editor = admin.get(f"/designer/forms/{form_id}")
    assert editor.status_code == 200
    html = text(editor)
    assert 'id="designer"' in html and "Add a field" in html and 'id="preview-form"' in html
    assert 'hx-target:inherited="#designer"' in html


# --- fields: add, update, move, delete, undo -----------------------------------------------------


def test_add_move_delete_and_undo(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    response = edit(admin, app, form_id, "/fields", {"type": "email", "page": "details"})
    assert response.status_code == 200
    assert 'data-focus="fp-email-label"' in text(response) and 'id="props-email"' in text(response)
    edit(admin, app, form_id, "/fields", {"type": "short_text", "page": "details", "index": "0"})
    document, _ = draft(app, form_id)
    assert keys(document) == ["text", "subject", "email"]
    # Keyboard move (the Up button / Alt+ArrowUp) and a drop at a position.
    response = edit(admin, app, form_id, "/move", {"key": "email", "direction": "up"})
    assert "moved to position 2 of 3" in text(response)
    edit(admin, app, form_id, "/move", {"key": "text", "page": "details", "index": "2"})
    document, _ = draft(app, form_id)
    assert keys(document) == ["email", "subject", "text"]
    # Delete, with an Undo button in the answer that restores the field where it was.
    response = edit(admin, app, form_id, "/fields/subject/delete")
    html = text(response)
    assert "Deleted “Subject”." in html and 'id="undo-button"' in html
    document, _ = draft(app, form_id)
    assert keys(document) == ["email", "text"]
    removed = json.loads(re.search(r"hx-vals='([^']*)'", html[html.index('id="undo-button"') - 400:]).group(1))  # type: ignore[union-attr]
    response = edit(admin, app, form_id, "/restore", {"removed": removed["removed"]})
    assert response.status_code == 200 and "“Subject” is back." in text(response)
    document, _ = draft(app, form_id)
    assert keys(document) == ["email", "subject", "text"]
    refused = edit(admin, app, form_id, "/restore", {"removed": "{}"})
    assert refused.status_code == 422 and "nothing to undo" in text(refused)


def test_side_panel_updates_options_and_renames(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    edit(admin, app, form_id, "/fields", {"type": "single_choice", "page": "details"})
    panel = {"present": ["label", "help", "required", "options", "display", "default", "width"],
             "label": "Severity", "help": "How bad is it?", "required": "1",
             "option_label": ["Low", "High"], "option_value": ["option_1", "option_2"], "display": "radio",
             "default": "", "width": "half"}
    response = edit(admin, app, form_id, "/fields/choice", panel)
    assert response.status_code == 200 and "Saved “Severity”." in text(response)
    response = edit(admin, app, form_id, "/fields/choice/options",
                    {**panel, "option_value": ["low", "high"], "action": "add"})
    document, _ = draft(app, form_id)
    field = document["pages"][0]["fields"][1]
    assert field == {"type": "single_choice", "key": "choice", "label": "Severity", "help": "How bad is it?",
                     "required": True, "display": "radio", "width": "half",
                     "options": [{"label": "Low", "value": "low"}, {"label": "High", "value": "high"},
                                 {"label": "Option 3", "value": "option_3"}]}
    edit(admin, app, form_id, "/fields/choice/options", {"action": "up", "index": "2"})
    edit(admin, app, form_id, "/fields/choice/options", {"action": "remove", "index": "0"})
    document, _ = draft(app, form_id)
    assert [o["value"] for o in document["pages"][0]["fields"][1]["options"]] == ["option_3", "high"]
    # An explicit rename keeps the field and moves the selection with it.
    response = edit(admin, app, form_id, "/fields/choice", {"key": "severity"})
    assert 'id="props-severity"' in text(response)
    refused = edit(admin, app, form_id, "/fields/severity", {"key": "subject"})
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#designer-alert"
    assert "already has the key" in text(refused)


def test_a_format_written_as_an_example_is_saved_as_the_pattern_it_means(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    edit(admin, app, form_id, "/fields", {"type": "short_text", "page": "details"})
    response = edit(admin, app, form_id, "/fields/text", {"present": ["pattern"], "pattern": "ORD-#####"})
    assert response.status_code == 200
    document, _ = draft(app, form_id)
    assert document["pages"][0]["fields"][-1]["pattern"] == r"ORD-\d{5}"


def test_pages_are_added_renamed_moved_and_deleted(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    response = edit(admin, app, form_id, "/pages", {"title": "Evidence"})
    assert "Add at least one field to this page." in text(response)  # shown on the new page
    edit(admin, app, form_id, "/move", {"key": "subject", "page": "evidence", "index": "0"})
    edit(admin, app, form_id, "/fields", {"type": "heading", "page": "details"})
    edit(admin, app, form_id, "/pages/evidence", {"title": "Proof"})
    edit(admin, app, form_id, "/pages/evidence/move", {"direction": "up"})
    document, _ = draft(app, form_id)
    assert [(p["key"], p["title"]) for p in document["pages"]] == [("evidence", "Proof"), ("details", "Details")]
    refused = edit(admin, app, form_id, "/pages/evidence/delete")
    assert refused.status_code == 422 and "has fields" in text(refused)
    edit(admin, app, form_id, "/pages/evidence/delete", {"fields_to": "next"})
    document, _ = draft(app, form_id)
    assert [p["key"] for p in document["pages"]] == ["details"] and keys(document) == ["subject", "heading"]


# --- conditions --------------------------------------------------------------------------------


def test_condition_builder_round_trip(app: Any, admin: Web) -> None:
    admin_import = import_form(admin)
    form_id = int(admin_import.headers["Location"].rsplit("/", 1)[1])
    edit(admin, app, form_id, "/fields/other_category", {})  # nothing posted: nothing changes
    # Picking the field re-draws the operators for its family and offers its options as values.
    builder = admin.get(f"/designer/forms/{form_id}/fields/description/condition",
                        query_string={"which": "visible_if", "enabled": "1", "rows": "1",
                                      "field-0": "category", "op-0": "gt"},
                        headers={"HX-Request": "true"})
    html = text(builder)
    assert builder.status_code == 200 and 'id="cb-description-visible_if"' in html
    assert '<option value="eq" selected>is</option>' in html  # "gt" does not fit a choice field
    assert '<option value="other">Other</option>' in html and "is more than" not in html
    builder = admin.get(f"/designer/forms/{form_id}/fields/description/condition",
                        query_string={"which": "visible_if", "enabled": "1", "rows": "1",
                                      "field-0": "category", "op-0": "in", "action": "add"})
    assert text(builder).count('class="dz-row"') == 2
    assert 'type="checkbox" name="value-0" value="other"' in text(builder)
    # Apply saves it; the card describes it and the builder shows it again.
    response = edit(admin, app, form_id, "/fields/description/condition",
                    {"which": "visible_if", "enabled": "1", "mode": "any", "rows": "2",
                     "field-0": "category", "op-0": "in", "value-0": ["damaged", "other"],
                     "field-1": "severity", "op-1": "eq", "value-1": "critical"})
    assert response.status_code == 200
    document, _ = draft(app, form_id)
    description = document["pages"][0]["fields"][8]
    assert description["visible_if"] == {"any": [{"field": "category", "op": "in", "value": ["damaged", "other"]},
                                                 {"field": "severity", "op": "eq", "value": "critical"}]}
    html = text(admin.get(f"/designer/forms/{form_id}?field=description"))
    assert "shown only when Category is Damaged item or Other or Severity is Critical" in card(html, "description")
    assert '<option value="any" selected>Any one of these rules</option>' in html
    assert 'name="value-0" value="damaged" checked' in html
    assert 'data-visible-if="' in html  # the preview shows and hides it as the requester answers
    # Switching it off again.
    edit(admin, app, form_id, "/fields/description/condition", {"which": "visible_if", "enabled": "0", "rows": "0"})
    document, _ = draft(app, form_id)
    assert "visible_if" not in document["pages"][0]["fields"][8]


def test_problems_are_shown_on_the_field_they_concern(app: Any, admin: Web) -> None:
    form_id = int(import_form(admin).headers["Location"].rsplit("/", 1)[1])
    response = edit(admin, app, form_id, "/fields/order_number",
                    {"present": ["pattern"], "pattern": "([a-z"})
    html = text(response)
    assert "not a valid regular expression" in card(html, "order_number")
    assert "not a valid regular expression" not in card(html, "name")
    assert re.search(r'id="fp-order_number-pattern"[^>]*aria-describedby="[^"]*fp-order_number-pattern-error"'
                     r'[^>]*aria-invalid="true"', html)
    assert "Left out until their problems are fixed: “Order number”" in html
    # Deleting a field that a condition uses: the problem shows at the field whose condition uses it.
    html = text(edit(admin, app, form_id, "/fields/category/delete"))
    assert "does not exist (or was deleted)" in card(html, "other_category")
    assert "still use it" in html


def test_a_stale_page_gets_409_and_a_reload_link(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    _, revision = draft(app, form_id)
    edit(admin, app, form_id, "/fields", {"type": "email", "page": "details"})
    stale = admin.post(f"/designer/forms/{form_id}/fields", {"type": "phone", "page": "details",
                                                             "revision": str(revision)}, htmx=True)
    assert stale.status_code == 409
    assert stale.headers["HX-Retarget"] == "#designer-alert"
    assert "changed by Ada Admin" in text(stale) and f'href="/designer/forms/{form_id}">Reload the draft' in text(stale)
    document, _ = draft(app, form_id)
    assert keys(document) == ["subject", "email"]
    stale = admin.post(f"/designer/forms/{form_id}/publish", {"revision": str(revision)}, htmx=True)
    assert stale.status_code == 409
    with app.app_context():
        assert definitions.get_definition(db.session, "form", form_id).versions == []


# --- versions ------------------------------------------------------------------------------------


def test_publish_diff_and_history(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    edit(admin, app, form_id, "/fields/subject", {"present": ["label"], "label": ""})
    refused = edit(admin, app, form_id, "/publish", {"change_note": "first"})
    assert refused.status_code == 422 and "fix the 1 problem" in text(refused)
    assert "Give the field a label." in card(text(refused), "subject")
    edit(admin, app, form_id, "/fields/subject", {"present": ["label"], "label": "Subject"})
    response = edit(admin, app, form_id, "/publish", {"change_note": "first"})
    assert response.status_code == 200 and "Version 1 published." in text(response)
    nothing = edit(admin, app, form_id, "/publish", {})
    assert nothing.status_code == 409 and "Nothing changed since version 1" in text(nothing)
    edit(admin, app, form_id, "/fields/subject", {"present": ["label"], "label": "Topic"})
    page = text(admin.get(f"/designer/forms/{form_id}/versions"))
    assert "Changes since version 1" in page and "changed from &#39;Subject&#39; to &#39;Topic&#39;" in page
    form = admin.post(f"/designer/forms/{form_id}/publish", {"change_note": "clearer", "revision": "99"})
    assert form.status_code == 409  # a form post with an old revision, outside htmx: the error page
    _, revision = draft(app, form_id)
    published = admin.post(f"/designer/forms/{form_id}/publish", {"change_note": "clearer", "revision": str(revision)})
    assert published.status_code == 303 and published.headers["Location"].endswith("/versions")
    page = text(admin.get(f"/designer/forms/{form_id}/versions"))
    assert "Version 2" in page and "clearer" in page and "Published version 2" in page and "Draft saved" in page
    version = text(admin.get(f"/designer/forms/{form_id}/versions/2"))
    assert "Changes since version 1" in version and "&#39;Topic&#39;" in version
    assert 'id="field-subject"' in version  # the form as requesters got it in that version
    assert "First version" in text(admin.get(f"/designer/forms/{form_id}/versions/1"))
    assert admin.get(f"/designer/forms/{form_id}/versions/3").status_code == 404


def test_published_versions_are_never_changed_by_the_pages(app: Any, admin: Web) -> None:
    form_id = int(import_form(admin, publish="y").headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        first = definitions.get_definition(db.session, "form", form_id).versions[0]
        sha, document = first.sha256, first.document
    # No route of the designer takes a version number and changes something.
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("designer_forms.") and "number" in rule.arguments:
            assert rule.methods - {"GET", "HEAD", "OPTIONS"} == set(), rule
    edit(admin, app, form_id, "/fields/name", {"present": ["label"], "label": "Full name"})
    edit(admin, app, form_id, "/publish", {})
    with app.app_context():
        definition = definitions.get_definition(db.session, "form", form_id)
        assert [v.number for v in definition.versions] == [1, 2]
        assert (definition.versions[0].sha256, definition.versions[0].document) == (sha, document)


def test_availability(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    response = admin.post(f"/designer/forms/{form_id}/availability", {"open_for_requests": "y", "public": "y"})
    assert response.status_code == 303
    with app.app_context():
        definition = definitions.get_definition(db.session, "form", form_id)
        assert (definition.open_for_requests, definition.public, definition.archived) == (True, True, False)
    admin.post(f"/designer/forms/{form_id}/availability", {"archived": "y"})
    link = f'<a href="/designer/forms/{form_id}">Customer complaint</a>'
    assert link not in text(admin.get("/designer/forms/"))
    assert link in text(admin.get("/designer/forms/?archived=1"))
    assert "Availability changed" in text(admin.get(f"/designer/forms/{form_id}/versions"))


# --- export and import -------------------------------------------------------------------------


def test_export_and_import(app: Any, admin: Web) -> None:
    response = import_form(admin, publish="y")
    assert response.status_code == 303
    form_id = int(response.headers["Location"].rsplit("/", 1)[1])
    exported = admin.get(f"/designer/forms/{form_id}/export")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="complaint.form.json"'
    assert json.loads(exported.data) == json.loads(COMPLAINT)
    assert admin.get(f"/designer/forms/{form_id}/export?version=1").data == exported.data
    # The export imports again, under another short name, and into the form itself.
    copy = import_form(admin, exported.data, "complaint.form.json", slug="complaint_copy")
    assert copy.status_code == 303
    taken = import_form(admin, exported.data)
    assert taken.status_code == 422 and "exists already" in text(taken)
    into = admin.post(f"/designer/forms/{form_id}/import", {"file": (io.BytesIO(exported.data), "x.json")},
                      content_type="multipart/form-data")
    assert into.status_code == 303


HOSTILE = [
    (b"not json at all", "not valid JSON"),
    (b"[" * 5000 + b"]" * 5000, "nests objects and lists"),
    (b'{"schema_version": 1, "title": "x", "title": "y", "pages": []}', "appears twice"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (json.dumps({"schema_version": 1, "title": XSS, "pages": [{"key": "p", "title": "P", "fields": [
        {"type": "rocket", "key": "a", "label": IMG}]}]}).encode(), "Unknown field type"),
    (b'{"schema_version": 99, "title": "x", "pages": []}', "newer Casework"),
    (b" " * (1024 * 1024 + 10), "larger than"),
]


@pytest.mark.parametrize(("raw", "reason"), HOSTILE)
def test_hostile_files_are_refused_and_change_nothing(app: Any, admin: Web, raw: bytes, reason: str) -> None:
    form_id = int(import_form(admin).headers["Location"].rsplit("/", 1)[1])
    before = draft(app, form_id)
    with app.app_context():
        count = db.session.query(Definition).count()
    response = import_form(admin, raw, "evil.form.json")
    assert response.status_code == 422
    assert reason in text(response) and "nothing was changed" in text(response)
    assert XSS not in text(response) and IMG not in text(response)
    response = admin.post(f"/designer/forms/{form_id}/import", {"file": (io.BytesIO(raw), "evil.json")},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and reason in text(response)
    assert draft(app, form_id) == before
    with app.app_context():
        assert db.session.query(Definition).count() == count


# --- output encoding and access ------------------------------------------------------------------


def test_admin_written_text_is_escaped_in_designer_preview_and_versions(app: Any, admin: Web) -> None:
    form_id = create_form(admin, title="Complaint")
    edit(admin, app, form_id, "/fields", {"type": "single_choice", "page": "details"})
    edit(admin, app, form_id, "/fields/choice", {
        "present": ["label", "help", "options"], "label": XSS, "help": IMG,
        "option_label": [XSS, IMG], "option_value": ["a", "b"]})
    edit(admin, app, form_id, "/fields/subject/condition", {
        "which": "visible_if", "enabled": "1", "rows": "1", "field-0": "choice", "op-0": "eq", "value-0": "a"})
    edit(admin, app, form_id, "/settings", {"title": XSS, "description": IMG})
    edit(admin, app, form_id, "/publish", {"change_note": XSS})
    urls = [f"/designer/forms/{form_id}?field=choice", f"/designer/forms/{form_id}?field=subject",
            f"/designer/forms/{form_id}/versions", f"/designer/forms/{form_id}/versions/1", "/designer/forms/"]
    pages = [admin.get(url) for url in urls]
    for response in pages:
        html = text(response)
        assert response.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html, response.request.path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    editor = text(pages[0])
    assert 'id="preview-form"' in editor and "&lt;img src=x onerror=alert(1)&gt;" in editor


@pytest.mark.parametrize("who", ["agent", "requester", "auditor"])
def test_only_admins_may_design_forms(app: Any, web: Web, demo_users: Any, who: str) -> None:
    web.login("admin@example.com")
    form_id = create_form(web)
    web.logout()
    web.login(f"{who}@example.com")
    for url in ("/designer/forms/", f"/designer/forms/{form_id}", f"/designer/forms/{form_id}/versions",
                f"/designer/forms/{form_id}/export"):
        assert web.get(url).status_code == 403
    assert web.post(f"/designer/forms/{form_id}/fields", {"type": "email", "page": "details"}).status_code == 403
    assert web.post("/designer/forms/new", {"title": "Mine", "slug": "mine"}).status_code == 403


# --- command line ------------------------------------------------------------------------------


def test_cli_export_and_import(app: Any, runner: Any, demo_users: Any, tmp_path: Path) -> None:
    source = tmp_path / "complaint.form.json"
    source.write_bytes(COMPLAINT)
    result = runner.invoke(args=["forms", "import", str(source), "--publish"])
    assert result.exit_code == 0, result.output
    assert "Imported form 'complaint' (Customer complaint): published as version 1." in result.output
    result = runner.invoke(args=["forms", "import", str(source), "--slug", "copy"])
    assert result.exit_code == 0 and "saved as the draft" in result.output
    result = runner.invoke(args=["forms", "export", "complaint"])
    assert result.exit_code == 0 and json.loads(result.output) == json.loads(COMPLAINT)
    target = tmp_path / "out" / "v1.form.json"
    target.parent.mkdir()
    result = runner.invoke(args=["forms", "export", "complaint", "--version", "1", "-o", str(target)])
    assert result.exit_code == 0 and json.loads(target.read_bytes()) == json.loads(COMPLAINT)


def test_cli_reports_bad_files_and_names_clearly(app: Any, runner: Any, demo_users: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.form.json"
    bad.write_text('{"schema_version": 1, "title": "x", "pages": [{"key": "p", "title": "P", "fields": '
                   '[{"type": "rocket", "key": "a"}]}]}')
    result = runner.invoke(args=["forms", "import", str(bad)])
    assert result.exit_code == 1
    assert "not a valid Casework form" in result.output
    assert "pages[0].fields[0].type: Unknown field type" in result.output
    with app.app_context():
        assert definitions.find_definition(db.session, "form", "broken") is None
    bad.write_bytes(b"\x00\x01")
    assert "not valid JSON" in runner.invoke(args=["forms", "import", str(bad)]).output
    result = runner.invoke(args=["forms", "export", "nothing"])
    assert result.exit_code == 1 and "No form has the short name 'nothing'" in result.output
    good = tmp_path / "complaint.form.json"
    good.write_bytes(COMPLAINT)
    runner.invoke(args=["forms", "import", str(good)])
    result = runner.invoke(args=["forms", "export", "complaint", "--version", "4"])
    assert result.exit_code == 1 and "has no version 4" in result.output
    result = runner.invoke(args=["forms", "import", str(good), "--as", "agent@example.com"])
    assert result.exit_code == 1 and "No admin has the e-mail address" in result.output


def test_every_field_type_has_a_working_side_panel(app: Any, admin: Web) -> None:
    from forms.fieldtypes import FIELD_TYPES

    form_id = create_form(admin)
    edit(admin, app, form_id, "/fields", {"type": "group", "page": "details"})
    response = edit(admin, app, form_id, "/fields", {"type": "decimal", "page": "details", "group": "rows"})
    assert response.status_code == 200 and 'data-group="rows"' in text(response)
    for type_name in FIELD_TYPES:
        if type_name != "group":
            edit(admin, app, form_id, "/fields", {"type": type_name, "page": "details"})
    document, _ = draft(app, form_id)
    keys_of_all = [f["key"] for f in document["pages"][0]["fields"]] + ["number"]
    for key in keys_of_all:
        html = text(admin.get(f"/designer/forms/{form_id}?field={key}", headers={"HX-Request": "true"}))
        assert f'id="props-{key}"' in html and f'id="cb-{key}-visible_if"' in html, key
        # Every visible input of the side panel has a label.
        form = html[html.index(f'id="props-{key}"'):html.index("</form>", html.index(f'id="props-{key}"'))]
        unlabelled = r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|checkbox|radio)")[^>]*id="([^"]+)"'
        for input_id in re.findall(unlabelled, form):
            assert f'for="{input_id}"' in form, (key, input_id)
    sub = text(admin.get(f"/designer/forms/{form_id}?field=number", headers={"HX-Request": "true"}))
    assert "Add a field to each row" not in sub
    builder = text(admin.get(f"/designer/forms/{form_id}/fields/number/condition",
                             query_string={"which": "visible_if", "enabled": "1"}))
    assert '<option value="rows_item">Item</option>' in builder  # a field of the same row
    assert "Add a field to each row" in text(admin.get(f"/designer/forms/{form_id}?field=rows"))
    assert draft(app, form_id)[0]["pages"][0]["fields"][1]["fields"][1]["key"] == "number"


def test_without_javascript_edits_redirect_back_to_the_editor(app: Any, admin: Web) -> None:
    form_id = create_form(admin)
    _, revision = draft(app, form_id)
    response = admin.post(f"/designer/forms/{form_id}/fields", {"type": "email", "page": "details",
                                                                "revision": str(revision)})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/{form_id}?field=email")
    page = text(admin.get(response.headers["Location"]))
    assert "Added a email field" in page or "Added an email field" in page or "Added a" in page
    assert 'aria-current="true"' in card(page, "email")
