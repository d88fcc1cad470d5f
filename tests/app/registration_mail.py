"""Reading registration e-mails from the outbox and following their confirmation link, as the person would."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from cases.models import OutboxMessage

LINK_RE = re.compile(r"https?://\S+/register/confirm/[A-Za-z0-9_-]+")


def outbox_to(app: Any, to: str) -> list[OutboxMessage]:
    """The messages queued for one address, oldest first (detached, so they can be read after the context)."""
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(rows)


def confirmation_path(app: Any, to: str) -> str:
    """The path of the newest confirmation link sent to `to`."""
    links = [m for message in outbox_to(app, to) for m in LINK_RE.findall(message.body)]
    assert links, f"no confirmation link was sent to {to}"
    return urlsplit(links[-1]).path


def follow_confirmation_link(app: Any, web: Any, to: str) -> Any:
    """Open the link sent to `to` and press its button; returns the answer to that post."""
    path = confirmation_path(app, to)
    page = web.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert "Confirm and log in" in page.get_data(as_text=True)
    response = web.post(path)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    web._token = None  # logging in rotated the session and its CSRF secret
    return response
