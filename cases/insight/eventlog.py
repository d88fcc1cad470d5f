"""The event log for process-mining tools, streamed: XES (IEEE 1849-2016) and CSV.

One trace per case filed in the period (as cases.insight.mining counts them), one event per state change:
`concept:name` the state entered, `time:timestamp` when (ISO 8601 with offset), `org:resource` who moved it
(a staff member's e-mail; `requester` for the case's requester, whose address is personal; `system` for rules
and the SLA sweep), `lifecycle:transition` complete, and `casework:entered_by` / `casework:via` (the
transition key or rule id). Trace attributes: the reference, case type and version, priority, queue,
requester type, and the form's answers except those marked personal (unless asked for and allowed) and
files. Two cursors (cases, visits) are read side by side in chunks, so memory stays flat at any size.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.audit import csv_safe
from cases.errors import PermissionDenied
from cases.insight.filters import Filters, case_conditions, scope, within
from cases.models import Case, DefinitionVersion, InsightCase, Role, StateVisit, User, UserRole
from cases.submissions import form_schema

C, V = InsightCase, StateVisit
CHUNK = 2000
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                          "\t": "&#9;"})


@lru_cache(maxsize=8192)
def attr(value: str) -> str:
    """Text as an XML attribute value: escaped, characters XML 1.0 forbids removed (states, queues and
    people repeat on every event, so the answers are kept)."""
    return _XML_UNSAFE.sub("", value).translate(_ESCAPES)


def _case_rows(session: Session, user: User | None, f: Filters) -> Iterator[Any]:
    allowed = scope(session, user)
    stmt = (select(C.case_id, C.ref, C.case_type, C.version, C.priority, C.queue, C.requester, Case.data,
                   Case.form_version_id, Case.requester_id)
            .join(Case, Case.id == C.case_id).where(*case_conditions(f, allowed), *within(C.filed_at, f))
            .order_by(C.case_id).execution_options(yield_per=CHUNK))
    yield from session.execute(stmt)


def _visit_rows(session: Session, user: User | None, f: Filters) -> Iterator[Any]:
    allowed = scope(session, user)
    stmt = (select(V.case_id, V.state, V.entered_at, V.actor_id, V.entered_by, V.via, V.queue)
            .join(C, C.case_id == V.case_id).where(*case_conditions(f, allowed), *within(C.filed_at, f))
            .order_by(V.case_id, V.n).execution_options(yield_per=CHUNK))
    if f.case_type is not None:
        stmt = stmt.where(V.case_type == f.case_type)
    yield from session.execute(stmt)


class _Context:
    """What the traces need besides their rows: staff e-mails, each form version's exportable fields."""

    def __init__(self, session: Session, user: User | None, personal: bool) -> None:
        scope(session, user)  # refused before the first chunk, not half-way through a download
        if personal and (user is None or not user.has_role(Role.ADMIN, Role.AUDITOR)):
            raise PermissionDenied("Only admins and auditors may export personal answers.")
        self.session, self.personal = session, personal
        staff = (select(User.id, User.email).join(UserRole, UserRole.user_id == User.id)
                 .where(UserRole.role.in_([Role.ADMIN.value, Role.AGENT.value])))
        self.staff: dict[int, str] = {row[0]: row[1] for row in session.execute(staff)}
        self._fields: dict[int, list[str]] = {}

    def fields(self, form_version_id: int) -> list[str]:
        known = self._fields.get(form_version_id)
        if known is None:
            version = self.session.get(DefinitionVersion, form_version_id)
            schema = form_schema(version) if version is not None else None
            known = [] if schema is None else [
                spec.key for spec in schema.fields
                if spec.family != "file" and (self.personal or spec.key not in schema.personal_keys)]
            self._fields[form_version_id] = known
        return known

    def resource(self, actor_id: int | None, requester_id: int | None) -> str:
        if actor_id is None:
            return "system"
        if actor_id == requester_id:
            return "requester"
        return self.staff.get(actor_id, "requester")


