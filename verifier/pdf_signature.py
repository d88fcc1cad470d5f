"""Check the PAdES signatures of a PDF offline, with the standard library and `cryptography` only.

casework_verify.py calls this for a dossier PDF; copy both files side by side to use them elsewhere.

A PDF signature is a signature dictionary holding `/ByteRange [0 b c d]` and `/Contents <hex>`: the
signed bytes are the file's bytes 0..b and c..c+d, the gap between them is exactly the `/Contents` hex
string, which holds a CMS SignedData (RFC 5652) with the signer's certificate. The check, per signature:
- the byte range starts at 0 and leaves out nothing but the `/Contents` string; the last signature's
  range ends at the end of the file (anything after it is a change made after signing);
- the signed attributes' messageDigest equals the digest of the signed bytes (else the document was
  changed after it was signed);
- the signature value verifies over the DER of the signed attributes (their [0] IMPLICIT tag written as
  a SET, as RFC 5652 5.4 says) with the public key of the signer's certificate (ECDSA, RSA PKCS#1 v1.5,
  RSASSA-PSS, Ed25519).
Trust in the certificate is the auditor's: pass the expected certificate (or its SHA-256) to insist on it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding


class SignatureRefused(Exception):
    """What is wrong with the PDF's signature, in words for the auditor."""


# ---------------------------------------------------------------- a minimal DER reader


@dataclass(frozen=True, slots=True)
class Tlv:
    """One DER element: its tag byte, its content, and all of its bytes (tag and length included)."""

    tag: int
    content: bytes
    raw: bytes

    def children(self) -> list[Tlv]:
        """The elements inside a constructed element (SEQUENCE, SET, context tags)."""
        if not self.tag & 0x20:
            raise SignatureRefused("the signature is not valid DER (a primitive element read as constructed)")
        out, at = [], 0
        while at < len(self.content):
            element, at = read_tlv(self.content, at)
            out.append(element)
        return out


def read_tlv(data: bytes, at: int = 0) -> tuple[Tlv, int]:
    """The DER element starting at `at`, and where the next one starts (definite lengths, one-byte tags)."""
    start = at
    try:
        tag, first = data[at], data[at + 1]
        at += 2
        if first & 0x80:
            count = first & 0x7F
            if not 1 <= count <= 4:
                raise SignatureRefused("the signature is not valid DER (bad length)")
            length, at = int.from_bytes(data[at:at + count], "big"), at + count
        else:
            length = first
    except IndexError:
        raise SignatureRefused("the signature is not valid DER (truncated)") from None
    if tag & 0x1F == 0x1F or at + length > len(data):
        raise SignatureRefused("the signature is not valid DER (truncated or multi-byte tag)")
    return Tlv(tag, data[at:at + length], data[start:at + length]), at + length


def oid(element: Tlv) -> str:
    """Dotted text of an OBJECT IDENTIFIER."""
    if element.tag != 0x06 or not element.content:
        raise SignatureRefused("the signature is not valid DER (an object identifier was expected)")
    arcs, value = [], 0
    for byte in element.content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def _expect(element: Tlv, tag: int, what: str) -> Tlv:
    if element.tag != tag:
        raise SignatureRefused(f"the signature's CMS structure is not SignedData ({what} expected)")
    return element


# ---------------------------------------------------------------- algorithms

SIGNED_DATA = "1.2.840.113549.1.7.2"
MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256(), "2.16.840.1.101.3.4.2.2": hashes.SHA384(),
    "2.16.840.1.101.3.4.2.3": hashes.SHA512(),
}
RSA_PKCS1: dict[str, hashes.HashAlgorithm] = {
    "1.2.840.113549.1.1.11": hashes.SHA256(), "1.2.840.113549.1.1.12": hashes.SHA384(),
    "1.2.840.113549.1.1.13": hashes.SHA512()}
ECDSA: dict[str, hashes.HashAlgorithm] = {
    "1.2.840.10045.4.3.2": hashes.SHA256(), "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.10045.4.3.4": hashes.SHA512()}
RSA_ENCRYPTION, EC_PUBLIC_KEY, RSA_PSS, ED25519 = ("1.2.840.113549.1.1.1", "1.2.840.10045.2.1",
                                                   "1.2.840.113549.1.1.10", "1.3.101.112")


def _digest(algorithm: Tlv) -> hashes.HashAlgorithm:
    name = oid(algorithm.children()[0])
    if name not in DIGESTS:
        raise SignatureRefused(f"the signature uses the digest algorithm {name}, which is not SHA-256/384/512")
    return DIGESTS[name]


