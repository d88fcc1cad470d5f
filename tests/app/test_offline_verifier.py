"""Offline: a bundle, a dossier and a kept checkpoint copied into a directory with a fresh virtualenv
that holds only `cryptography` and verifier/casework_verify.py (with verifier/pdf_signature.py, which
checks the dossier's PAdES signature); no Casework, no database.

The virtualenv installs cryptography from wheels `pip download` fetches once into .pytest_cache (from the
configured index or the local wheel cache), then `--no-index`."""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.documents.certificate import signing_key
from app.documents.queue import signing_key_for
from app.documents.signing import sign_pdf
from tests.app.documents.real_cases import render_queued, stored_pdf
from tests.app.proof_fixtures import api_json, keep_checkpoint, make_proof_app
from tests.conftest import need
from verifier import casework_verify as cv

ROOT = Path(__file__).resolve().parents[2]
WHEELS = ROOT / ".pytest_cache" / "offline-wheels"


@pytest.fixture
def proof_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """SQLite only: what is exported is the same on both backends (test_tamper runs on both), and the
    virtualenv is the slow part."""
    shutil.copy(sqlite_template, tmp_path / "casework.db")
    yield from make_proof_app(f"sqlite:///{tmp_path / 'casework.db'}", tmp_path)


def _offline_python(where: Path) -> Path:
    """A new virtualenv in `where` with cryptography and nothing else."""
    import cryptography

    if not any(WHEELS.glob("cryptography-*.whl")):
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                                  "-d", str(WHEELS), f"cryptography=={cryptography.__version__}"],
                                 capture_output=True, text=True, timeout=300)
        need(fetched.returncode == 0, f"cannot fetch the cryptography wheel: {fetched.stderr[-300:]}")
    venv.EnvBuilder(with_pip=False, clear=True).create(where)
    python = where / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
                    "--find-links", str(WHEELS), "cryptography"], check=True, capture_output=True, timeout=300)
    return python


@pytest.fixture(scope="module")
def offline_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh virtualenv for the module's tests (making it is the slow part)."""
    return _offline_python(tmp_path_factory.mktemp("offline") / "venv")


