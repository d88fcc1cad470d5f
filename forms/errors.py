"""The one exception tree of the forms package; only app/errors.py maps these to HTTP answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple


class FormsError(Exception):
    """Base of every error the forms package raises on purpose."""


class DefinitionProblem(NamedTuple):
    """One problem in a form definition, tied to where it is so the designer can show it in place."""

    path: str
    """Where in the JSON document, e.g. ``pages[0].fields[2].pattern``."""
    field: str | None
    """The key of the field concerned, or None for form-level problems."""
    message: str
    """Plain language for an admin."""

    @property
    def prop(self) -> str | None:
        """The property the problem is about (last name in the path), e.g. ``pattern``."""
        last = self.path.rsplit(".", 1)[-1]
        name = last.split("[", 1)[0]
        return name or None


class DefinitionError(FormsError):
    """A form definition is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[tuple[str, str | None, str]]) -> None:
        self.errors: list[DefinitionProblem] = [DefinitionProblem(*p) for p in problems]
        first = self.errors[0].message if self.errors else "invalid definition"
        more = f" (and {len(self.errors) - 1} more problems)" if len(self.errors) > 1 else ""
        super().__init__(first + more)

    def by_field(self) -> dict[str | None, list[str]]:
        """Messages grouped by field key (None for form-level ones), for the designer."""
        out: dict[str | None, list[str]] = {}
        for problem in self.errors:
            out.setdefault(problem.field, []).append(problem.message)
        return out


class ConditionError(FormsError):
    """One problem in a condition, with the path of the node it concerns (e.g. ``all[1].value``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ConditionError)
            and type(other) is type(self)
            and (other.path, other.message) == (self.path, self.message)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path, self.message))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, message={self.message!r})"


class ConditionInvalid(ConditionError):
    """A condition failed validation; ``errors`` holds every problem found."""

    def __init__(self, errors: Sequence[ConditionError]) -> None:
        self.errors: list[ConditionError] = list(errors)
        first = self.errors[0] if self.errors else ConditionError("", "invalid condition")
        super().__init__(first.path, first.message)


class ExpressionError(FormsError):
    """A calculated field's expression cannot be parsed; ``position`` is the 0-based offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        super().__init__(message if position is None else f"{message} (at character {position + 1})")


class SubmissionInvalid(FormsError):
    """A submission failed validation; ``errors`` maps field keys (``items.2.amount``) to messages."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {key: list(msgs) for key, msgs in errors.items()}
        super().__init__(f"{len(self.errors)} field(s) have errors: {', '.join(sorted(self.errors))}")


class UnknownPage(FormsError, LookupError):
    """A page key that the form does not have (the app answers 404)."""
