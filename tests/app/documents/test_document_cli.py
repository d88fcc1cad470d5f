"""`casework documents render` and `casework audit export`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from app.extensions import db
from app.jobs import shutdown_pools
from tests.app.documents.conftest import pdftotext
from tests.app.documents.real_cases import file_case, publish_complaint_with_templates, work_and_close
from tests.conftest import make_config


def test_render_a_dossier_from_the_command_line_and_export_the_audit_log(database_url: str, tmp_path: Path) -> None:
    from app import create_app

    app: Any = create_app(make_config(database_url, DOCUMENT_FOLDER=str(tmp_path / "documents"),
                                      DOCUMENTS_AUTO_RENDER=True))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    publish_complaint_with_templates(app, templates=[])
    open_id = file_case(app)
    closed_id = file_case(app)
    work_and_close(app, closed_id)
    shutdown_pools(app)  # the closing's own dossier renders in the background, in the documents pool

    draft = runner.invoke(args=["documents", "render", "cmp-000001", "--draft"])
    assert draft.exit_code == 0, draft.output
    sha256, path = draft.output.split()
    pdf = Path(path).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == sha256 and Path(path).is_relative_to(tmp_path / "documents")
    assert "DRAFT: this case is not complete" in pdftotext(pdf)

    final = runner.invoke(args=["documents", "render", "CMP-000002"])
    assert final.exit_code == 0, final.output
    assert "DRAFT" not in pdftotext(Path(final.output.split()[1]).read_bytes())
    refused = runner.invoke(args=["documents", "render", "CMP-000001"])
    assert refused.exit_code != 0 and "is open" in refused.output
    refused = runner.invoke(args=["documents", "render", "CMP-000002", "--draft"])
    assert refused.exit_code != 0 and "is closed" in refused.output
    assert "No case has the reference" in runner.invoke(args=["documents", "render", "XX-1"]).output

    one = runner.invoke(args=["audit", "export", "--format", "csv", "--case", "CMP-000002"])
    rows = list(csv.reader(io.StringIO(one.output)))
    assert rows[0][:3] == ["case_ref", "stream", "seq"] and {r[0] for r in rows[1:]} == {"CMP-000002"}
    assert [r[5] for r in rows[1:]].count("document.generated") == 2  # the background one and ours
    out = tmp_path / "all.json"
    everything = runner.invoke(args=["audit", "export", "--format", "json", "-o", str(out)])
    assert everything.exit_code == 0 and "Wrote" in everything.output
    exported = json.loads(out.read_text())
    streams = {item["stream"] for item in exported["items"]}
    assert {f"case:{open_id}", f"case:{closed_id}", "form:complaint", "case_type:complaint"} <= streams
    assert exported["cases"] == {f"case:{open_id}": "CMP-000001", f"case:{closed_id}": "CMP-000002"}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_documents_toolchain_names_the_renderer_and_the_signing_certificate(tmp_path: Path) -> None:
    from app import create_app

    app: Any = create_app(make_config(f"sqlite:///{tmp_path / 'unused.db'}"))
    done = app.test_cli_runner().invoke(args=["documents", "toolchain"])
    assert done.exit_code == 0, done.output
    assert "Renderer: WeasyPrint 70." in done.output and "fonts subset with HarfBuzz-Subset" in done.output
    assert "WARNING" not in done.output
    assert "Documents are signed by" in done.output and "certificate SHA-256" in done.output
    off = create_app(make_config(f"sqlite:///{tmp_path / 'unused.db'}", DOCUMENT_SIGNING=False))
    assert "not signed" in off.test_cli_runner().invoke(args=["documents", "toolchain"]).output
