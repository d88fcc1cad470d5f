"""Offline: a bundle, a dossier and a kept checkpoint copied into a directory with a fresh virtualenv
that holds only `cryptography` and verifier/casework_verify.py; no Casework, no database.

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


def test_bundle_and_dossier_verify_offline_and_tampered_copies_are_refused(proof_app: Any, tmp_path: Path) -> None:
    folder = tmp_path / "offline"
    folder.mkdir()
    keep_checkpoint(proof_app, folder / "kept.json")
    [dossier] = [d for d in render_queued(proof_app, 1) if d.is_dossier]
    (folder / "dossier.pdf").write_bytes(stored_pdf(proof_app, dossier))
    status, bundle = api_json(proof_app, "/api/v1/cases/2/bundle")
    assert status == 200
    (folder / "bundle.json").write_text(json.dumps(bundle))
    shutil.copy(ROOT / "verifier" / "casework_verify.py", folder / "casework_verify.py")
    python = _offline_python(tmp_path / "venv")
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
