"""Hostile content in real case data and in a case type's template text: printed literally, never read,
fetched, attached or evaluated, all the way from filing through the render job to the stored PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from tests.app.documents.conftest import open_pdf, pdftotext, squeeze
from tests.app.documents.real_cases import (
    MEMO,
    file_case,
    publish_complaint_with_templates,
    render_queued,
    stored_pdf,
    work_and_close,
)
from tests.conftest import make_config
from tests.support.documents import Listener, all_stream_bytes


def hostile(port: int, canary: Path) -> list[str]:
    return [
        "<img src=file:///etc/passwd>",
        f'<link rel="attachment" href="file://{canary}">',
        "<link rel=attachment href=file:///etc/passwd>",
        f"<style>body {{ background: url(http://127.0.0.1:{port}/) }}</style>",
        f"url(http://127.0.0.1:{port}/x.png)",
        f'<img src="http://127.0.0.1:{port}/b.png">',
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% include '/etc/passwd' %}",
    ]


@pytest.fixture
def listener() -> Any:
    running = Listener()
    yield running
    running.close()


def test_hostile_case_data_and_template_text_stay_text(database_url: str, tmp_path: Path, listener: Listener) -> None:
    from app import create_app

    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-7f3a91-do-not-embed\n")
    bad = hostile(listener.port, canary)
    letter = {"template_name": "Decision letter", "version": 1, "blocks": [
        {"kind": "header", "text": bad[3]},
        {"kind": "heading", "text": bad[6] + " {{case_ref}}"},
        {"kind": "text", "text": "\n\n".join(bad) + "\n\nDear {{name}}, about: {{description}}"},
        {"kind": "signatures", "signers": [bad[0], "{{name}}"]},
        {"kind": "footer", "text": bad[1]},
    ]}
    app = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents")))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[letter, MEMO])
    description = "\n".join(bad)
    case_id = file_case(app, name=bad[0], description=description)
    work_and_close(app, case_id, comment=bad[2] + " " + bad[4])
    rows = render_queued(app, case_id)
    assert [(d.kind, d.status) for d in rows] == [("dossier", "done"), ("Decision letter", "done"),
                                                   ("Internal memo", "done")], [d.reason for d in rows]

    assert listener.requests == [], "a document reached the loopback listener"
    for row in rows:
        pdf = stored_pdf(app, row)
        with open_pdf(pdf) as opened:
            expected = {"audit.json", "audit.csv", "bundle.json"} if row.kind == "dossier" else set()
            assert set(opened.attachments) == expected, row.kind
        raw = all_stream_bytes(pdf)
        assert b"root:x:0:0" not in raw and b"CANARY-7f3a91" not in raw, row.kind
        text = squeeze(pdftotext(pdf))
        if row.kind == "dossier":
            for payload in bad:  # the description field holds them all, the name and the comment some
                assert squeeze(payload) in text, payload
        elif row.kind == "Decision letter":
            for payload in bad:
                assert squeeze(payload) in text, payload
            # Placeholders were filled once, with the hostile values printed as text.
            assert squeeze(f"Dear {bad[0]}, about: {bad[0]}") in text
            assert squeeze(bad[6] + " CMP-000001") in text

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
