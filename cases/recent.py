"""`case.requester_recent_cases`: a requester's earlier cases of one case type, counted for the rules.

A rule only compares the count with numbers of its own, so counting stops one past the largest of them
(`recent_cases_cap`): with the indexes `ix_cases_type_email_created` and `ix_cases_type_requester_created`
that is at most two index range scans of a few rows, however many cases an account has filed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from cases.models import Case
from forms.conditions import AllOf, AnyOf, Clause, Not
from rules import CompiledRuleset, recent_cases_key


def recent_cases_cap(compiled: CompiledRuleset, key: str) -> int:
    """A count beyond which no condition of the ruleset on `key` can tell two counts apart: one more than
    the largest number any condition compares it with (at least 1, so none and some stay apart)."""
    numbers: list[Decimal] = []

    def walk(node: Any) -> None:
        if isinstance(node, AllOf | AnyOf):
            for item in node.items:
                walk(item)
        elif isinstance(node, Not):
            walk(node.item)
        elif isinstance(node, Clause) and node.field == key:
            values = node.value if isinstance(node.value, list | tuple) else [node.value]
            numbers.extend(Decimal(str(v)) for v in values if isinstance(v, int | float | Decimal)
                           and not isinstance(v, bool))

    for rule in compiled.ruleset.rules:
        walk(rule.parsed)
    return max(1, int(max(numbers, default=Decimal(0))) + 2)


def earlier_cases(session: Session, case: Case, days: int, cap: int | None = None) -> int:
    """Earlier cases of the same case type and requester (by e-mail, or account) within `days` before this one
    (a third complaint counts complaints, not the invoices the same person filed).

    Counted up to `cap` (recent_cases_cap: beyond it no rule can tell the difference), by at most two index
    range scans of `cap` rows each (ix_cases_type_email_created, ix_cases_type_requester_created), so an
    account that files thousands of cases costs what one with three costs."""
    return recent_cases(session, case_type_id=case.case_type_id, contact_email=case.contact_email,
                        requester_id=case.requester_id, created_at=case.created_at, days=days, cap=cap,
                        exclude_id=case.id)


def recent_cases(session: Session, *, case_type_id: int, contact_email: str, requester_id: int | None,
                 created_at: datetime, days: int, cap: int | None, exclude_id: int | None = None) -> int:
    """See earlier_cases; from plain values, so a filing can count before its case exists."""
    since = created_at - timedelta(days=days)

    def earlier(who: Any) -> Any:
        stmt = select(Case.id).where(who, Case.case_type_id == case_type_id, Case.created_at <= created_at,
                                     Case.created_at >= since)
        if exclude_id is not None:
            stmt = stmt.where(Case.id != exclude_id)
        return stmt.limit(cap) if cap is not None else stmt

    branches = [earlier(Case.contact_email == contact_email)] if contact_email else []
    if requester_id is not None:
        branches.append(earlier(Case.requester_id == requester_id))
    if not branches:
        return 0
    ids: Any = branches[0]
    if len(branches) > 1:
        ids = union(*[b.subquery().select() for b in branches])
    count: int = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    return min(count, cap) if cap is not None else count


def prepared_facts(session: Session, compiled: CompiledRuleset | None, *, case_type_id: int, contact_email: str,
                   requester_id: int | None, created_at: datetime) -> dict[str, Any]:
    """The facts of a case about to be filed that need the database, read before the write lock."""
    if compiled is None:
        return {}
    facts: dict[str, Any] = {}
    for days in compiled.ruleset.recent_case_windows():
        key = recent_cases_key(days)
        facts[key] = recent_cases(session, case_type_id=case_type_id, contact_email=contact_email,
                                  requester_id=requester_id, created_at=created_at, days=days,
                                  cap=recent_cases_cap(compiled, key))
    return facts
