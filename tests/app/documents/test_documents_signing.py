"""Signed documents: PAdES (pyHanko) on a PDF/A-3b dossier that stays PDF/A-3b, and its validation."""

from __future__ import annotations

import io
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from app.documents.certificate import SigningNotConfigured, signing_key
from app.documents.content import content_digest
from app.documents.dossier import dossier_request
from app.documents.pipeline import inspect_in_child, make_in_child
from app.documents.render_request import RenderRequest
from app.documents.samples import sample_audit_exports
from app.documents.signing import check_signature
from case_types.document_templates import DossierContext
from tests.app.documents.conftest import open_pdf, tool_output


@pytest.fixture
def job(small_context: DossierContext) -> RenderRequest:
    audit_json, audit_csv = sample_audit_exports(small_context.audit)
    return dossier_request(small_context, audit_json=audit_json, audit_csv=audit_csv)


def test_the_signed_dossier_is_still_pdfa_3b_with_its_files_and_a_valid_signature(
        job: RenderRequest, tmp_path: Path, need_tools: None) -> None:
    key = signing_key({}, tmp_path / "instance")
    assert key is not None
    made = make_in_child(job, key, reason="Case dossier")
    unsigned = make_in_child(job, None, reason="")
    assert made.pdf.startswith(unsigned.pdf)  # an incremental update: every original byte kept
    assert made.unsigned_sha256 == unsigned.unsigned_sha256 and made.signer_sha256 == key.fingerprint
    assert made.content_sha256 == unsigned.content_sha256 == content_digest(unsigned.pdf)

    signed = tool_output(["pdfsig"], made.pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in signed.stdout, signed.stdout
    assert "Total document signed" in signed.stdout and "ETSI.CAdES.detached" in signed.stdout
    checked = tool_output(["qpdf", "--check"], made.pdf, tmp_path)
    assert checked.returncode == 0 and "No syntax or stream encoding errors" in checked.stdout, checked.stdout
    fonts = tool_output(["pdffonts"], made.pdf, tmp_path).stdout.splitlines()[2:]
    assert fonts and all(row.split()[-5] == "yes" for row in fonts), fonts

    with open_pdf(made.pdf) as parsed, open_pdf(unsigned.pdf) as original:
        meta = parsed.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        # PDF/A: the information dictionary and the XMP metadata agree.
        assert str(parsed.docinfo["/Producer"]) == meta["pdf:Producer"]
        moddate = str(parsed.docinfo["/ModDate"])
        assert meta["xmp:ModifyDate"].replace("-", "").replace(":", "").replace("T", "")[:14] == moddate[2:16]
        assert parsed.Root.OutputIntents[0].S == pikepdf.Name.GTS_PDFA1
        files = {name: spec.get_file().read_bytes() for name, spec in parsed.attachments.items()}
        assert files == {name: spec.get_file().read_bytes() for name, spec in original.attachments.items()}
        assert set(files) == {"audit.json", "audit.csv"}
        assert {str(spec.UF) for spec in parsed.Root.AF} == {"audit.json", "audit.csv"}
        # The signature field: invisible (zero-size), printable, locked; no appearance needed.
        field = parsed.Root.AcroForm.Fields[0]
        assert str(field.FT) == "/Sig" and [float(v) for v in field.Rect] == [0, 0, 0, 0]
        assert int(field.F) & 4 and not int(field.F) & (1 | 2 | 32)

    facts = check_signature(made.pdf, key.cert_pem)
    assert facts.valid and facts.trusted and facts.signer_sha256 == key.fingerprint, facts
    assert not check_signature(unsigned.pdf, key.cert_pem).present


def test_a_changed_signed_file_is_refused(job: RenderRequest, tmp_path: Path) -> None:
    key = signing_key({}, tmp_path / "instance")
    assert key is not None
    made = make_in_child(job, key, reason="Case dossier")

    # One byte inside the signed range (in the first page's compressed content) changed.
    at = made.pdf.index(b"stream", made.pdf.index(b"/FlateDecode")) + 40
    flipped = made.pdf[:at] + bytes([made.pdf[at] ^ 1]) + made.pdf[at + 1:]
    facts = inspect_in_child(flipped, key.cert_pem)
    assert facts.signature_present and not facts.signature_valid
    assert "changed after signing" in facts.problem
    assert "Signature is Valid." not in tool_output(["pdfsig"], flipped, tmp_path).stdout

    # A valid incremental update appended after signing (the title changed): the signature no longer
    # covers the file, and the content digest sees the change.
    writer = IncrementalPdfFileWriter(io.BytesIO(made.pdf))
    info = writer.trailer.raw_get("/Info")
    info.get_object()["/Title"] = generic.TextStringObject("Something else")
    writer.mark_update(info)
    out = io.BytesIO()
    writer.write(out)
    appended = out.getvalue()
    assert appended.startswith(made.pdf)
    facts = inspect_in_child(appended, key.cert_pem)
    assert facts.signature_present and not facts.signature_valid, facts
    assert "does not cover all of it" in facts.problem
    assert facts.content_sha256 != made.content_sha256

    # Another certificate's signature is valid, but not the instance's.
    other = signing_key({}, tmp_path / "elsewhere")
    assert other is not None
    resigned = make_in_child(job, other, reason="Case dossier").pdf
    facts = inspect_in_child(resigned, key.cert_pem)
    assert facts.signature_valid and not facts.signature_trusted and facts.signer_sha256 == other.fingerprint


def test_the_instance_certificate_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = signing_key({"ORGANISATION_NAME": "Acme Claims"}, tmp_path)
    again = signing_key({"ORGANISATION_NAME": "Acme Claims"}, tmp_path)
    assert first is not None and again is not None and first.fingerprint == again.fingerprint
    assert "Acme Claims document signing" in first.subject
    key_file = tmp_path / "signing" / "document-signing.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert signing_key({"DOCUMENT_SIGNING": False}, tmp_path) is None


def _ca_and_leaf(folder: Path) -> tuple[Path, Path, Path]:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Acme Test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Acme Claims documents")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    cert, key, chain = folder / "leaf.pem", folder / "leaf.key", folder / "ca.pem"
    cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(b"s3cret")))
    chain.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return cert, key, chain


