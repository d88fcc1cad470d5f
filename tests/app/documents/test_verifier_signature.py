"""The offline verifier's PDF signature check (verifier/pdf_signature.py) on documents Casework signs:
the default ECDSA P-256 certificate and an admin-supplied RSA one, agreeing with pyHanko's validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.documents.certificate import signing_key
from app.documents.dossier import dossier_request
from app.documents.pipeline import make_in_child
from app.documents.samples import sample_audit_exports
from app.documents.signing import check_signature, sign_pdf
from case_types.document_templates import DossierContext
from verifier import pdf_signature as ps


@pytest.fixture
def unsigned(small_context: DossierContext) -> bytes:
    audit_json, audit_csv = sample_audit_exports(small_context.audit)
    return make_in_child(dossier_request(small_context, audit_json=audit_json, audit_csv=audit_csv), None,
                         reason="").pdf


def _rsa_pair(folder: Path) -> tuple[Path, Path]:
    """An admin's RSA-3072 certificate and its key (as DOCUMENT_SIGNING_CERT / DOCUMENT_SIGNING_KEY name them)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Acme Claims RSA documents")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    folder.mkdir(parents=True)
    cert, key_file = folder / "rsa.pem", folder / "rsa.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key_file


def test_default_and_admin_rsa_signatures_verify_and_name_their_certificate(unsigned: bytes, tmp_path: Path) -> None:
    own = signing_key({}, tmp_path / "instance")
    cert, key_file = _rsa_pair(tmp_path / "admin")
    admin = signing_key({"DOCUMENT_SIGNING_CERT": str(cert), "DOCUMENT_SIGNING_KEY": str(key_file)},
                        tmp_path / "unused")
    assert own is not None and admin is not None
    for key, algorithm in ((own, "ECDSA secp256r1 with SHA256"), (admin, "RSA-3072 PKCS#1 v1.5 with SHA256")):
        signed = sign_pdf(unsigned, key, reason="Case dossier")
        [signature] = ps.check_pdf(signed, key.fingerprint).signatures
        assert (signature.subject, signature.sha256, signature.algorithm) == (key.subject, key.fingerprint, algorithm)
        assert signature.covers == len(signed)
        assert ps.certificate_sha256(key.cert_pem) == key.fingerprint
        assert check_signature(signed).signer_sha256 == key.fingerprint  # pyHanko agrees on the signer
        other = admin if key is own else own
        with pytest.raises(ps.SignatureRefused, match=f"signed by another certificate: .*SHA-256 {key.fingerprint}"):
            ps.check_pdf(signed, other.fingerprint)


def test_a_changed_signature_value_or_a_forged_byte_range_is_refused(unsigned: bytes, tmp_path: Path) -> None:
    key = signing_key({}, tmp_path / "instance")
    assert key is not None
    signed = sign_pdf(unsigned, key, reason="Case dossier")
    [(a, b, c, d)] = ps.signature_ranges(signed)
    assert (a, c + d) == (0, len(signed)) and signed[b:b + 1] == b"<" and signed[c - 1:c] == b">"

    # The signature value is the last OCTET STRING of the one SignerInfo: change its last byte.
    der = bytes.fromhex(signed[b + 1:c - 1].decode())
    value = ps.parse_signed_data(der).signature
    at = b + 1 + 2 * (der.index(value) + len(value) - 1)
    changed = signed[:at] + (b"00" if signed[at:at + 2] != b"00" else b"01") + signed[at + 2:]
    with pytest.raises(ps.SignatureRefused, match="the signature does not verify"):
        ps.check_pdf(changed)
    assert not check_signature(changed).valid  # pyHanko refuses it as well

    # A byte range that leaves more than /Contents out does not sign what it skips.
    text = f"/ByteRange [{a} {b} {c} {d}]".encode()
    forged = signed.replace(text, f"/ByteRange [{a} {b - 1} {c} {d}]".encode().ljust(len(text)))
    with pytest.raises(ps.SignatureRefused, match="does not leave out exactly its /Contents"):
        ps.check_pdf(forged)
    with pytest.raises(ps.SignatureRefused, match="no signature"):
        ps.check_pdf(unsigned)


def test_rsassa_pss_and_sha384_verify(unsigned: bytes, tmp_path: Path) -> None:
    """A signer of the admin's choosing may use RSASSA-PSS and another digest: checked the same way."""
    import io

    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    cert, key_file = _rsa_pair(tmp_path / "admin")
    signer = signers.SimpleSigner(signing_cert=load_cert_from_pemder(str(cert)),
                                  signing_key=load_private_key_from_pemder(str(key_file), None),
                                  cert_registry=None, prefer_pss=True)
    meta = signers.PdfSignatureMetadata(field_name="Admin", md_algorithm="sha384")
    signed = signers.PdfSigner(meta, signer=signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(unsigned)))
    [signature] = ps.check_pdf(signed.getvalue(), ps.certificate_sha256(cert.read_bytes())).signatures
    assert signature.algorithm == "RSA-3072 PSS with SHA384"
