"""The event-log export read by pm4py, the process-mining reference: the same directly-follows counts,
variants and case durations as Casework's own figures, for the scenario and for a generated set."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cases import lifecycle
from cases.clock import fixed
from cases.errors import PermissionDenied
from cases.insight import eventlog
from cases.insight.filters import Filters
from cases.models import Case, User
from cases.submissions import Uploader
from tests.support import insight
from tests.support.complaint import CALM, GOOD
from tests.support.insight import ours, read_with_pm4py
from tests.support.migration import START

pm4py = pytest.importorskip("pm4py", reason="pm4py is a dev dependency (pyproject.toml)")

EVERYTHING = Filters(start=START - timedelta(days=1), end=START + timedelta(days=30), case_type="complaint")


def export(session: Session, user: User, f: Filters, path: Path) -> Path:
    path.write_text("".join(eventlog.xes(session, user, f)), encoding="utf-8")
    return path


def test_pm4py_reads_the_scenario_as_casework_counts_it(session: Session, admin: User, requester: User,
                                                        agent: User, general: Any, tmp_path: Path) -> None:
    case_type = insight.setup(session, admin, agent)
    insight.run(session, admin, requester, agent, case_type)
    session.commit()
    reference = read_with_pm4py(export(session, admin, EVERYTHING, tmp_path / "log.xes"))
    assert reference == ours(session, admin, EVERYTHING)
    assert sum(reference["variants"].values()) == 8


def test_pm4py_agrees_on_a_generated_set(session: Session, admin: User, requester: User, agent: User,
                                         general: Any, tmp_path: Path) -> None:
    case_type = insight.setup(session, admin, agent)
    rng = random.Random(15)
    moves = {"new": ["sort", "start", "reject"], "triage": ["start", "resolve", "reject"],
             "in_progress": ["check", "resolve", "ask"], "review": ["resolve"], "escalated": ["start", "resolve"]}
    for i in range(40):
        at = START + timedelta(minutes=37 * i)
        data = {**rng.choice([CALM, GOOD]), "account_id": f"AC-{i}",
                "category": rng.choice(["billing", "damaged", "late_delivery"])}
        case = lifecycle.file_case(session, case_type, data, uploader=Uploader(requester), clock=fixed(at))
        for _step in range(rng.randrange(0, 5)):
            at += timedelta(minutes=rng.randrange(1, 600))
            options = moves.get(case.state)
            if not case.is_open or not options:
                break
            move = rng.choice(options)
            if move == "ask":
                from cases import conversation
                conversation.request_information(session, case, agent, "Which one?", clock=fixed(at))
                at += timedelta(minutes=rng.randrange(1, 300))
                conversation.answer_information(session, case, requester, "This one.", clock=fixed(at))
            else:
                lifecycle.transition(session, case, move, agent, clock=fixed(at))
    session.commit()
    for f in (EVERYTHING, Filters(start=START + timedelta(hours=5), end=START + timedelta(hours=20),
                                  case_type="complaint")):
        reference = read_with_pm4py(export(session, admin, f, tmp_path / "log.xes"))
        assert reference == ours(session, admin, f)
    assert len(ours(session, admin, EVERYTHING)["variants"]) > 3


def test_the_export_is_well_formed_and_keeps_personal_answers_out(session: Session, admin: User, requester: User,
                                                                  agent: User, general: Any,
                                                                  tmp_path: Path) -> None:
    case_type = insight.setup(session, admin, agent)
    lifecycle.file_case(session, case_type, {**CALM, "account_id": "AC-<&\">"}, uploader=Uploader(requester),
                        clock=fixed(START))
    session.commit()
    root = ET.fromstring("".join(eventlog.xes(session, admin, EVERYTHING)))  # noqa: S314 (our own export)
    ns = {"x": "http://www.xes-standard.org/"}
    trace = root.find("x:trace", ns)
    assert trace is not None
    keys = {a.get("key"): a.get("value") for a in trace if a.tag.endswith("string")}
    assert keys["account_id"] == "AC-<&\">" and keys["casework:queue"] == "general"
    event = trace.find("x:event", ns)
    assert event is not None
    values = {a.get("key"): a.get("value") for a in event}
    assert values["concept:name"] == "new" and values["org:resource"] == "requester"
    assert values["time:timestamp"] == "2026-03-02T08:00:00.000000+00:00"
    lines = "".join(eventlog.csv_log(session, admin, EVERYTHING)).splitlines()
    assert lines[0].startswith("case_id,activity,timestamp") and len(lines) == 2
    with pytest.raises(PermissionDenied):
        next(eventlog.xes(session, agent, EVERYTHING, personal=True))
    with pytest.raises(PermissionDenied):
        next(eventlog.xes(session, requester, EVERYTHING))
    assert Counter(c.state for c in session.query(Case)) == {"new": 1}
