"""Time as a parameter, so services and tests agree on 'now' without patching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def fixed(at: datetime) -> Clock:
    """A clock that always answers `at` (for tests and back-dated demo data)."""
    if at.tzinfo is None:
        raise ValueError("a fixed clock needs a timezone-aware datetime")
    return lambda: at
