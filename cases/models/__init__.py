"""All models, imported here so the metadata is complete wherever `cases.models` is imported."""

from cases.models.accounts import ApiToken, LoginSession, Queue, QueueMember, Role, Setting, User, UserRole
from cases.models.audit import GENESIS_HASH, AuditEvent, AuditStream
from cases.models.base import Base, UTCDateTime

__all__ = [
    "GENESIS_HASH",
    "ApiToken",
    "AuditEvent",
    "AuditStream",
    "Base",
    "LoginSession",
    "Queue",
    "QueueMember",
    "Role",
    "Setting",
    "UTCDateTime",
    "User",
    "UserRole",
]