def _verify(certificate: x509.Certificate, algorithm: Tlv, digest: hashes.HashAlgorithm,
            signature: bytes, message: bytes) -> str:
    """Verify `signature` over `message`; returns the algorithm's name. InvalidSignature when it fails."""
    name = oid(algorithm.children()[0])
    key = certificate.public_key()
    if name in ECDSA or name == EC_PUBLIC_KEY:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise SignatureRefused("the signature says ECDSA but the certificate holds no EC key")
        hash_type = ECDSA.get(name, digest)
        key.verify(signature, message, ec.ECDSA(hash_type))
        return f"ECDSA {key.curve.name} with {hash_type.name.upper()}"
    if name in RSA_PKCS1 or name == RSA_ENCRYPTION:
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureRefused("the signature says RSA but the certificate holds no RSA key")
        hash_type = RSA_PKCS1.get(name, digest)
        key.verify(signature, message, padding.PKCS1v15(), hash_type)
        return f"RSA-{key.key_size} PKCS#1 v1.5 with {hash_type.name.upper()}"
    if name == RSA_PSS:
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureRefused("the signature says RSASSA-PSS but the certificate holds no RSA key")
        pss_hash, mgf_hash, salt = _pss_parameters(algorithm)
        key.verify(signature, message, padding.PSS(padding.MGF1(mgf_hash), salt), pss_hash)
        return f"RSA-{key.key_size} PSS with {pss_hash.name.upper()}"
    if name == ED25519:
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise SignatureRefused("the signature says Ed25519 but the certificate holds no Ed25519 key")
        key.verify(signature, message)
        return "Ed25519"
    raise SignatureRefused(f"the signature algorithm {name} is not supported by this verifier")


def _pss_parameters(algorithm: Tlv) -> tuple[hashes.HashAlgorithm, hashes.HashAlgorithm, int]:
    """RSASSA-PSS-params (RFC 4055): [0] hash, [1] MGF1 with its hash, [2] salt length (20 by default).
    The default hashes are SHA-1, which this verifier does not accept: they must be named."""
    pss_hash = mgf_hash = None
    salt = 20
    parts = algorithm.children()
    for part in parts[1].children() if len(parts) > 1 and parts[1].tag == 0x30 else []:
        inner = part.children()[0]
        if part.tag == 0xA0:
            pss_hash = _digest(inner)
        elif part.tag == 0xA1:
            mgf_hash = _digest(inner.children()[1])
        elif part.tag == 0xA2:
            salt = int.from_bytes(inner.content, "big")
    if pss_hash is None or mgf_hash is None:
        raise SignatureRefused("the RSASSA-PSS signature uses SHA-1 (the default), which is not accepted")
    return pss_hash, mgf_hash, salt


# ---------------------------------------------------------------- CMS SignedData


@dataclass(frozen=True, slots=True)
class Signed:
    """What one CMS SignedData says: the signer's certificate, the digest it signed, and its check."""

    certificate: x509.Certificate
    digest: hashes.HashAlgorithm
    message_digest: bytes
    signed_attributes: bytes  # DER, as a SET: what the signature value is over
    algorithm: Tlv
    signature: bytes


def parse_signed_data(der: bytes) -> Signed:
    """The first SignerInfo of a DER ContentInfo holding SignedData, with the certificate it names."""
    info, end = read_tlv(der)
    if der[end:].strip(b"\x00"):
        raise SignatureRefused("the signature's /Contents holds more than one CMS structure")
    top = _expect(info, 0x30, "ContentInfo").children()
    if len(top) != 2 or oid(top[0]) != SIGNED_DATA:
        raise SignatureRefused("the signature's /Contents is not a CMS SignedData")
    signed_data = _expect(_expect(top[1], 0xA0, "[0] content").children()[0], 0x30, "SignedData").children()
    certificates = [x509.load_der_x509_certificate(c.raw) for part in signed_data if part.tag == 0xA0
                    for c in part.children() if c.tag == 0x30]
    signer_infos = _expect(signed_data[-1], 0x31, "signerInfos").children()
    if len(signer_infos) != 1:
        raise SignatureRefused(f"the signature holds {len(signer_infos)} signers, not one")
    fields = _expect(signer_infos[0], 0x30, "SignerInfo").children()
    sid, digest_algorithm, rest = fields[1], fields[2], fields[3:]
    if not rest or rest[0].tag != 0xA0:
        raise SignatureRefused("the signature has no signed attributes (not a PAdES signature)")
    attributes, algorithm, value = rest[0], rest[1], _expect(rest[2], 0x04, "signature value")
    message_digest = None
    for attribute in attributes.children():
        kind, values = attribute.children()
        if oid(kind) == MESSAGE_DIGEST:
            message_digest = _expect(values.children()[0], 0x04, "messageDigest").content
    if message_digest is None:
        raise SignatureRefused("the signature's signed attributes carry no messageDigest")
    as_set = b"\x31" + attributes.raw[1:]  # RFC 5652 5.4: the signature covers the attributes as a SET OF
    return Signed(_signer(certificates, sid), _digest(digest_algorithm), message_digest, as_set, algorithm,
                  value.content)


