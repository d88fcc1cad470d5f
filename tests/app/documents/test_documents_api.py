"""The package's front door: light to import, and jobs built from contexts carry the right metadata."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.documents.dossier import block_document_request, dossier_request
from app.documents.render_request import Attachment
from app.documents.samples import sample_audit_exports, sample_dossier_context
from case_types.document_templates import AuditTableBlock, BlockDocument, HeadingBlock

ROOT = Path(__file__).resolve().parents[3]


def test_importing_the_package_does_not_import_weasyprint() -> None:
    """Web processes build jobs; only the renderer's child pays WeasyPrint's second and 57 MB."""
    code = ("import sys, app.documents.dossier, app.documents.child, app.documents.queue\n"
            "print('weasyprint' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_a_dossier_request_attaches_the_audit_log_and_is_named_by_its_chain_head() -> None:
    context = sample_dossier_context(fields=3, events=5, steps=1)
    audit_json, audit_csv = sample_audit_exports(context.audit)
    job = dossier_request(context, audit_json=audit_json, audit_csv=audit_csv)
    assert [(a.name, a.data, a.relationship) for a in job.attachments] == [
        ("audit.json", audit_json, "Data"),
        ("audit.csv", audit_csv, "Data"),
    ]
    assert job.metadata.stable_id == f"{context.ref}/dossier/{context.chain_head}"
    assert job.metadata.created_at == context.generated_at
    assert job.variant == "pdf/a-3b"
    assert context.chain_head in job.html


def test_a_block_document_request_mentions_attachments_only_when_it_has_them() -> None:
    context = sample_dossier_context(fields=3, events=5, steps=1)
    document = BlockDocument(template_name="Decision letter", version=4, blocks=[HeadingBlock(text="{{case_ref}}")])
    job = block_document_request(document, context)
    assert job.metadata.stable_id == f"{context.ref}/Decision letter@v4/{context.chain_head}"
    assert job.attachments == ()
    with_audit = BlockDocument(template_name="Letter", version=1, blocks=[AuditTableBlock(limit=3)])
    plain = block_document_request(with_audit, context)
    attached = block_document_request(
        with_audit, context, attachments=[Attachment("audit.json", b"{}"), Attachment("audit.csv", b"")]
    )
    assert "attached to this PDF" not in plain.html
    assert "attached to this PDF" in attached.html
