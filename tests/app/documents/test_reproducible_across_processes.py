"""Reproducible documents across processes and toolchains, checked the way an auditor checks them.

One server renders a closed case's documents; a second server with another hash seed checks them (same
bytes); a third one, on a machine without HarfBuzz-Subset (simulated, see servers.py), checks them too:
other bytes, same content, and it says so at start-up. A stored dossier whose field value was changed
(re-signed with the instance's own key and its hash updated in the database, as someone with access to
both could do) is reported as "does not match".
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from cases.models import Document
from tests.app.documents.conftest import pdftotext, squeeze
from tests.app.documents.real_cases import LETTER, file_case, publish_complaint_with_templates, work_and_close
from tests.app.documents.servers import Browser, Server, run_check
from tests.conftest import make_config

pytestmark = pytest.mark.timeout(900)


def _documents(app: Any, case_id: int) -> list[Document]:
    with app.app_context():
        rows = list(db.session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def _wait_rendered(app: Any, case_id: int, server: Server, timeout: float = 300) -> list[Document]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _documents(app, case_id)
        if rows and all(row.status in ("done", "failed") for row in rows):
            assert all(row.status == "done" for row in rows), [(r.kind, r.reason) for r in rows]
            return rows
        assert time.monotonic() < deadline, server.output()
        time.sleep(1)


def _forge_changed_value(app: Any, dossier: Document, instance: Path) -> None:
    """Render the dossier with one field value changed, sign it with the instance's key, store it over the
    original and record its hashes: only the audit chain still knows the real value."""
    from app.documents.certificate import signing_key
    from app.documents.pipeline import make_in_child
    from app.documents.queue import render_request_for
    from app.uploads import document_store
    from cases import document_content

    with app.app_context():
        row = db.session.get(Document, dossier.id)
        assert row is not None
        data = document_content.render_input(db.session, row, organisation=app.config["ORGANISATION_NAME"])
        fields = [dataclasses.replace(f, value="CHANGED-4711") if f.key == "order_number" else f
                  for f in data.context.fields]
        assert fields != list(data.context.fields)
        forged_input = dataclasses.replace(data, context=dataclasses.replace(data.context, fields=fields))
        key = signing_key({}, instance)
        forged = make_in_child(render_request_for(forged_input, app), key, reason="forged")
        assert "CHANGED-4711" in squeeze(pdftotext(forged.pdf))
        document_store(app).put(row.storage_name or "", io.BytesIO(forged.pdf))
        row.sha256, row.content_sha256 = hashlib.sha256(forged.pdf).hexdigest(), forged.content_sha256
        row.unsigned_sha256 = forged.unsigned_sha256
        db.session.commit()
        db.session.remove()


def test_documents_check_out_across_hash_seeds_and_font_subsetters(database_url: str, tmp_path: Path) -> None:
    from app import create_app

    instance = tmp_path / "instance"
    instance.mkdir()
    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(instance / "documents")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[LETTER])
    case_id = file_case(app, name="Zoë Ångström-Müller")
    work_and_close(app, case_id)
    queued = _documents(app, case_id)
    assert [row.status for row in queued] == ["queued", "queued"]  # the dossier and the letter

    # Server A (hash seed 1) renders what the closing queued (`serve` picks up left-over documents).
    first = Server(database_url, instance, hash_seed=1, log=tmp_path / "a.log")
    try:
        rows = _wait_rendered(app, case_id, first)
    finally:
        first_output = first.stop()
    assert "HarfBuzz-Subset" not in first_output, first_output
    assert all(row.font_subsetter == "harfbuzz" and row.weasyprint_version and row.pango_version
               and row.harfbuzz_version and row.content_sha256 and row.signer_sha256 for row in rows)
    assert all(row.sha256 != row.unsigned_sha256 for row in rows)  # what is stored is the signed file
    dossier, letter = rows

    # Server B (hash seed 2): the same bytes again.
    second = Server(database_url, instance, hash_seed=2, log=tmp_path / "b.log")
    third = None
    try:
        browser = Browser(second.base)
        browser.login("auditor@example.com")
        for row in rows:
            page = run_check(browser, row.id)
            assert "OK: stored file intact and reproduced by the audit chain" in page, page
            assert "same bytes" in page and "valid, by" in page

        # Server C (hash seed 3, no HarfBuzz-Subset): other bytes, the same content; it says why at start-up.
        third = Server(database_url, instance, hash_seed=3, without_harfbuzz_subset=True, log=tmp_path / "c.log")
        other = Browser(third.base)
        other.login("auditor@example.com")
        for row in rows:
            page = run_check(other, row.id)
            assert "Rendered with a different toolchain; content identical" in page, page
            assert "different bytes" in page and "fonts subset with fontTools" in page
            assert "Does not match" not in page
        deadline = time.monotonic() + 60
        while "WARNING: HarfBuzz-Subset (libharfbuzz-subset0 >= 4.1) is missing" not in third.output():
            assert time.monotonic() < deadline, third.output()
            time.sleep(0.5)

        # A changed field value in the stored file, hashes updated and signed with the instance's key.
        _forge_changed_value(app, dossier, instance)
        for browser_here in (browser, other):
            page = run_check(browser_here, dossier.id)
            assert "Does not match" in page, page
            assert "The audit chain now renders different content" in page
        # The letter, untouched, still checks out.
        assert "OK: stored file intact" in run_check(browser, letter.id)
    finally:
        second.stop()
        if third is not None:
            third.stop()
