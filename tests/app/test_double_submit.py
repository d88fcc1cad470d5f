"""Double submit of the page wizard: a repost shows the case already filed (issue 11, finding 5)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Web
from tests.support.complaint import GOOD

ONCE_RE = re.compile(r'name="_once" value="([^"]+)"')


def _cases(app: Any) -> list[Any]:
    from sqlalchemy import select

    from app.extensions import db
    from cases.models import Case

    with app.app_context():
        rows = db.session.scalars(select(Case)).all()
        db.session.expunge_all()
        return list(rows)


def test_reposting_the_last_wizard_post_files_one_case(complaint_app: Any) -> None:
    web = Web(complaint_app.test_client())
    web.login("requester@example.com")
    page = web.get("/portal/new/complaint").get_data(as_text=True)
    token = ONCE_RE.search(page)
    assert token, "the rendered form carries a one-time token"
    post = {**GOOD, "_page": "details", "_nav": "next", "_once": token.group(1)}
    answers = [web.post("/portal/new/complaint", post) for _ in range(3)]
    assert [a.status_code for a in answers] == [303, 303, 303]
    assert len({a.headers["Location"] for a in answers}) == 1
    cases = _cases(complaint_app)
    assert len(cases) == 1
    assert f"/portal/cases/{cases[0].id}" in answers[0].headers["Location"]
    # A fresh form gets a fresh token and files a second case.
    fresh = ONCE_RE.search(web.get("/portal/new/complaint").get_data(as_text=True))
    assert fresh and fresh.group(1) != token.group(1)
    assert web.post("/portal/new/complaint", {**post, "_once": fresh.group(1)}).status_code == 303
    assert len(_cases(complaint_app)) == 2


def test_a_refused_post_keeps_the_token_usable(complaint_app: Any) -> None:
    web = Web(complaint_app.test_client())
    web.login("requester@example.com")
    token = ONCE_RE.search(web.get("/portal/new/complaint").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    bad = web.post("/portal/new/complaint", {**GOOD, "order_number": "nope", "_page": "details", "_once": token})
    assert bad.status_code == 422 and f'name="_once" value="{token}"' in bad.get_data(as_text=True)
    good = web.post("/portal/new/complaint", {**GOOD, "_page": "details", "_once": token})
    assert good.status_code == 303 and len(_cases(complaint_app)) == 1


def test_someone_elses_or_a_forged_token_files_nothing(complaint_app: Any) -> None:
    web = Web(complaint_app.test_client())
    web.login("requester@example.com")
    token = ONCE_RE.search(web.get("/portal/new/complaint").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert web.post("/portal/new/complaint", {**GOOD, "_page": "details", "_once": token}).status_code == 303
    from app.extensions import db
    from cases import accounts
    from cases.models import Role

    with complaint_app.app_context():
        accounts.create_user(db.session, email="second@example.com", name="Second", password="casework-demo",
                             roles=[Role.REQUESTER])
    second = Web(complaint_app.test_client())
    second.login("second@example.com")
    assert second.post("/portal/new/complaint", {**GOOD, "_page": "details", "_once": token}).status_code == 409
    forged = second.post("/portal/new/complaint", {**GOOD, "_page": "details", "_once": "x<y"})
    assert forged.status_code == 422 and "Reload the page" in forged.get_data(as_text=True)
    assert len(_cases(complaint_app)) == 1
