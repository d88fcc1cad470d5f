"""The dossier as a reader, an archivist and an auditor see it: text, PDF/A-3b structure, reproducibility."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pikepdf
import pytest

from app.documents.errors import AssetMissing
from app.documents.fetcher import AssetFetcher, Mount, default_mounts
from app.documents.render import pdf_identifier, render_pdf
from app.documents.samples import sample_dossier_context
from app.documents.templating import block_document_html, dossier_html
from case_types.document_templates import (
    BlockDocument,
    FooterBlock,
    HeaderBlock,
    HeadingBlock,
    SignaturesBlock,
    TextBlock,
)
from cases.storage import LocalFolder
from tests.app.documents.conftest import (
    audit_attachments,
    metadata_for,
    open_pdf,
    pdftotext,
    squeeze,
    tool_output,
)
from tests.support.documents import PNG

CONTEXT = sample_dossier_context(fields=14, events=60, steps=6)


@pytest.fixture(scope="module")
def dossier() -> bytes:
    """One dossier, rendered once for the whole module (about a second)."""
    return render_pdf(dossier_html(CONTEXT), metadata=metadata_for(CONTEXT), attachments=audit_attachments(CONTEXT))


def test_reference_fields_and_every_timeline_step_are_in_the_text(dossier: bytes) -> None:
    text = pdftotext(dossier)
    assert CONTEXT.ref in text
    assert CONTEXT.title in text
    for row in CONTEXT.fields:
        assert row.label in text
        for line in row.value.splitlines():
            assert line in text
    for step in CONTEXT.timeline:
        assert step.text in text
    assert "All 60 audit events are shown" in text
    assert "audit.json and audit.csv" in text


def test_every_page_footer_carries_the_reference_chain_head_and_page_x_of_y(dossier: bytes) -> None:
    pages = pdftotext(dossier).split("\f")[:-1]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert CONTEXT.ref in page
        assert CONTEXT.chain_head in squeeze(page)
        assert f"page {number} of {len(pages)}" in page


def test_table_headers_repeat_on_every_page_of_the_audit_table() -> None:
    context = sample_dossier_context(fields=1, events=150, steps=1)
    pdf = render_pdf(dossier_html(context), metadata=metadata_for(context), variant=None)
    pages = pdftotext(pdf).split("\f")[:-1]
    continued = [page for page in pages[1:] if "agent" in page]
    assert continued
    for page in continued:
        assert "# " in page and "Who" in page and "Event" in page


def test_the_embedded_audit_log_is_exactly_what_was_passed(dossier: bytes) -> None:
    expected = {attachment.name: attachment.data for attachment in audit_attachments(CONTEXT)}
    with open_pdf(dossier) as pdf:
        embedded = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    assert embedded == expected
    assert json.loads(embedded["audit.json"])["items"][0]["seq"] == 1


def test_pdfa_3b_identification_output_intent_and_associated_files(dossier: bytes) -> None:
    with open_pdf(dossier) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == CONTEXT.title
        assert pdf.pdf_version == "1.7"
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1
        assert intents[0].S == pikepdf.Name.GTS_PDFA1
        assert intents[0].DestOutputProfile.read_bytes()[36:40] == b"acsp"  # an ICC profile
        associated = pdf.Root.AF
        assert len(associated) == 2
        names = {str(spec.UF) for spec in associated}
        assert names == {"audit.json", "audit.csv"}
        for spec in associated:
            assert spec.AFRelationship == pikepdf.Name.Data
        file_specs = pdf.Root.Names.EmbeddedFiles.Names[1::2]
        assert {spec.objgen for spec in file_specs} == {spec.objgen for spec in associated}


def test_document_information_and_fixed_identifier(dossier: bytes) -> None:
    metadata = metadata_for(CONTEXT)
    with open_pdf(dossier) as pdf:
        info = pdf.docinfo
        assert str(info.Title) == metadata.title
        assert str(info.Author) == metadata.author
        assert str(info.Subject) == metadata.subject
        assert str(info.Keywords) == ", ".join(metadata.keywords)
        assert str(info.CreationDate) == "D:20250402083000Z"
        assert str(info.ModDate) == "D:20250402083000Z"
        assert bytes(pdf.trailer.ID[0]) == pdf_identifier(metadata.stable_id)
        for spec in pdf.Root.AF:
            params = spec.EF.F.Params
            assert str(params.CreationDate) == str(params.ModDate) == "D:20250402083000Z"


def test_qpdf_finds_no_damage(dossier: bytes, tmp_path: Path, need_tools: None) -> None:
    done = tool_output(["qpdf", "--check"], dossier, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No syntax or stream encoding errors" in done.stdout


def test_every_font_is_embedded_and_is_ours(dossier: bytes, tmp_path: Path, need_tools: None) -> None:
    done = tool_output(["pdffonts"], dossier, tmp_path)
    rows = done.stdout.splitlines()[2:]
    assert rows
    for row in rows:
        name, emb = row.split()[0], row.split()[-5]
        assert emb == "yes", row
        assert "Casework-Sans" in name, row  # the shipped fonts, not whatever the machine has


def test_rendering_again_gives_the_same_bytes(dossier: bytes) -> None:
    again = render_pdf(dossier_html(CONTEXT), metadata=metadata_for(CONTEXT), attachments=audit_attachments(CONTEXT))
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(dossier).hexdigest()


def test_another_stable_id_gives_another_identifier(dossier: bytes) -> None:
    other = render_pdf(dossier_html(CONTEXT), metadata=metadata_for(CONTEXT, stable_id="other"),
                       attachments=audit_attachments(CONTEXT))
    with open_pdf(other) as a, open_pdf(dossier) as b:
        assert bytes(a.trailer.ID[0]) != bytes(b.trailer.ID[0])


def test_a_draft_says_so_on_every_page() -> None:
    """A banner on the first page, DRAFT in every page header (and a diagonal watermark, drawn rotated,
    which text extraction does not read back as a word)."""
    context = sample_dossier_context(fields=30, events=80, steps=3, draft=True)
    pages = pdftotext(render_pdf(dossier_html(context), metadata=metadata_for(context), variant=None)).split("\f")[:-1]
    assert len(pages) >= 2
    assert "DRAFT: this case is not complete" in pages[0]
    for page in pages:
        assert "DRAFT" in page


def test_the_audit_table_is_capped_and_says_where_the_rest_is() -> None:
    context = sample_dossier_context(fields=2, events=30, steps=1)
    text = pdftotext(render_pdf(dossier_html(context, audit_limit=10), metadata=metadata_for(context), variant=None))
    assert "Showing the last 10 of 30 audit events" in text
    assert "attached to this PDF as audit.json and audit.csv" in text
    assert "'new value 21'" in text and "'new value 30'" in text
    assert "'new value 20'" not in text


def test_a_composed_document_with_placeholders_header_footer_and_logo(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    context = sample_dossier_context(fields=4, events=3, steps=2)
    document = BlockDocument(
        template_name="Decision letter",
        version=2,
        blocks=[
            HeaderBlock(text="{{organisation}} decisions", logo="logo.png"),
            HeadingBlock(text="Decision on {{case_ref}}"),
            TextBlock(text="Dear {{f01_applicant_name}},\n\nyour {{no_such_field}} was received."),
            SignaturesBlock(signers=["Case officer", "{{f01_applicant_name}}"]),
            FooterBlock(text="Template v2"),
        ],
    )
    fetcher = AssetFetcher(logos=LocalFolder(tmp_path, fanout=False))
    pdf = render_pdf(block_document_html(document, context), metadata=metadata_for(context), fetcher=fetcher)
    text = pdftotext(pdf)
    assert "Example Municipality decisions" in text
    assert f"Decision on {context.ref}" in text
    assert "Dear Applicant name value 1" in text
    assert "[missing: no_such_field]" in text
    assert "Case officer" in text and "Template v2" in text
    assert "https://casework.invalid/assets/uploads/logo.png" in fetcher.served
    with open_pdf(pdf) as opened:
        assert len(opened.pages[0].get_images()) == 1


def test_a_missing_font_is_a_clear_error_not_a_silent_fallback(tmp_path: Path) -> None:
    mounts = default_mounts()
    mounts["fonts"] = Mount(tmp_path, mounts["fonts"].types, mounts["fonts"].max_bytes, required=True)
    with pytest.raises(AssetMissing, match="make assets"):
        render_pdf(dossier_html(CONTEXT), metadata=metadata_for(CONTEXT), fetcher=AssetFetcher(mounts))


def test_only_pdfa_3_variants_carry_attachments() -> None:
    with pytest.raises(ValueError, match="unsupported PDF variant"):
        render_pdf("<p>x</p>", metadata=metadata_for(CONTEXT), variant="pdf/a-2b")
