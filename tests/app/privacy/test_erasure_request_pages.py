"""Erasure request pages: record a request, see every case and file of the person and what must be kept."""

from __future__ import annotations

import io
from typing import Any

from tests.conftest import Web
from tests.support.complaint import GOOD, publish_complaint


def _file(app: Any, email: str, **answers: Any) -> str:
    from app.extensions import db
    from app.uploads import file_store
    from cases import accounts, definitions, lifecycle
    from cases.clock import utcnow
    from cases.models import StoredFile
    from cases.submissions import Uploader

    with app.app_context():
        person = accounts.find_user(db.session, email)
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        case = lifecycle.file_case(db.session, case_type, {**GOOD, **answers}, uploader=Uploader(person))
        name, size, digest, _head = file_store(app).write(io.BytesIO(b"photo"), max_bytes=1000)
        db.session.add(StoredFile(storage_name=name, original_name=f"photo-{case.ref}.jpg", content_type="image/jpeg",
                                  size=size, sha256=digest, uploaded_at=utcnow(), owner_id=person.id, case_id=case.id))
        db.session.commit()
        ref = case.ref
        db.session.remove()
    return ref


def test_an_admin_records_a_request_and_reviews_what_it_touches(app: Any, demo_users: Any) -> None:
    from app.extensions import db
    from cases import accounts

    publish_complaint(app, retention={"keep": 10, "unit": "years", "then": "anonymise", "block_erasure": True,
                                      "reason": "Records of complaints are kept ten years"})
    with app.app_context():
        accounts.create_user(db.session, email="other@example.com", name="Other", password="long enough pw",
                             roles=["requester"])
        db.session.remove()
    mine = _file(app, "requester@example.com")
    theirs = _file(app, "other@example.com", description="The parcel went to requester@example.com by mistake")
    web = Web(app.test_client())
    web.login("admin@example.com")
    assert "No erasure requests yet." in web.get("/admin/privacy/requests").get_data(as_text=True)
    assert web.post("/admin/privacy/requests", {"email": "not an address"}).status_code == 422

    recorded = web.post("/admin/privacy/requests", {"email": "Requester@example.com", "note": "By letter"})
    assert recorded.status_code == 303
    page = web.get(recorded.headers["Location"]).get_data(as_text=True)
    assert f'data-case="{mine}"' in page and f"photo-{mine}.jpg" in page
    assert "Records of complaints are kept ten years" in page  # the open case waits for its period
    assert f'data-case="{theirs}"' not in page and theirs in page.split('id="request-mentions"')[1]
    assert "requester@example.com" in web.get("/admin/privacy/requests").get_data(as_text=True)
    assert web.get(recorded.headers["Location"] + "/record.json").status_code == 404


def test_erasing_keeps_held_cases_and_gives_a_record_without_the_address(app: Any, demo_users: Any) -> None:
    import json

    from app.extensions import db
    from cases import audit
    from cases.privacy import holds

    publish_complaint(app)
    held, erased = _file(app, "requester@example.com"), _file(app, "requester@example.com")
    web = Web(app.test_client())
    web.login("admin@example.com")
    assert web.post("/admin/privacy/holds", {"reason": "Court case", "case_ref": held}).status_code == 303
    detail = web.post("/admin/privacy/requests", {"email": "requester@example.com"}).headers["Location"]
    assert "Legal hold: Court case" in web.get(detail).get_data(as_text=True)

    assert web.post(detail + "/erase").status_code == 303
    page = web.get(detail).get_data(as_text=True)
    assert "Download the completion record" in page
    download = web.get(detail + "/record.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    record = json.loads(download.data)
    assert [c["ref"] for c in record["cases"]] == [erased]
    assert [h["ref"] for h in record["held"]] == [held] and record["held"][0]["hold"] == "Legal hold: Court case"
    assert b"requester@example.com" not in download.data
    assert "requester@example.com" not in web.get("/admin/privacy/requests").get_data(as_text=True)
    with app.app_context():
        assert audit.verify(db.session).ok
        assert len(holds.list_holds(db.session)) == 1