def _typed(value: Any) -> tuple[str, str] | None:
    """(XES type, text) of a form answer; None for what has no plain value (files, groups, empty)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float | Decimal):
        return "float", str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "string", ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return "string", value
    return None


def _traces(session: Session, user: User | None, f: Filters) -> Iterator[tuple[Any, list[Any]]]:
    """(case row, its visit rows) for each case, merging the two ordered streams."""
    visits = _visit_rows(session, user, f)
    pending = next(visits, None)
    for case in _case_rows(session, user, f):
        mine = []
        case_id = case.case_id
        while pending is not None and pending[0] < case_id:
            pending = next(visits, None)
        while pending is not None and pending[0] == case_id:
            mine.append(pending)
            pending = next(visits, None)
        yield case, mine


XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
<global scope="event"><string key="concept:name" value="__INVALID__"/><date key="time:timestamp" \
value="1970-01-01T00:00:00.000+00:00"/><string key="lifecycle:transition" value="complete"/></global>
<classifier name="Activity" keys="concept:name"/>
"""


def xes(session: Session, user: User | None, f: Filters, *, personal: bool = False) -> Iterator[str]:
    """The event log as XES text, in chunks of about CHUNK traces."""
    context = _Context(session, user, personal)
    yield XES_HEAD + f'<string key="concept:name" value="{attr(f.case_type or "casework")}"/>\n'
    out: list[str] = []
    for case, visits in _traces(session, user, f):
        out.append(f'<trace><string key="concept:name" value="{attr(case.ref)}"/>'
                   f'<string key="casework:case_type" value="{attr(case.case_type)}"/>'
                   f'<int key="casework:version" value="{case.version}"/>'
                   f'<string key="casework:priority" value="{attr(case.priority)}"/>'
                   f'<string key="casework:queue" value="{attr(case.queue)}"/>'
                   f'<string key="casework:requester" value="{attr(case.requester)}"/>')
        data = json.loads(case.data or "{}")
        for key in context.fields(case.form_version_id):
            typed = _typed(data.get(key))
            if typed is not None:
                out.append(f'<{typed[0]} key="{attr(key)}" value="{attr(typed[1])}"/>')
        requester_id = case.requester_id
        for _case_id, state, entered_at, actor_id, entered_by, via, _queue in visits:
            resource = "system" if actor_id is None else "requester" if actor_id == requester_id \
                else context.staff.get(actor_id, "requester")
            out.append(f'<event><string key="concept:name" value="{attr(state)}"/>'
                       f'<date key="time:timestamp" value="{entered_at.isoformat(timespec="microseconds")}"/>'
                       f'<string key="org:resource" value="{attr(resource)}"/>'
                       f'<string key="lifecycle:transition" value="complete"/>'
                       f'<string key="casework:entered_by" value="{entered_by}"/>'
                       + (f'<string key="casework:via" value="{attr(via)}"/></event>' if via else "</event>"))
        out.append("</trace>\n")
        if len(out) >= CHUNK * 4:
            yield "".join(out)
            out.clear()
    out.append("</log>\n")
    yield "".join(out)


CSV_COLUMNS = ["case_id", "activity", "timestamp", "resource", "lifecycle", "entered_by", "via", "queue",
               "case_type", "version", "priority", "requester"]


def csv_log(session: Session, user: User | None, f: Filters) -> Iterator[str]:
    """The event log as CSV (one row per event; cells neutralised for spreadsheets), in chunks."""
    context = _Context(session, user, False)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for case, visits in _traces(session, user, f):
        for v in visits:
            writer.writerow([csv_safe(str(x)) for x in (
                case.ref, v.state, v.entered_at.isoformat(timespec="microseconds"),
                context.resource(v.actor_id, case.requester_id), "complete", v.entered_by, v.via or "", v.queue,
                case.case_type, case.version, case.priority, case.requester)])
            rows += 1
        if rows >= CHUNK * 4:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            rows = 0
    yield buffer.getvalue()