def test_an_admin_supplied_certificate_signs_instead(job: RenderRequest, tmp_path: Path) -> None:
    cert, key_file, chain = _ca_and_leaf(tmp_path)
    config = {"DOCUMENT_SIGNING_CERT": str(cert), "DOCUMENT_SIGNING_KEY": str(key_file),
              "DOCUMENT_SIGNING_KEY_PASSWORD": "s3cret", "DOCUMENT_SIGNING_CHAIN": str(chain)}
    key = signing_key(config, tmp_path / "instance")
    assert key is not None and "Acme Claims documents" in key.subject
    assert not (tmp_path / "instance" / "signing").exists()  # nothing generated
    made = make_in_child(job, key, reason="Case dossier")
    facts = check_signature(made.pdf, chain.read_bytes())  # trusted through the admin's CA
    assert facts.valid and facts.trusted and "Acme Claims documents" in facts.signer
    (tmp_path / "signed.pdf").write_bytes(made.pdf)
    assert "Signature is Valid." in subprocess.run(["pdfsig", str(tmp_path / "signed.pdf")], capture_output=True,
                                                   text=True, timeout=60).stdout

    with pytest.raises(SigningNotConfigured, match="both"):
        signing_key({"DOCUMENT_SIGNING_CERT": str(cert)}, tmp_path)
    with pytest.raises(SigningNotConfigured, match="not usable"):
        signing_key({**config, "DOCUMENT_SIGNING_KEY_PASSWORD": "wrong"}, tmp_path)
    other = signing_key({}, tmp_path / "other")
    assert other is not None
    mismatched = tmp_path / "other" / "signing" / "document-signing.key"
    with pytest.raises(SigningNotConfigured, match="does not belong"):
        signing_key({"DOCUMENT_SIGNING_CERT": str(cert), "DOCUMENT_SIGNING_KEY": str(mismatched)}, tmp_path)
