"""The document template designer: compose a case type's templates from blocks, with case values to insert,
a logo checked by content, a live preview from the PDF engine, and the draft's revision guarding every save."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from case_types import template_editing as editing
from cases import audit, definitions
from tests.app.documents.conftest import pdftotext
from tests.app.documents.real_cases import file_case, publish_complaint_with_templates
from tests.conftest import Web, make_config
from tests.support.documents import PNG


@pytest.fixture
def designer(database_url: str, tmp_path: Path) -> Any:
    from app import create_app

    app = create_app(make_config(database_url, UPLOAD_FOLDER=str(tmp_path / "uploads"),
                                 DOCUMENT_FOLDER=str(tmp_path / "documents")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[])
    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None
        app.config["TEST_CASE_TYPE_ID"] = definition.id
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _admin(app: Any) -> Web:
    web = Web(app.test_client())
    web.login("admin@example.com")
    return web


def _revision(page: str) -> str:
    found = re.search(r'name="expected_revision" value="(\d+)"', page)
    assert found, page[:2000]
    return found.group(1)


def _draft_templates(app: Any) -> list[dict[str, Any]]:
    with app.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None
        found = editing.templates(definitions.draft_document(definition))
        db.session.remove()
    return found


def test_compose_a_template_from_blocks(designer: Any) -> None:
    web = _admin(designer)
    base = f"/designer/case-types/{designer.config['TEST_CASE_TYPE_ID']}/documents"
    assert "Document templates" in web.get(f"/designer/case-types/{designer.config['TEST_CASE_TYPE_ID']}") \
        .get_data(as_text=True)
    listing = web.get(f"{base}/").get_data(as_text=True)
    assert "No templates yet" in listing
    created = web.post(f"{base}/", {"name": "Decision letter", "expected_revision": _revision(listing)})
    assert created.status_code == 303 and created.headers["Location"].endswith(f"{base}/0")
    page = web.get(f"{base}/0").get_data(as_text=True)
    # Every field of the form is offered to insert, beside the built-in values.
    for key in ("name", "order_number", "description", "case_ref", "organisation"):
        assert f'data-insert="{{{{{key}}}}}"' in page, key
    assert 'src="/static/js/documents.js"' in page and "<script>" not in page

    added = web.post(f"{base}/0/blocks", {"kind": "signatures", "expected_revision": _revision(page)}, htmx=True)
    assert added.status_code == 200
    fragment = added.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="doc-editor"') and "Block added." in fragment
    saved = web.post(f"{base}/0/blocks/1", {"text": "Dear {{name}},\r\n\r\nWe upheld {{ case_ref }}.",
                                           "expected_revision": _revision(fragment)}, htmx=True)
    assert saved.status_code == 200 and "To fix" not in saved.get_data(as_text=True)
    bad = web.post(f"{base}/0/blocks/2", {"signers": "Case officer\n{{nickname}}\n",
                                         "expected_revision": _revision(saved.get_data(as_text=True))}, htmx=True)
    text = bad.get_data(as_text=True)
    assert "Unknown placeholder {{nickname}}" in text and 'id="block-2"' in text
    stale = web.post(f"{base}/0/blocks/0", {"text": "x", "expected_revision": "1"}, htmx=True)
    assert stale.status_code == 409 and "Someone else changed this draft" in stale.get_data(as_text=True)
    moved = web.post(f"{base}/0/blocks/2/move", {"direction": "up", "expected_revision": _revision(text)},
                     htmx=True)
    assert moved.status_code == 200
    table = web.post(f"{base}/0/blocks", {"kind": "field_table",
                                          "expected_revision": _revision(moved.get_data(as_text=True))}, htmx=True)
    chosen = web.post(f"{base}/0/blocks/3", {"title": "Your complaint", "fields": ["order_number", "category"],
                                            "expected_revision": _revision(table.get_data(as_text=True))}, htmx=True)
    removed = web.post(f"{base}/0/blocks/0/remove", {"expected_revision": _revision(chosen.get_data(as_text=True))},
                       htmx=True)
    assert removed.status_code == 200
    blocks = _draft_templates(designer)[0]["blocks"]
    assert [b["kind"] for b in blocks] == ["signatures", "text", "field_table"]
    assert blocks[0]["signers"] == ["Case officer", "{{nickname}}"]
    assert blocks[1]["text"] == "Dear {{name}},\n\nWe upheld {{ case_ref }}."
    assert blocks[2] == {"kind": "field_table", "fields": ["order_number", "category"], "title": "Your complaint"}

    refused = web.post(f"{base}/0/blocks", {"kind": "script", "expected_revision": _revision(
        removed.get_data(as_text=True))}, htmx=True)
    assert refused.status_code == 422 and "Choose a kind of block" in refused.get_data(as_text=True)

    with designer.app_context():
        definition = definitions.find_definition(db.session, "case_type", "complaint")
        assert definition is not None
        changes = [json_changes for e in audit.events(db.session, definition.stream)
                   if e.kind == "case_type.draft_saved" for json_changes in [e.payload]]
        db.session.remove()
    assert any("Document template 'Decision letter' added." in c for c in changes)


def test_a_logo_is_checked_by_content_and_lands_in_the_page_header(designer: Any, tmp_path: Path) -> None:
    web = _admin(designer)
    base = f"/designer/case-types/{designer.config['TEST_CASE_TYPE_ID']}/documents"
    listing = web.get(f"{base}/").get_data(as_text=True)
    web.post(f"{base}/", {"name": "Letter", "expected_revision": _revision(listing)})
    page = web.get(f"{base}/0").get_data(as_text=True)
    fake = web.post(f"{base}/0/logo", {"expected_revision": _revision(page),
                                       "logo": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
                    content_type="multipart/form-data")
    assert fake.status_code == 422 and "PNG or JPEG" in fake.get_data(as_text=True)
    good = web.post(f"{base}/0/logo", {"expected_revision": _revision(page),
                                       "logo": (io.BytesIO(PNG), "../../etc/evil name.png")},
                    content_type="multipart/form-data")
    assert good.status_code == 303
    header = _draft_templates(designer)[0]["blocks"][0]
    assert header["kind"] == "header" and re.fullmatch(r"logo-[0-9a-f]{32}\.png", header["logo"])
    assert (tmp_path / "uploads" / "logos" / header["logo"]).read_bytes() == PNG

    preview = web.get(f"{base}/0/preview.pdf")
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF")
    from tests.app.documents.conftest import open_pdf

    with open_pdf(preview.data) as pdf:  # the logo is drawn: the page holds an image
        assert any(page.get_images() for page in pdf.pages)


def test_the_live_preview_renders_the_draft_from_a_sample_or_a_real_case(designer: Any) -> None:
    web = _admin(designer)
    base = f"/designer/case-types/{designer.config['TEST_CASE_TYPE_ID']}/documents"
    listing = web.get(f"{base}/").get_data(as_text=True)
    web.post(f"{base}/", {"name": "Letter", "expected_revision": _revision(listing)})
    page = web.get(f"{base}/0").get_data(as_text=True)
    web.post(f"{base}/0/blocks/1", {"text": "Dear {{name}}, order {{order_number}}.",
                                   "expected_revision": _revision(page)})
    page = web.get(f"{base}/0").get_data(as_text=True)
    assert 'class="preview-page"' in page and "preview.png" in page
    image = web.get(f"{base}/0/preview.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    sample = pdftotext(web.get(f"{base}/0/preview.pdf").data)
    assert "ABC-000123" in sample and "Dear Sample your name, order Sample order number." in sample

    case_id = file_case(designer)
    real = web.get(f"{base}/0/preview.pdf?case={case_id}")
    assert "Dear Riley Requester, order ORD-123456." in pdftotext(real.data) and "CMP-000001" in pdftotext(real.data)
    assert f'<option value="{case_id}" selected>' in web.get(f"{base}/0?case={case_id}").get_data(as_text=True)
    assert web.get(f"{base}/7/preview.png").status_code == 404


def test_template_versions_follow_the_published_case_type() -> None:
    published = {"documents": [{"template_name": "Letter", "version": 4, "blocks": []}]}
    draft = editing.add_block(published, 0, "heading")[0]
    draft = editing.update_block(draft, 0, 0, editing.BlockInput(text="One"))
    draft = editing.update_block(draft, 0, 0, editing.BlockInput(text="Two"))
    draft, _ = editing.add_template(draft, "Memo", internal=True)
    settled = editing.settle_versions(draft, published)
    assert [(t["template_name"], t["version"]) for t in settled["documents"]] == [("Letter", 5), ("Memo", 1)]
    back = editing.remove_block(settled, 0, 0)
    assert editing.settle_versions(back, published)["documents"][0]["version"] == 4
    assert published == {"documents": [{"template_name": "Letter", "version": 4, "blocks": []}]}  # unchanged
    with pytest.raises(Exception, match="taken"):
        editing.add_template(published, "letter")
    with pytest.raises(Exception, match="already has a page header"):
        editing.add_block(editing.set_logo(published, 0, "logo-ab.png"), 0, "header")
