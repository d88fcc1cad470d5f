"""The instance's document-signing certificate: generated self-signed into instance/ by default, or the
admin's own (a certificate from their CA) through the configuration.

Only `cryptography` here, so the web process can read the certificate (to show it to auditors, to hand
it to the render child) without importing pyHanko; `app.documents.signing` does the signing itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.documents.errors import DocumentError

CERT_NAME = "document-signing.crt"
KEY_NAME = "document-signing.key"
VALID_FOR = timedelta(days=10 * 365)


class SigningNotConfigured(DocumentError):
    """The configured certificate or key cannot be used (missing, unreadable, not a pair)."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """What the render child needs to sign: PEM bytes (they travel to the child through a pipe)."""

    key_pem: bytes
    cert_pem: bytes
    chain_pem: bytes = b""
    password: bytes | None = None

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate (DER), as auditors compare it."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


def generate_self_signed(folder: Path, organisation: str, *, now: datetime | None = None) -> tuple[Path, Path]:
    """Write a new ECDSA P-256 key (owner-readable only) and a self-signed certificate for it into `folder`."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} document signing"[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "Casework"),
    ])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / KEY_NAME, folder / CERT_NAME
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem_key)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def signing_key(config: dict[str, Any] | Any, instance: Path) -> SigningKey | None:
    """The configured signing key, generating the instance's own on first use; None when signing is off.

    DOCUMENT_SIGNING_CERT / DOCUMENT_SIGNING_KEY (PEM files; DOCUMENT_SIGNING_KEY_PASSWORD if the key is
    encrypted; DOCUMENT_SIGNING_CHAIN for intermediate certificates) name an admin-supplied pair;
    without them, `instance/signing/` holds a self-signed one made on first use.
    """
    if not config.get("DOCUMENT_SIGNING", True):
        return None
    cert_file, key_file = config.get("DOCUMENT_SIGNING_CERT"), config.get("DOCUMENT_SIGNING_KEY")
    if bool(cert_file) != bool(key_file):
        raise SigningNotConfigured("Set both DOCUMENT_SIGNING_CERT and DOCUMENT_SIGNING_KEY, or neither.")
    if not cert_file:
        folder = instance / "signing"
        cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
        if not cert_path.exists() or not key_path.exists():
            # Another process making it at the same moment wins (the key is created exclusively): use theirs.
            with contextlib.suppress(FileExistsError):
                generate_self_signed(folder, str(config.get("ORGANISATION_NAME") or "Casework"))
    else:
        cert_path, key_path = Path(cert_file), Path(key_file)
    password = config.get("DOCUMENT_SIGNING_KEY_PASSWORD")
    chain_file = config.get("DOCUMENT_SIGNING_CHAIN")
    try:
        key = SigningKey(key_pem=key_path.read_bytes(), cert_pem=cert_path.read_bytes(),
                         chain_pem=Path(chain_file).read_bytes() if chain_file else b"",
                         password=password.encode() if isinstance(password, str) else password)
    except OSError as exc:
        raise SigningNotConfigured(f"The document-signing certificate or key cannot be read: {exc}") from None
    _check_pair(key)
    return key


def _check_pair(key: SigningKey) -> None:
    try:
        private = serialization.load_pem_private_key(key.key_pem, password=key.password)
        certificate = key.certificate
    except (ValueError, TypeError) as exc:
        raise SigningNotConfigured(f"The document-signing certificate or key is not usable: {exc}") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(serialization.Encoding.DER, public) != \
            certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise SigningNotConfigured("The document-signing key does not belong to the certificate.")
