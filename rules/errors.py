"""The one exception tree of the rules package; only app/errors.py maps these to HTTP answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class RulesError(Exception):
    """Base of every error the rules package raises on purpose."""


class RuleProblem(NamedTuple):
    """One problem in a ruleset, tied to where it is so the designer can show it in place."""

    path: str
    """Where in the JSON document, e.g. ``rules[2].actions[0].queue``."""
    message: str
    """Plain language for an admin."""


class RuleInvalid(RulesError):
    """A ruleset is invalid (or too complex for the engine); carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.errors: list[RuleProblem] = [RuleProblem(path, message) for path, message in problems]
        if not self.errors:
            self.errors = [RuleProblem("", "Invalid ruleset.")]
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more problems)" if len(self.errors) > 1 else ""
        super().__init__(f"{first.path}: {first.message}{more}" if first.path else first.message + more)

    def by_path(self) -> dict[str, list[str]]:
        """Messages grouped by path, for showing them next to the offending part."""
        out: dict[str, list[str]] = {}
        for problem in self.errors:
            out.setdefault(problem.path, []).append(problem.message)
        return out


class EngineError(RulesError):
    """Evaluation failed: the caller must not guess, it routes the case to the fallback queue and audits this."""

    def __init__(self, message: str, *, ruleset: str | None = None, rule_id: str | None = None) -> None:
        self.message = message
        self.ruleset = ruleset
        self.rule_id = rule_id
        where = f" [{ruleset}]" if ruleset else ""
        super().__init__(f"{message}{where}")
