"""Retention: how long a case type's closed cases are kept, and what happens to them afterwards.

In a case-type document::

    "retention": {"keep": 1, "unit": "years", "then": "anonymise",
                  "block_erasure": false, "reason": "Complaints are kept a year for follow-up questions."}

`keep` `unit` (days, months or years) after a case closes, the daily sweep either anonymises it (erases its
personal values, keeps the rest and the process facts) or deletes its documents and files. With
`block_erasure`, an erasure request does not touch the case before the period has passed (a statutory duty
to keep the records, named in `reason`). Without `retention`, cases are kept until someone erases them.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

UNITS = {"days": "day(s)", "months": "month(s)", "years": "year(s)"}
ACTIONS = {"anonymise": "anonymise", "delete_files": "delete documents and files"}
MAX_KEEP = {"days": 36500, "months": 1200, "years": 100}
MAX_REASON = 500


@dataclass(frozen=True)
class Retention:
    keep: int
    unit: str
    then: str
    block_erasure: bool = False
    reason: str = ""

    def due(self, closed_at: datetime) -> datetime:
        """When the sweep acts on a case closed at `closed_at` (months and years by the calendar)."""
        return add_period(closed_at, self.keep, self.unit)

    def describe(self) -> str:
        return f"keep {self.keep} {UNITS[self.unit]} after closing, then {ACTIONS[self.then]}"


def add_period(at: datetime, count: int, unit: str) -> datetime:
    """`at` plus `count` days, months or years; the 31st of a shorter month becomes its last day."""
    if unit == "days":
        return at + timedelta(days=count)
    months = count * (12 if unit == "years" else 1)
    year, month = divmod(at.month - 1 + months, 12)
    year, month = at.year + year, month + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def dump_retention(retention: Retention) -> dict[str, Any]:
    return {"keep": retention.keep, "unit": retention.unit, "then": retention.then,
            "block_erasure": retention.block_erasure, "reason": retention.reason}


Problems = list[tuple[str, str]]


def read_retention(raw: Any) -> tuple[Retention | None, Problems]:
    """The retention setting of a case-type document (None: keep until erased) and its problems by path."""
    if raw is None:
        return None, []
    if not isinstance(raw, Mapping):
        return None, [("retention", "Retention is keep, unit and then.")]
    problems: Problems = []
    for extra in sorted(set(raw) - {"keep", "unit", "then", "block_erasure", "reason"}):
        problems.append((f"retention.{extra}", f"Unknown retention setting '{extra}'."))
    unit, then, keep = raw.get("unit"), raw.get("then"), raw.get("keep")
    if unit not in UNITS:
        problems.append(("retention.unit", "Choose days, months or years."))
        unit = "days"
    if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= MAX_KEEP[str(unit)]:
        problems.append(("retention.keep", f"Enter a whole number from 1 to {MAX_KEEP[str(unit)]}."))
    if then not in ACTIONS:
        problems.append(("retention.then", "Choose what happens afterwards: anonymise, or delete documents and "
                                           "files."))
    block = raw.get("block_erasure", False)
    if not isinstance(block, bool):
        problems.append(("retention.block_erasure", "Choose yes or no."))
    reason = raw.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        problems.append(("retention.reason", f"Enter text of at most {MAX_REASON} characters."))
    elif block and not reason.strip():
        problems.append(("retention.reason", "Say why erasure waits for the end of the period (the legal "
                                             "duty to keep the records)."))
    if problems:
        return None, problems
    assert isinstance(keep, int)  # checked above
    return Retention(keep=keep, unit=str(unit), then=str(then), block_erasure=bool(block),
                     reason=str(reason).strip()), []
