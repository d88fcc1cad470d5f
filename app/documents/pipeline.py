"""The steps between a `RenderRequest` and a stored, checkable document, each run in the render child.

- `make_in_child`: render, sign (PAdES, when a key is given), and note what the check will need later:
  the SHA-256 of the unsigned rendering (reproducible bytes), the canonical content digest
  (`app.documents.content`) and the toolchain that drew it.
- `reproduce_in_child`: render again, unsigned, for a check: the same three facts.
- `inspect_in_child`: read a stored file (which may have been tampered with, hence the child's limits):
  its content digest and what its signature says.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.documents.certificate import SigningKey
from app.documents.child import run_in_child
from app.documents.errors import RenderFailed
from app.documents.render_request import RenderRequest, Toolchain


@dataclass(frozen=True, slots=True)
class MadeDocument:
    """A finished PDF (signed when a key was given) and the facts recorded with it."""

    pdf: bytes
    unsigned_sha256: str
    content_sha256: str
    toolchain: Toolchain
    signer_sha256: str | None


@dataclass(frozen=True, slots=True)
class Reproduction:
    unsigned_sha256: str
    content_sha256: str
    toolchain: Toolchain


@dataclass(frozen=True, slots=True)
class StoredFacts:
    """What the stored file itself shows: its content digest ("" when unreadable) and its signature."""

    content_sha256: str
    signature_present: bool
    signature_valid: bool
    signature_trusted: bool
    signer: str
    signer_sha256: str
    signed_at: str
    problem: str


def _render(request: RenderRequest) -> tuple[bytes, Toolchain]:
    from app.documents.render import render_pdf_for
    from app.documents.toolchain import current_toolchain

    return render_pdf_for(request), current_toolchain()


def _make(arg: tuple[RenderRequest, SigningKey | None, str]) -> MadeDocument:
    from app.documents.content import content_digest

    request, key, reason = arg
    unsigned, toolchain = _render(request)
    pdf = unsigned
    if key is not None:
        from app.documents.signing import sign_pdf

        pdf = sign_pdf(unsigned, key, reason=reason)
    return MadeDocument(pdf=pdf, unsigned_sha256=hashlib.sha256(unsigned).hexdigest(),
                        content_sha256=content_digest(pdf), toolchain=toolchain,
                        signer_sha256=key.fingerprint if key is not None else None)


def _reproduce(request: RenderRequest) -> Reproduction:
    from app.documents.content import content_digest

    unsigned, toolchain = _render(request)
    return Reproduction(unsigned_sha256=hashlib.sha256(unsigned).hexdigest(), content_sha256=content_digest(unsigned),
                        toolchain=toolchain)


def _inspect(arg: tuple[bytes, bytes | None]) -> StoredFacts:
    from app.documents.content import content_digest
    from app.documents.signing import check_signature

    pdf, trusted = arg
    try:
        digest, problem = content_digest(pdf), ""
    except Exception as exc:  # a damaged or hostile file: its content cannot be read, which is the finding
        digest, problem = "", f"its content cannot be read ({exc.__class__.__name__})"
    signature = check_signature(pdf, trusted)
    return StoredFacts(content_sha256=digest, signature_present=signature.present, signature_valid=signature.valid,
                       signature_trusted=signature.trusted, signer=signature.signer,
                       signer_sha256=signature.signer_sha256, signed_at=signature.signed_at,
                       problem="; ".join(p for p in (problem, signature.problem) if p))


def make_in_child(request: RenderRequest, key: SigningKey | None, *, reason: str, memory_mb: int = 512,
                  timeout_s: float = 60) -> MadeDocument:
    """Render, sign and digest `request` in the render child; raises `RenderFailed` with a readable reason."""
    return run_in_child(_make, (request, key, reason), memory_mb=memory_mb, timeout_s=timeout_s)


def reproduce_in_child(request: RenderRequest, *, memory_mb: int = 512, timeout_s: float = 60) -> Reproduction:
    """Render `request` again (unsigned) in the child: its bytes' SHA-256, content digest and toolchain."""
    return run_in_child(_reproduce, request, memory_mb=memory_mb, timeout_s=timeout_s)


def inspect_in_child(pdf: bytes, trusted_cert_pem: bytes | None, *, memory_mb: int = 512,
                     timeout_s: float = 60) -> StoredFacts:
    """The content digest and signature of a stored file, read in the child under its limits."""
    try:
        return run_in_child(_inspect, (pdf, trusted_cert_pem), memory_mb=memory_mb, timeout_s=timeout_s)
    except RenderFailed as exc:
        return StoredFacts(content_sha256="", signature_present=False, signature_valid=False,
                           signature_trusted=False, signer="", signer_sha256="", signed_at="",
                           problem=f"the stored file could not be read: {exc.reason}")


def _probe(_: None) -> Toolchain:
    from app.documents.toolchain import current_toolchain

    return current_toolchain()


def probe_toolchain_in_child(*, timeout_s: float = 60) -> Toolchain:
    """The toolchain the render child draws with (it starts the renderer if it is not running yet)."""
    return run_in_child(_probe, None, memory_mb=512, timeout_s=timeout_s)
