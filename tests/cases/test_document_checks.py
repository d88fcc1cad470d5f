"""The verdict of a document check: what counts as a match, a toolchain change, and a difference."""

from __future__ import annotations

import dataclasses

import pytest

from cases.document_checks import CheckFacts, describe, judge
from cases.models import Document

HARFBUZZ = {"weasyprint": "70.0", "pango": "1.50.12", "harfbuzz": "6.0.0", "font_subsetter": "harfbuzz"}
FONTTOOLS = {**HARFBUZZ, "font_subsetter": "fonttools"}


def _document(**extra: object) -> Document:
    values: dict[str, object] = dict(sha256="s" * 64, unsigned_sha256="u" * 64, content_sha256="c" * 64,
                                     signer_sha256="k" * 64, weasyprint_version="70.0", pango_version="1.50.12",
                                     harfbuzz_version="6.0.0", font_subsetter="harfbuzz")
    values.update(extra)
    return Document(**values)


def _facts(**extra: object) -> CheckFacts:
    values: dict[str, object] = dict(
        stored_sha256="s" * 64, stored_content_sha256="c" * 64, signature_present=True, signature_valid=True,
        signature_trusted=True, signer="CN=Casework", signer_sha256="k" * 64, again_unsigned_sha256="u" * 64,
        again_content_sha256="c" * 64, again_toolchain=dict(HARFBUZZ))
    values.update(extra)
    return CheckFacts(**values)  # type: ignore[arg-type]


def test_the_same_bytes_are_a_match() -> None:
    assert judge(_document(), _facts())[0] == "match"


def test_other_bytes_from_another_toolchain_with_the_same_content() -> None:
    verdict, findings = judge(_document(), _facts(again_unsigned_sha256="v" * 64, again_toolchain=FONTTOOLS))
    assert verdict == "toolchain"
    assert "fonts subset with HarfBuzz-Subset" in findings[0] and "fonts subset with fontTools" in findings[0]


def test_other_bytes_with_the_same_toolchain_are_flagged_but_not_a_difference() -> None:
    assert judge(_document(), _facts(again_unsigned_sha256="v" * 64))[0] == "content"


@pytest.mark.parametrize(("change", "finding"), [
    ({"stored_sha256": ""}, "The stored file is missing."),
    ({"stored_sha256": "x" * 64}, "differs from the recorded SHA-256"),
    ({"signature_present": False, "signature_valid": False}, "carries no signature"),
    ({"signature_valid": False}, "signature is not valid"),
    ({"signer_sha256": "o" * 64}, "signed by another certificate"),
    ({"stored_content_sha256": "x" * 64}, "content differs from the content recorded"),
    ({"again_content_sha256": "x" * 64, "again_toolchain": FONTTOOLS}, "audit chain now renders different content"),
    ({"problems": ["Stored file: its content cannot be read (PdfReadError)."]}, "cannot be read"),
])
def test_any_difference_that_matters_does_not_match(change: dict[str, object], finding: str) -> None:
    verdict, findings = judge(_document(), _facts(**change))
    assert verdict == "differs"
    assert any(finding in line for line in findings), findings


def test_a_document_rendered_before_the_chain_was_re_anchored_is_superseded_not_different() -> None:
    verdict, findings = judge(_document(), _facts(again_content_sha256="x" * 64, reanchored_at="2026-12-02"))
    assert verdict == "reanchored" and "re-anchored on 2026-12-02" in findings[0]
    assert "stored file is intact" in findings[0]


@pytest.mark.parametrize("change", [{"stored_sha256": "x" * 64}, {"signature_valid": False},
                                    {"stored_content_sha256": "x" * 64}])
def test_a_re_anchoring_never_explains_a_changed_stored_file(change: dict[str, object]) -> None:
    verdict, findings = judge(_document(), _facts(again_content_sha256="x" * 64, reanchored_at="2026-12-02", **change))
    assert verdict == "differs" and any("audit chain now renders different content" in f for f in findings)


def test_an_unsigned_document_needs_no_signature() -> None:
    facts = _facts(signature_present=False, signature_valid=False, signer_sha256="")
    assert judge(_document(signer_sha256=None), facts)[0] == "match"


def test_documents_made_before_content_digests_are_judged_by_their_intact_file() -> None:
    """Stored before this release: no content digest, no toolchain, the stored file is the unsigned rendering.
    A re-render elsewhere is a toolchain change when the content of the intact file is what the chain renders."""
    legacy = _document(unsigned_sha256=None, content_sha256=None, signer_sha256=None, weasyprint_version=None,
                       pango_version=None, harfbuzz_version=None, font_subsetter=None)
    unsigned = dict(signature_present=False, signature_valid=False, signer_sha256="")
    assert judge(legacy, _facts(**unsigned, again_unsigned_sha256="s" * 64))[0] == "match"
    verdict, findings = judge(legacy, _facts(**unsigned, again_unsigned_sha256="v" * 64))
    assert verdict == "toolchain" and "Recorded toolchain: not recorded" in findings[0]
    assert judge(legacy, _facts(**unsigned, again_content_sha256="x" * 64))[0] == "differs"
    tampered = judge(legacy, _facts(**unsigned, stored_sha256="x" * 64, stored_content_sha256="y" * 64))
    assert tampered[0] == "differs"


def test_describe_names_the_subsetter() -> None:
    assert describe(HARFBUZZ) == "WeasyPrint 70.0, Pango 1.50.12, HarfBuzz 6.0.0, fonts subset with HarfBuzz-Subset"
    assert describe(dataclasses.asdict(_facts())["again_toolchain"]).endswith("HarfBuzz-Subset")
