"""The access request page and its export: person.json, a readable summary.pdf and the person's files."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from typing import Any

from tests.conftest import Web
from tests.support.complaint import GOOD, publish_complaint


def _file_with_attachment(app: Any, email: str, text: bytes) -> str:
    from app.extensions import db
    from app.uploads import file_store
    from cases import accounts, definitions, lifecycle
    from cases.clock import utcnow
    from cases.models import StoredFile
    from cases.submissions import Uploader

    with app.app_context():
        person = accounts.find_user(db.session, email)
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        case = lifecycle.file_case(db.session, case_type, {**GOOD, "email": email}, uploader=Uploader(person))
        name, size, digest, _head = file_store(app).write(io.BytesIO(text), max_bytes=10_000)
        db.session.add(StoredFile(storage_name=name, original_name="receipt.txt", content_type="text/plain",
                                  size=size, sha256=digest, uploaded_at=utcnow(), owner_id=person.id,
                                  case_id=case.id))
        db.session.commit()
        ref = case.ref
        db.session.remove()
    return ref


def test_an_admin_downloads_one_persons_export(app: Any, demo_users: Any) -> None:
    from app.extensions import db
    from cases import accounts

    publish_complaint(app)
    with app.app_context():
        accounts.create_user(db.session, email="namesake@example.com", name=demo_users["requester"].name,
                             password="long enough pw", roles=["requester"])
        db.session.remove()
    mine = _file_with_attachment(app, "requester@example.com", b"receipt of the requester")
    theirs = _file_with_attachment(app, "namesake@example.com", b"receipt of the namesake")
    web = Web(app.test_client())
    web.login("admin@example.com")
    page = web.get("/admin/privacy/access?email=requester@example.com").get_data(as_text=True)
    assert mine in page and theirs not in page

    response = web.post("/admin/privacy/access/export", {"email": "requester@example.com"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    zipped = zipfile.ZipFile(io.BytesIO(response.data))
    names = zipped.namelist()
    assert names[:2] == ["person.json", "summary.pdf"]
    person = json.loads(zipped.read("person.json"))
    assert [c["ref"] for c in person["cases"]] == [mine]
    (attachment,) = [n for n in names if n.startswith("files/")]
    assert zipped.read(attachment) == b"receipt of the requester"
    summary = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=zipped.read("summary.pdf"),
                             capture_output=True, check=True, timeout=30).stdout.decode()
    assert "Personal data held about requester@example.com" in summary and mine in summary
    assert theirs not in summary and "receipt.txt" in summary
    everything = b"".join(zipped.read(n) for n in names if n != "summary.pdf")
    assert theirs.encode() not in everything and b"namesake" not in everything
    assert web.post("/admin/privacy/access/export", {"email": ""}).status_code == 422
