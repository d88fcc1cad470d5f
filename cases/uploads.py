"""Pending uploads: a per-person quota while they wait to be filed, and the sweep of the ones never filed.

An upload is pending from the moment it is stored until a submission, a filing or an attachment takes it
(`submission_id` or `case_id` set). Pending files cost disk space without belonging to anything, so a
person may keep only so many of them, and the periodic sweep removes those older than a day (rows and
bytes), e.g. the files of a public form that was refused and never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from cases.clock import Clock, utcnow
from cases.errors import TooManyRequests
from cases.models import StoredFile, User
from cases.storage import FileStorage
from cases.uow import transaction

ORPHAN_AGE = timedelta(days=1)
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Quota:
    """How much one person may keep pending at once."""

    max_files: int = 50
    max_bytes: int = 200 * 1024 * 1024


def _pending(owner_id: int) -> list[ColumnElement[bool]]:
    return [StoredFile.owner_id == owner_id, StoredFile.case_id.is_(None), StoredFile.submission_id.is_(None)]


def pending_usage(session: Session, user: User) -> tuple[int, int]:
    """(files, bytes) `user` has uploaded that nothing has taken yet."""
    row = session.execute(select(func.count(StoredFile.id), func.coalesce(func.sum(StoredFile.size), 0))
                          .where(*_pending(user.id))).one()
    return int(row[0]), int(row[1])


def check_quota(session: Session, user: User, quota: Quota, *, adding: int = 0) -> None:
    """Refuse (429) when `user` already holds the quota's worth of pending files, or `adding` bytes more
    would go over it. The message says how to make room."""
    files, size = pending_usage(session, user)
    if files >= quota.max_files or size + adding > quota.max_bytes:
        raise TooManyRequests(
            f"You have {files} uploaded files ({size // (1024 * 1024)} MB) that are not part of a request yet; "
            f"the limit is {quota.max_files} files and {quota.max_bytes // (1024 * 1024)} MB. File the request "
            "that uses them, or wait: uploads never filed are removed after a day.")


def sweep_orphans(session: Session, store: FileStorage, *, older_than: timedelta = ORPHAN_AGE,
                  clock: Clock = utcnow) -> int:
    """Remove uploads that nothing took within `older_than`: the rows first (in one transaction, only
    while still pending), then their bytes. Returns how many were removed."""
    cutoff = clock() - older_than
    removed = 0
    while True:
        ids = list(session.scalars(
            select(StoredFile.id).where(StoredFile.case_id.is_(None), StoredFile.submission_id.is_(None),
                                        StoredFile.uploaded_at < cutoff).order_by(StoredFile.id).limit(SWEEP_BATCH)))
        if not ids:
            return removed
        with transaction(session):
            names = list(session.scalars(
                delete(StoredFile).where(StoredFile.id.in_(ids), StoredFile.case_id.is_(None),
                                         StoredFile.submission_id.is_(None)).returning(StoredFile.storage_name)))
        for name in names:
            store.delete(name)
        removed += len(names)
        if len(ids) < SWEEP_BATCH:
            return removed
