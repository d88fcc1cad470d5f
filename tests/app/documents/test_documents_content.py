"""What decides a document's bytes, and the content digest that does not care about the rest."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

from app.documents.content import canonical_content, content_digest
from app.documents.dossier import dossier_request
from app.documents.render import render_pdf, render_pdf_for
from app.documents.render_request import Attachment, PdfMetadata, RenderRequest
from app.documents.samples import sample_audit_exports
from app.documents.toolchain import current_toolchain
from case_types.document_templates import DossierContext
from tests.app.documents.conftest import tool_output
from tests.app.documents.servers import NO_HARFBUZZ_SUBSET

ROOT = Path(__file__).resolve().parents[3]


def _job(context: DossierContext) -> RenderRequest:
    audit_json, audit_csv = sample_audit_exports(context.audit)
    return dossier_request(context, audit_json=audit_json, audit_csv=audit_csv)


def _render_elsewhere(job: RenderRequest, tmp_path: Path, *, without_harfbuzz_subset: bool,
                      seed: int) -> tuple[bytes, str]:
    """Render `job` in a fresh interpreter (another hash seed; optionally without HarfBuzz-Subset)."""
    (tmp_path / "job.pickle").write_bytes(pickle.dumps(job))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONHASHSEED"] = str(seed)
    if without_harfbuzz_subset:
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(NO_HARFBUZZ_SUBSET)
        env["PYTHONPATH"] = str(site)
    code = ("import pickle, sys\nfrom app.documents.render import render_pdf_for\n"
            "from app.documents.toolchain import current_toolchain\n"
            f"job = pickle.loads(open({str(tmp_path / 'job.pickle')!r}, 'rb').read())\n"
            f"open({str(tmp_path / 'out.pdf')!r}, 'wb').write(render_pdf_for(job))\n"
            "print(current_toolchain().font_subsetter)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "out.pdf").read_bytes(), done.stdout.strip()


def test_the_content_digest_is_the_same_whichever_library_subsets_the_fonts(
        small_context: DossierContext, tmp_path: Path) -> None:
    job = _job(small_context)
    here = render_pdf_for(job)
    assert current_toolchain().font_subsetter == "harfbuzz"
    again, subsetter = _render_elsewhere(job, tmp_path, without_harfbuzz_subset=False, seed=7)
    assert subsetter == "harfbuzz" and again == here  # another process, another hash seed: the same bytes
    other, subsetter = _render_elsewhere(job, tmp_path, without_harfbuzz_subset=True, seed=8)
    assert subsetter == "fonttools"
    assert other != here  # the font subsets differ...
    assert content_digest(other) == content_digest(here)  # ...what the document shows and carries does not
    assert canonical_content(here).count(b'"text"') > 20


def test_the_content_digest_sees_a_changed_value_an_attachment_and_the_layout(small_context: DossierContext) -> None:
    job = _job(small_context)
    base = content_digest(render_pdf_for(job))
    fields = list(small_context.fields)
    fields[0] = dataclasses.replace(fields[0], value=fields[0].value + "1")
    changed_value = _job(dataclasses.replace(small_context, fields=fields))
    assert content_digest(render_pdf_for(changed_value)) != base
    attachments = (*job.attachments[:1], Attachment("audit.csv", job.attachments[1].data + b"\n",
                                                    description=job.attachments[1].description))
    assert content_digest(render_pdf_for(dataclasses.replace(job, attachments=attachments))) != base
    # The same text moved by a millimetre is another layout.
    moved = dataclasses.replace(job, html=job.html.replace("<body", '<body style="padding-top: 1mm"', 1))
    assert moved.html != job.html
    assert content_digest(render_pdf_for(moved)) != base


def test_only_the_shipped_fonts_are_used(tmp_path: Path, need_tools: None) -> None:
    """A family the machine has (Debian's fonts-dejavu-core) but Casework does not ship is not used: the
    shipped fonts stand in, so the output does not depend on what is installed."""
    html = ('<html><head><style>@font-face { font-family: "Casework Sans"; src: url("fonts/DejaVuSans.ttf"); }'
            'p { font-family: "DejaVu Serif", "Casework Sans"; }</style></head>'
            '<body><p>Serif on this machine, not in the document</p></body></html>')
    installed = subprocess.run(["fc-list", ":family=DejaVu Serif", "family"], capture_output=True, text=True,
                               timeout=30).stdout
    assert "DejaVu Serif" in installed  # the machine has it (fonts-dejavu-core), so the test means something
    from datetime import UTC, datetime

    metadata = PdfMetadata(title="Fonts", author="Casework tests", subject="fonts", keywords=(),
                           stable_id="fonts-test", created_at=datetime(2025, 1, 1, tzinfo=UTC))
    pdf = render_pdf(html, metadata=metadata, variant=None)
    fonts = [row.split()[0] for row in tool_output(["pdffonts"], pdf, tmp_path).stdout.splitlines()[2:]]
    assert fonts and all("Serif" not in name for name in fonts), fonts
