"""People, their roles, the queues (teams) they belong to, their login sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.base import Base


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    REQUESTER = "requester"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.AGENT: "Agent",
    Role.REQUESTER: "Requester",
    Role.AUDITOR: "Auditor",
}

_ROLE_CHECK = "role IN ('admin', 'agent', 'requester', 'auditor')"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Absent people are skipped by assignment strategies (holidays, sick leave).
    absent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_login_at: Mapped[datetime | None]
    # The commitment that stands for this requester's e-mail as the actor of audit events (cases.privacy).
    audit_alias: Mapped[str | None] = mapped_column(String(64))

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    # The user's queue memberships as read with their login (cases.accounts); written through Queue.memberships.
    queue_links: Mapped[list[QueueMember]] = relationship(
        primaryjoin="User.id == QueueMember.user_id", viewonly=True, lazy="select"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role | str) -> bool:
        mine = {r.role for r in self.role_rows}
        return any(str(role) in mine for role in roles)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class Queue(Base):
    """A team's work queue; cases are routed to queues, agents work the queues they belong to."""

    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    memberships: Mapped[list[QueueMember]] = relationship(back_populates="queue", cascade="all, delete-orphan")

    @property
    def members(self) -> list[User]:
        return sorted((m.user for m in self.memberships), key=lambda u: u.name.lower())


class QueueMember(Base):
    __tablename__ = "queue_members"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())

    queue: Mapped[Queue] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(lazy="joined")


class LoginSession(Base):
    """A server-side login session: the cookie holds a random token whose hash is stored here,
    so logout, deactivation and password changes end sessions for real."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A personal API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"), Index("ix_api_tokens_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    # The first characters, to tell tokens apart in a list without revealing them.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class Setting(Base):
    """Site-wide switches an admin can flip in the browser (e.g. open self-registration)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