def _signer(certificates: list[x509.Certificate], sid: Tlv) -> x509.Certificate:
    """The certificate the SignerIdentifier names: issuer and serial number, or [0] subject key identifier."""
    for certificate in certificates:
        if sid.tag == 0x30:
            issuer, serial = sid.children()
            tbs = read_tlv(certificate.tbs_certificate_bytes)[0].children()
            tbs = tbs[1:] if tbs[0].tag == 0xA0 else tbs  # skip the [0] version
            if tbs[0].raw == serial.raw and tbs[2].raw == issuer.raw:
                return certificate
        elif sid.tag == 0x80:
            try:
                ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.content:
                return certificate
    raise SignatureRefused("the signature does not carry the signer's certificate")


# ---------------------------------------------------------------- the PDF


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")


@dataclass(frozen=True, slots=True)
class PdfSignature:
    """One verified signature: who signed, how, and how much of the file it covers."""

    subject: str
    sha256: str  # of the signer's certificate (DER), as the server shows it
    algorithm: str
    covers: int  # bytes 0..covers of the file (the revision it signed)

    def line(self) -> str:
        return f"signed by {self.subject} (certificate SHA-256 {self.sha256}), {self.algorithm}"


@dataclass
class SignatureReport:
    signatures: list[PdfSignature] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        for number, signature in enumerate(self.signatures, start=1):
            prefix = "PDF signature" if len(self.signatures) == 1 else f"PDF signature {number}"
            yield f"{prefix}: {signature.line()}; covers the whole file" if number == len(self.signatures) \
                else f"{prefix}: {signature.line()}; covers the first {signature.covers} bytes (a later update " \
                     f"was signed again)"


def signature_ranges(pdf: bytes) -> list[tuple[int, int, int, int]]:
    """The byte ranges of every signature dictionary, in the order of the revisions they sign."""
    return sorted({tuple(int(n) for n in m.groups()) for m in _BYTE_RANGE.finditer(pdf)},  # type: ignore[misc]
                  key=lambda r: r[2] + r[3])


def check_pdf(pdf: bytes, expected_sha256: str | None = None) -> SignatureReport:
    """Verify every signature of `pdf`; raises SignatureRefused with the first problem, or when there is none."""
    ranges = signature_ranges(pdf)
    if not ranges:
        raise SignatureRefused("no signature: the PDF is not signed")
    report = SignatureReport()
    for a, b, c, d in ranges:
        contents = _HEX.fullmatch(pdf[b:c]) if a == 0 and 0 < b < c <= len(pdf) and c + d <= len(pdf) else None
        if contents is None or not pdf[:b].rstrip().endswith(b"/Contents"):
            raise SignatureRefused(f"the signature's /ByteRange [{a} {b} {c} {d}] does not leave out exactly its "
                                   f"/Contents: it does not sign the document")
        try:
            signed = parse_signed_data(bytes.fromhex(contents.group(1).decode()))
        except (ValueError, IndexError) as exc:  # a bad hex string, certificate, or a SignedData cut short
            raise SignatureRefused(f"the signature cannot be read ({exc.__class__.__name__}: {exc})") from None
        signature = _check(signed, pdf[a:a + b] + pdf[c:c + d], c + d)
        if expected_sha256 is not None and signature.sha256 != expected_sha256.lower():
            raise SignatureRefused(f"the document was signed by another certificate: {signature.subject} "
                                   f"(SHA-256 {signature.sha256}), not the expected {expected_sha256.lower()}")
        report.signatures.append(signature)
    end = report.signatures[-1].covers
    if end < len(pdf):
        added = pdf[end:]
        kind = ("an incremental update" if b"%%EOF" in added and (b"xref" in added or b"/XRef" in added)
                else "bytes that are not a PDF update")
        raise SignatureRefused(f"the document was changed after it was signed: {len(added)} bytes ({kind}) were "
                               f"appended after the signed revision of {end} bytes")
    return report


def _check(signed: Signed, content: bytes, covers: int) -> PdfSignature:
    certificate = signed.certificate
    if hashlib.new(signed.digest.name, content).digest() != signed.message_digest:
        raise SignatureRefused(f"the document was changed after it was signed: its signed bytes no longer give "
                               f"the {signed.digest.name.upper()} digest the signature holds")
    try:
        algorithm = _verify(certificate, signed.algorithm, signed.digest, signed.signature, signed.signed_attributes)
    except InvalidSignature:
        raise SignatureRefused(f"the signature does not verify with the key of its certificate "
                               f"({certificate.subject.rfc4514_string()})") from None
    except UnsupportedAlgorithm as exc:
        raise SignatureRefused(f"the signature cannot be checked here: {exc}") from None
    return PdfSignature(subject=certificate.subject.rfc4514_string(),
                        sha256=certificate.fingerprint(hashes.SHA256()).hex(), algorithm=algorithm, covers=covers)


def certificate_sha256(data: bytes) -> str:
    """The SHA-256 fingerprint of a certificate file (PEM or DER), or of a fingerprint written as hex."""
    text = data.strip()
    if re.fullmatch(rb"[0-9A-Fa-f:]{64,95}", text):
        return text.replace(b":", b"").decode().lower()
    try:
        certificate = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                       else x509.load_der_x509_certificate(data))
    except ValueError:
        raise SignatureRefused("the expected certificate is neither a PEM/DER certificate nor a SHA-256") from None
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