def _run(python: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated, so neither the repository nor PYTHONPATH nor user packages can leak in.
    return subprocess.run([str(python), "-I", "casework_verify.py", *args], cwd=folder, capture_output=True,
                          text=True, timeout=120)


def _flip_payload_byte(bundle: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    for event in changed["cases"][0]["events"]:
        for key, value in event["payload"].items():
            if isinstance(value, str) and value:
                event["payload"][key] = chr(ord(value[0]) ^ 1) + value[1:]
                return changed
    raise AssertionError("no text in any payload")


def _swap_key(bundle: dict[str, Any], *, resign: bool) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    changed["public_key"] = changed["checkpoint"]["public_key"] = public
    if resign:
        signature = key.sign(cv.signed_message(changed["checkpoint"]))
        changed["checkpoint"]["signature"] = base64.b64encode(signature).decode()
    return changed


def test_bundle_and_dossier_verify_offline_and_tampered_copies_are_refused(proof_app: Any, tmp_path: Path,
                                                                          offline_python: Path) -> None:
    folder = tmp_path / "offline"
    folder.mkdir()
    keep_checkpoint(proof_app, folder / "kept.json")
    [dossier] = [d for d in render_queued(proof_app, 1) if d.is_dossier]
    (folder / "dossier.pdf").write_bytes(stored_pdf(proof_app, dossier))
    status, bundle = api_json(proof_app, "/api/v1/cases/2/bundle")
    assert status == 200
    (folder / "bundle.json").write_text(json.dumps(bundle))
    shutil.copy(ROOT / "verifier" / "casework_verify.py", folder / "casework_verify.py")
    shutil.copy(ROOT / "verifier" / "pdf_signature.py", folder / "pdf_signature.py")
    python = offline_python
    alone = subprocess.run([str(python), "-I", "-c", "import cryptography, importlib.util as u; "
                            "print(u.find_spec('cases'), u.find_spec('sqlalchemy'), u.find_spec('flask'))"],
                           cwd=folder, capture_output=True, text=True, check=True)
    assert alone.stdout.split() == ["None", "None", "None"]

    for args in (["bundle.json"], ["dossier.pdf"], ["bundle.json", "--since", "kept.json"],
                 ["dossier.pdf", "--since", "kept.json"]):
        result = _run(python, folder, *args)
        assert result.returncode == 0 and result.stdout.startswith("OK: "), (args, result.stdout, result.stderr)
    assert "CMP-000002 (case:2)" in _run(python, folder, "bundle.json").stdout

    cut = copy.deepcopy(bundle)
    cut["cases"][0]["events"].pop()
    tampered = {
        "cut.json": (cut, "CMP-000002 (case:2): missing tail"),
        "flipped.json": (_flip_payload_byte(bundle), "CMP-000002 (case:2) event "),
        "swapped.json": (_swap_key(bundle, resign=False), "bad signature"),
    }
    for name, (body, reason) in tampered.items():
        (folder / name).write_text(json.dumps(body))
        result = _run(python, folder, name)
        assert result.returncode == 1 and result.stderr.startswith(f"REFUSED: {reason}" if "CMP" not in reason
                                                                  else "REFUSED: "), (name, result.stderr)
        assert reason in result.stderr, (name, result.stderr)
    assert "content does not match its hash" in _run(python, folder, "flipped.json").stderr
    # A copy re-signed with another key verifies on its own, but not against the key the auditor kept.
    (folder / "resigned.json").write_text(json.dumps(_swap_key(bundle, resign=True)))
    assert _run(python, folder, "resigned.json").returncode == 0
    result = _run(python, folder, "resigned.json", "--since", "kept.json")
    assert result.returncode == 1 and "public key differs from the earlier checkpoint's" in result.stderr
    result = _run(python, folder, "resigned.json", "--public-key", bundle["public_key"])
    assert result.returncode == 1 and "public key is not the one given" in result.stderr


def test_the_dossier_signature_is_checked_offline(proof_app: Any, tmp_path: Path, offline_python: Path) -> None:
    """The dossier verifies only with its signature intact, covering the whole file, by the expected
    certificate; every way of breaking that is refused with its reason."""
    folder = tmp_path / "offline"
    folder.mkdir()
    [dossier] = [d for d in render_queued(proof_app, 1) if d.is_dossier]
    signed = stored_pdf(proof_app, dossier)
    (folder / "dossier.pdf").write_bytes(signed)
    instance_key = signing_key_for(proof_app)
    assert instance_key is not None
    (folder / "instance.crt").write_bytes(instance_key.cert_pem)
    for name in ("casework_verify.py", "pdf_signature.py"):
        shutil.copy(ROOT / "verifier" / name, folder / name)
    python = offline_python

    for expected in ([], ["--certificate", "instance.crt"], ["--certificate", instance_key.fingerprint]):
        result = _run(python, folder, "dossier.pdf", *expected)
        assert result.returncode == 0 and result.stdout.startswith("OK: "), (expected, result.stderr)
        assert f"certificate SHA-256 {instance_key.fingerprint}), ECDSA secp256r1 with SHA256; covers the whole " \
               f"file" in result.stdout, result.stdout
    assert "not compared with an expected one" in _run(python, folder, "dossier.pdf").stdout

    # The WeasyPrint file the signature was appended to: every byte before the first %%EOF.
    original = signed[:signed.index(b"%%EOF") + 6]
    assert original.endswith(b"%%EOF\n") and len(original) < len(signed)
    other = signing_key({"ORGANISATION_NAME": "Mallory"}, tmp_path / "other-instance")
    assert other is not None and other.fingerprint != instance_key.fingerprint
    flipped = bytearray(signed)
    flipped[len(original) // 2] ^= 0x01  # inside the first signed range (the page content and embedded files)
    update = b"1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 0\ntrailer\n<< >>\nstartxref\n0\n%%EOF\n"
    refused = {
        "flipped.pdf": (bytes(flipped), [], "the document was changed after it was signed: its signed bytes no "
                                             "longer give the SHA256 digest"),
        "appended.pdf": (signed + update, [], f"the document was changed after it was signed: {len(update)} bytes "
                                              f"(an incremental update) were appended after the signed revision of "
                                              f"{len(signed)} bytes"),
        "junk.pdf": (signed + b"junk", [], "4 bytes (bytes that are not a PDF update) were appended"),
        "unsigned.pdf": (original, [], "no signature: the PDF is not signed"),
        "resigned.pdf": (sign_pdf(original, other, reason="Case dossier"), ["--certificate", "instance.crt"],
                         f"the document was signed by another certificate: O=Mallory,CN=Mallory document signing "
                         f"(SHA-256 {other.fingerprint}), not the expected {instance_key.fingerprint}"),
    }
    for name, (body, args, reason) in refused.items():
        (folder / name).write_bytes(body)
        result = _run(python, folder, name, *args)
        assert result.returncode == 1 and result.stderr.startswith("REFUSED: ") and reason in result.stderr, \
            (name, result.stderr)
    # Re-signed by another key, it verifies on its own, naming that key: the auditor compares the fingerprint.
    result = _run(python, folder, "resigned.pdf")
    assert result.returncode == 0 and f"certificate SHA-256 {other.fingerprint}" in result.stdout, result.stderr
    # An unsigned dossier's audit bundle can still be checked, when the auditor asks for that alone.
    result = _run(python, folder, "unsigned.pdf", "--allow-unsigned")
    assert result.returncode == 0 and "PDF signature: none (not signed; --allow-unsigned)" in result.stdout
    # Without pdf_signature.py beside it, the verifier says what is missing instead of passing the dossier.
    (folder / "pdf_signature.py").unlink()
    result = _run(python, folder, "dossier.pdf")
    assert result.returncode == 1 and "copy pdf_signature.py beside casework_verify.py" in result.stderr
