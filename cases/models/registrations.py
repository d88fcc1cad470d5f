"""Self-registrations waiting for their e-mail confirmation: the account exists only once the link is used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base


class PendingRegistration(Base):
    """What a visitor registered with, kept until the link sent to the address confirms it.

    Only the SHA-256 of the link's token is stored (as for sessions and API tokens), and the password
    only as its hash; nobody holds an account for an address until its mailbox has answered."""

    __tablename__ = "pending_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
