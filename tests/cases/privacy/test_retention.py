"""Retention schedules with a fixed clock: what the preview lists is exactly what the sweep does."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.retention import Retention, add_period, read_retention
from cases import audit, definitions, lifecycle
from cases.clock import fixed
from cases.models import Case, Definition, StoredFile, User
from cases.privacy import holds, keeping, retention
from cases.storage import FileStorage, LocalFolder
from cases.submissions import Uploader
from tests.support.complaint import GOOD, complaint_case_type_document

NOW = datetime(2027, 6, 15, 12, tzinfo=UTC)


def _with_retention(session: Session, admin: User, case_type: Definition, **setting: Any) -> None:
    document = complaint_case_type_document(retention={"keep": 1, "unit": "years", **setting})
    assert definitions.save_draft(session, case_type, document, actor=admin) == []
    definitions.publish(session, case_type, actor=admin)


def _closed(session: Session, case_type: Definition, requester: User, agent: User, days_ago: int) -> Case:
    at = NOW - timedelta(days=days_ago)
    case = lifecycle.file_case(session, case_type, GOOD, uploader=Uploader(requester),
                               clock=fixed(at - timedelta(days=3)))
    lifecycle.transition(session, case, "start", agent, clock=fixed(at - timedelta(days=1)))
    lifecycle.transition(session, case, "resolve", agent, comment="Refunded.", clock=fixed(at))
    assert case.closed_at == at
    return case


def _stores(tmp_path: Path) -> retention.Stores:
    return retention.Stores(files=LocalFolder(tmp_path / "files"), documents=LocalFolder(tmp_path / "documents"))


def _attach(session: Session, case: Case, store: FileStorage, owner: User) -> StoredFile:
    name, size, digest, _head = store.write(io.BytesIO(b"receipt of Riley"), max_bytes=1000)
    stored = StoredFile(storage_name=name, original_name="receipt.txt", content_type="text/plain", size=size,
                        sha256=digest, uploaded_at=NOW, owner_id=owner.id, case_id=case.id)
    session.add(stored)
    session.commit()
    return stored


def test_a_year_after_closing_files_go_held_cases_and_younger_ones_stay(
        session: Session, admin: User, requester: User, agent: User, complaint_type: Definition,
        tmp_path: Path) -> None:
    _with_retention(session, admin, complaint_type, then="delete_files")
    stores = _stores(tmp_path)
    old, young, held = (_closed(session, complaint_type, requester, agent, days)
                        for days in (366, 364, 366))
    files = {c.id: _attach(session, c, stores.files, requester).storage_name for c in (old, young, held)}
    holds.place_hold(session, reason="Dispute", actor=admin, case=held)

    preview = retention.plan(session, now=NOW)
    assert [s.ref for s in preview.due] == [old.ref]
    assert [s.ref for s in preview.held] == [held.ref]
    assert preview.due[0].action_label == "delete documents and files"

    done = retention.sweep(session, stores=stores, clock=fixed(NOW))
    assert [s.ref for s in done] == [s.ref for s in preview.due]
    remaining = set(session.scalars(select(StoredFile.case_id)))
    assert remaining == {young.id, held.id}
    assert not stores.files.exists(files[old.id])
    assert stores.files.exists(files[young.id])
    assert stores.files.exists(files[held.id])
    assert audit.events(session, old.stream)[-1].kind == "case.files_deleted"
    assert audit.verify(session).ok

    assert retention.plan(session, now=NOW).due == []  # done once
    assert retention.sweep(session, stores=stores, clock=fixed(NOW)) == []


def test_erasure_waits_for_the_period_when_the_schedule_says_so(
        session: Session, admin: User, requester: User, agent: User, complaint_type: Definition) -> None:
    _with_retention(session, admin, complaint_type, then="anonymise", block_erasure=True,
                    reason="Statutory duty to keep complaint records")
    young = _closed(session, complaint_type, requester, agent, 364)
    old = _closed(session, complaint_type, requester, agent, 366)
    refusal = keeping.why_kept(session, young, now=NOW)
    assert refusal is not None and "Statutory duty" in refusal and "2027-06-16" in refusal
    assert keeping.why_kept(session, old, now=NOW) is None
    holds.place_hold(session, reason="Court order", actor=admin, case=old)
    assert keeping.why_kept(session, old, now=NOW) == "Legal hold: Court order"


@pytest.mark.parametrize(("start", "count", "unit", "due"), [
    (datetime(2026, 1, 31, tzinfo=UTC), 1, "months", datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2024, 2, 29, tzinfo=UTC), 1, "years", datetime(2025, 2, 28, tzinfo=UTC)),
    (datetime(2026, 11, 30, tzinfo=UTC), 3, "months", datetime(2027, 2, 28, tzinfo=UTC)),
    (datetime(2026, 3, 1, tzinfo=UTC), -1, "months", datetime(2026, 2, 1, tzinfo=UTC)),
    (datetime(2026, 3, 1, tzinfo=UTC), 30, "days", datetime(2026, 3, 31, tzinfo=UTC)),
])
def test_periods_count_by_the_calendar(start: datetime, count: int, unit: str, due: datetime) -> None:
    assert add_period(start, count, unit) == due


def test_the_retention_setting_is_checked_with_its_paths() -> None:
    assert read_retention(None) == (None, [])
    good, problems = read_retention({"keep": 18, "unit": "months", "then": "anonymise"})
    assert problems == [] and good == Retention(18, "months", "anonymise")
    _none, problems = read_retention({"keep": 0, "unit": "weeks", "then": "shred", "block_erasure": True,
                                      "colour": "red"})
    assert {path for path, _m in problems} == {"retention.keep", "retention.unit", "retention.then",
                                               "retention.reason", "retention.colour"}


def test_a_year_after_closing_cases_are_anonymised_but_not_younger_or_held_ones(
        session: Session, admin: User, requester: User, agent: User, complaint_type: Definition,
        tmp_path: Path) -> None:
    _with_retention(session, admin, complaint_type, then="anonymise")
    old, young, held = (_closed(session, complaint_type, requester, agent, days) for days in (366, 364, 366))
    holds.place_hold(session, reason="Dispute", actor=admin, case=held)
    events = {c.id: len(audit.events(session, c.stream)) for c in (old, young, held)}

    preview = retention.plan(session, now=NOW)
    assert [s.ref for s in preview.due] == [old.ref] and [s.ref for s in preview.held] == [held.ref]
    assert preview.due[0].action_label == "anonymise"

    done = retention.sweep(session, stores=_stores(tmp_path), clock=fixed(NOW))
    assert [s.ref for s in done] == [s.ref for s in preview.due]
    assert set(retention.actions_of(session, [old.id, young.id, held.id])) == {old.id}
    assert len(audit.events(session, old.stream)) > events[old.id]  # the anonymisation is on the case's chain
    assert len(audit.events(session, young.stream)) == events[young.id]
    assert len(audit.events(session, held.stream)) == events[held.id]
    assert audit.verify(session).ok
    assert retention.plan(session, now=NOW).due == []
