"""The legal hold pages: place a hold on one case or a search, see it on the case page, lift it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Web
from tests.support.complaint import GOOD, publish_complaint


def _file(app: Any) -> tuple[int, str]:
    from app.extensions import db
    from cases import accounts, definitions, lifecycle
    from cases.submissions import Uploader

    with app.app_context():
        requester = accounts.find_user(db.session, "requester@example.com")
        case_type = definitions.find_definition(db.session, "case_type", "complaint")
        case = lifecycle.file_case(db.session, case_type, {**GOOD, "email": requester.email},
                                   uploader=Uploader(requester))
        found = case.id, case.ref
        db.session.remove()
    return found


def test_an_admin_holds_a_case_the_case_page_says_so_and_the_hold_is_lifted(app: Any, demo_users: Any) -> None:
    publish_complaint(app)
    case_id, ref = _file(app)
    web = Web(app.test_client())
    web.login("admin@example.com")
    assert "No legal holds." in web.get("/admin/privacy/holds").get_data(as_text=True)

    refused = web.post("/admin/privacy/holds", {"reason": "Dispute", "case_ref": "CMP-999999"})
    assert refused.status_code == 422 and "No such case." in refused.get_data(as_text=True)
    nothing = web.post("/admin/privacy/holds", {"reason": "Everything"})
    assert nothing.status_code == 422 and "Choose a case type" in nothing.get_data(as_text=True)

    placed = web.post("/admin/privacy/holds", {"reason": "Dispute 2026/17", "case_ref": ref.lower()})
    assert placed.status_code == 303
    listing = web.get("/admin/privacy/holds").get_data(as_text=True)
    assert ref in listing and "Dispute 2026/17" in listing
    case_page = web.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert 'class="alert hold"' in case_page and "Dispute 2026/17" in case_page

    requester = Web(app.test_client())
    requester.login("requester@example.com")
    assert 'class="alert hold"' not in requester.get(f"/portal/cases/{case_id}").get_data(as_text=True)

    from app.extensions import db
    from cases.privacy import holds

    with app.app_context():
        hold_id = holds.list_holds(db.session)[0].id
    assert web.post(f"/admin/privacy/holds/{hold_id}/lift", {"lift_reason": "Settled"}).status_code == 303
    assert 'class="alert hold"' not in web.get(f"/work/cases/{case_id}").get_data(as_text=True)
    assert "Settled" in web.get("/admin/privacy/holds").get_data(as_text=True)


def test_a_search_hold_counts_the_cases_it_covers(app: Any, demo_users: Any) -> None:
    publish_complaint(app)
    _file(app)
    _file(app)
    web = Web(app.test_client())
    web.login("admin@example.com")
    placed = web.post("/admin/privacy/holds", {"reason": "Litigation", "case_type": "complaint",
                                               "email": "requester@example.com", "filed_from": "2020-01-01"})
    assert placed.status_code == 303
    listing = web.get("/admin/privacy/holds").get_data(as_text=True)
    assert "requester requester@example.com" in listing and "2 case(s) today" in listing


def test_only_admins_reach_the_privacy_pages(app: Any, demo_users: Any) -> None:
    pages = ["/admin/privacy/holds", "/admin/privacy/requests", "/admin/privacy/retention", "/admin/privacy/access"]
    for who in ("agent@example.com", "requester@example.com", "auditor@example.com"):
        web = Web(app.test_client())
        web.login(who)
        assert [web.get(url).status_code for url in pages] == [403] * len(pages), who
    anonymous = app.test_client()
    assert all(anonymous.get(url).status_code in (302, 303) for url in pages)
    admin = Web(app.test_client())
    admin.login("admin@example.com")
    assert [admin.get(url).status_code for url in pages] == [200] * len(pages)
