"""Hostile case data and admin text: printed literally, never fetched, read, attached or evaluated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.documents.fetcher import AssetFetcher
from app.documents.render import render_pdf
from app.documents.samples import sample_dossier_context
from app.documents.templating import block_document_html, dossier_html
from case_types.document_templates import (
    AuditRow,
    BlockDocument,
    DossierContext,
    FieldRow,
    FooterBlock,
    HeaderBlock,
    HeadingBlock,
    TextBlock,
    TimelineRow,
)
from tests.app.documents.conftest import audit_attachments, metadata_for, open_pdf, pdftotext, squeeze
from tests.support.documents import Listener, all_stream_bytes


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "canary.txt"
    path.write_text("CANARY-7f3a91-do-not-embed\n")
    return path


def payloads(port: int, canary: Path) -> list[str]:
    return [
        "<img src=file:///etc/passwd>",
        f'<img src="file://{canary}">',
        "<link rel=attachment href=file:///etc/passwd>",
        f'<link rel="attachment" href="file://{canary}">',
        f"<style>@import url(http://127.0.0.1:{port}/a.css);</style>",
        f'<p style="background: url(http://127.0.0.1:{port}/)">x</p>',
        f"url(http://127.0.0.1:{port}/)",
        f'<img src="http://127.0.0.1:{port}/b.png">',
        f'<svg><image href="http://127.0.0.1:{port}/c.svg"/></svg>',
        "<base href=file:///etc/>",
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% include '/etc/passwd' %}",
        "</td></tr></table><h1>injected</h1>",
    ]


def hostile_context(port: int, canary: Path) -> DossierContext:
    base = sample_dossier_context(fields=3, events=3, steps=1)
    bad = payloads(port, canary)
    at = base.generated_at
    return replace(
        base,
        title=bad[0],
        organisation=bad[10],
        fields=[FieldRow(label=f"Field {index}", value=value, key=f"f{index}") for index, value in enumerate(bad)],
        timeline=[TimelineRow(at=at, actor=bad[2], text=value) for value in bad],
        audit=[AuditRow(seq=index + 1, at=at, actor="x", kind="data.changed", summary=value)
               for index, value in enumerate(bad)],
        audit_total=len(bad),
    )


def assert_nothing_escaped(pdf: bytes, fetcher: AssetFetcher, listener: Listener) -> None:
    assert listener.requests == [], "the renderer reached the loopback listener"
    # Nothing was even attempted: every payload stayed text, so the fetcher saw only our fonts.
    assert fetcher.refused == []
    assert all("/assets/fonts/" in url for url in fetcher.served)
    with open_pdf(pdf) as opened:
        assert set(opened.attachments) <= {"audit.json", "audit.csv"}
    raw = all_stream_bytes(pdf)
    assert b"root:x:0:0" not in raw
    assert b"CANARY-7f3a91" not in raw


def test_the_listener_would_notice_a_fetch(listener: Listener) -> None:
    """Control: WeasyPrint's default fetcher does reach the listener, so a silent listener means something."""
    from weasyprint import HTML

    HTML(string=f'<img src="http://127.0.0.1:{listener.port}/x.png">').write_pdf()
    assert listener.requests


def test_hostile_case_data_in_the_dossier_is_printed_literally(listener: Listener, canary: Path) -> None:
    context = hostile_context(listener.port, canary)
    fetcher = AssetFetcher()
    pdf = render_pdf(dossier_html(context), metadata=metadata_for(context), attachments=audit_attachments(context),
                     fetcher=fetcher)
    assert_nothing_escaped(pdf, fetcher, listener)
    text = squeeze(pdftotext(pdf))
    for payload in payloads(listener.port, canary):
        assert squeeze(payload) in text, payload


def test_hostile_admin_text_and_values_in_a_composed_document(listener: Listener, canary: Path) -> None:
    bad = payloads(listener.port, canary)
    context = hostile_context(listener.port, canary)
    text_block = "\n\n".join(f"{payload} {{{{f{index}}}}}" for index, payload in enumerate(bad))
    document = BlockDocument(
        template_name=bad[4],
        version=1,
        blocks=[
            HeaderBlock(text=bad[5]),
            HeadingBlock(text=bad[10] + " {{f0}}"),
            TextBlock(text=text_block),
            FooterBlock(text=bad[7]),
        ],
    )
    fetcher = AssetFetcher()
    pdf = render_pdf(block_document_html(document, context), metadata=metadata_for(context), fetcher=fetcher)
    assert_nothing_escaped(pdf, fetcher, listener)
    text = squeeze(pdftotext(pdf))
    for payload in bad:
        assert squeeze(payload) in text, payload
    # Placeholders were filled once, with the hostile value printed as text.
    assert squeeze(f"{bad[10]} {bad[0]}") in text


def test_html_from_elsewhere_cannot_fetch_either(listener: Listener, canary: Path) -> None:
    """Even raw HTML (not from our templates) cannot read files or reach hosts through render_pdf."""
    bad = "".join(payloads(listener.port, canary)[:10])
    fetcher = AssetFetcher()
    context = sample_dossier_context(fields=1, events=1)
    pdf = render_pdf(f"<html><body>{bad}</body></html>", metadata=metadata_for(context), fetcher=fetcher)
    assert listener.requests == []
    assert fetcher.served == []
    assert fetcher.refused  # they were tried, and refused
    with open_pdf(pdf) as opened:
        assert dict(opened.attachments) == {}
    raw = all_stream_bytes(pdf)
    assert b"root:x:0:0" not in raw and b"CANARY-7f3a91" not in raw
