"""PAdES signatures (baseline B-B) on finished PDF/A-3b documents, and their validation, with pyHanko.

The signature is an incremental update appended to the PDF/A file WeasyPrint wrote, so every byte of
the original stays as it was (its embedded files, its XMP identification); the update adds an invisible
signature field (zero-size widget, print flag set: allowed by PDF/A), the signature dictionary and the
metadata pyHanko refreshes. PDF/A wants the document information dictionary and the XMP metadata to
agree; pyHanko writes "<old producer>; pyHanko x" into the former and "pyHanko x" into the latter, so
the writer here makes the dictionary say what the XMP says.

Importing this module imports pyHanko (about 2 s): the render child's forkserver preloads it.
"""

from __future__ import annotations

import asyncio
import functools
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model as metadata_model
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.documents.certificate import SigningKey

FIELD_NAME = "CaseworkSignature"


class _PdfAWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, with the Producer of the information dictionary equal to the XMP's."""

    def _update_meta(self) -> None:
        super()._update_meta()
        if self._info is not None:
            info = self._info.get_object()
            info["/Producer"] = generic.TextStringObject(metadata_model.VENDOR)
            self.mark_update(self._info)


def sign_pdf(pdf: bytes, key: SigningKey, *, reason: str, name: str = "Casework") -> bytes:
    """The PDF with a PAdES B-B signature by `key` appended as an incremental update."""
    signer, reserved = _signer(key)
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256",
                                        subfilter=SigSeedSubFilter.PADES, reason=reason, name=name)
    writer = _PdfAWriter(io.BytesIO(pdf), strict=False)
    return signers.PdfSigner(meta, signer=signer).sign_pdf(writer, bytes_reserved=reserved).getvalue()


@functools.lru_cache(maxsize=4)
def _signer(key: SigningKey) -> tuple[signers.SimpleSigner, int]:
    """The signer of `key` and the room its signature takes in the file, once per key in a warm child.

    The room is what pyHanko would estimate for each document (a dry-run signature: its DER length twice
    over, as hex, and half as much again): it depends on the key and certificates only, and the dry run
    cost as much CPU as the real signature.
    """
    certificates = list(load_certs_from_pemder_data(key.cert_pem))
    chain = list(load_certs_from_pemder_data(key.chain_pem)) if key.chain_pem else []
    signer = signers.SimpleSigner(
        signing_cert=certificates[0],
        signing_key=load_private_key_from_pemder_data(key.key_pem, passphrase=key.password),
        cert_registry=SimpleCertificateStore.from_certs([*certificates, *chain]),
    )
    dry_run = signer.async_sign(hashes.Hash(hashes.SHA256()).finalize(), "sha256", use_pades=True, dry_run=True,
                                signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)))
    hex_length = len(asyncio.run(dry_run).dump()) * 2
    return signer, hex_length + 2 * (hex_length // 4)


@dataclass(frozen=True, slots=True)
class SignatureFacts:
    """What a file's signature says. `valid`: present, intact (the signed bytes hash to what was signed),
    the cryptography checks out and it covers the whole file; `trusted`: its certificate is the
    instance's own (or chains to it)."""

    present: bool
    valid: bool = False
    trusted: bool = False
    signer: str = ""
    signer_sha256: str = ""
    signed_at: str = ""
    problem: str = ""


def check_signature(pdf: bytes, trusted_cert_pem: bytes | None = None) -> SignatureFacts:
    """Validate the last signature of `pdf` (a file that may have been tampered with: run it in the child)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # a damaged file is an answer, not a crash
        return SignatureFacts(present=False, problem=f"the file cannot be read as a PDF ({exc.__class__.__name__})")
    if not signatures:
        return SignatureFacts(present=False, problem="the file carries no signature")
    embedded = signatures[-1]
    roots = list(load_certs_from_pemder_data(trusted_cert_pem)) if trusted_cert_pem else []
    try:
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=roots))
    except Exception as exc:
        return SignatureFacts(present=True, problem=f"the signature cannot be validated ({exc.__class__.__name__})")
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    problem = ""
    if not status.intact:
        problem = "the signed bytes were changed after signing"
    elif not status.valid:
        problem = "the signature does not verify"
    elif not whole:
        problem = "the file was changed after it was signed (the signature does not cover all of it)"
    return SignatureFacts(
        present=True, valid=bool(status.intact and status.valid and whole), trusted=bool(status.trusted),
        signer=status.signing_cert.subject.human_friendly, signer_sha256=status.signing_cert.sha256.hex(),
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else "", problem=problem)
