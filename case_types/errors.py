"""The base of the domain's exception tree, owned here so the case-type language can raise it without
importing cases/; cases.errors adds the errors only services raise. app/errors.py maps each to HTTP."""

from __future__ import annotations


class CasesError(Exception):
    """Base of every error the case-type language and the case services raise on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CasesError):
    code = "not_found"


class Conflict(CasesError):
    """The change lost a race or no longer fits the current state (stale page, taken claim)."""

    code = "conflict"


class ValidationFailed(CasesError):
    """Input that does not fit; `fields` maps a field name to its messages."""

    code = "invalid"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}
