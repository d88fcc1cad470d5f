"""Trying draft rules in the services: the designer's view, a sample case, a back-test; admins' notices."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from case_types.errors import ValidationFailed
from cases import accounts, definitions, lifecycle, rule_backtest, rule_testing
from cases.models import Deadline, Definition, User
from cases.read import notices, queries
from cases.rule_testing import SampleCase
from cases.submissions import Uploader
from rules import CompiledRuleset, Evaluation, ReferenceEvaluator
from tests.support.complaint import CALM, ESCALATE, complaint_case_type_document

CRITICAL = {
    "id": "critical", "name": "Critical goes to work", "trigger": "case.submitted", "priority": 5,
    "condition": {"field": "severity", "op": "eq", "value": "critical"},
    "actions": [{"type": "move_to_state", "state": "in_progress"}, {"type": "set_priority", "priority": "high"}],
}


def with_rules(*rules: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    document = complaint_case_type_document(**overrides)
    document["rules"] = {"schema_version": 1, "rules": list(rules)}
    return document


@pytest.fixture
def escalations(session: Session, agent: User) -> Any:
    queue = accounts.create_queue(session, slug="escalations", name="Escalations")
    accounts.add_queue_member(session, queue, agent)
    return queue


def file(session: Session, case_type: Definition, requester: User, **answers: Any) -> Any:
    return lifecycle.file_case(session, case_type, {**CALM, **answers}, uploader=Uploader(requester))


# ---------------------------------------------------------------- the designer's view


def test_rule_problems_and_summaries_show_even_while_the_case_type_has_problems_of_its_own(
        session: Session, admin: User, complaint_type: Definition, escalations: Any) -> None:
    broken = with_rules(ESCALATE, {**CRITICAL, "actions": [{"type": "route_to_queue", "queue": "nowhere"}]})
    broken["transitions"] = []  # the states can no longer be left: a problem outside the rules
    definitions.save_draft(session, complaint_type, broken, actor=admin)
    draft = rule_testing.draft_rules(session, complaint_type)
    assert draft.case_type_problems and not any(p.path.startswith("rules") for p in draft.case_type_problems)
    assert [p.path for p in draft.problems] == ["rules[1].actions[0].queue"]
    assert draft.ruleset is None
    assert draft.summaries["escalate"].startswith("When a case is submitted and Severity is High or Critical")
    assert "critical" not in draft.summaries
    assert "in_progress" in draft.context.states


# ---------------------------------------------------------------- a sample case


def simulate(session: Session, case_type: Definition, document: dict[str, Any], trigger: str = "case.submitted",
             **sample: Any) -> rule_testing.Simulation:
    answers = {**CALM, **sample.pop("answers", {})}
    return rule_testing.simulate_draft(session, case_type, document, trigger=trigger,
                                       sample=SampleCase(answers=answers, **sample))


def test_a_sample_case_is_decided_by_both_evaluators(session: Session, admin: User, complaint_type: Definition,
                                                    escalations: Any) -> None:
    document = with_rules(CRITICAL, ESCALATE)
    fired = simulate(session, complaint_type, document, answers={"severity": "critical"}, state="new",
                     queue="general")
    assert fired.agree and [a.evaluator for a in fired.answers] == ["durable", "reference"]
    assert fired.answer is not None and fired.answer.rule_id == "critical"
    assert fired.answer.decisions == ("move to In progress", "set priority to High")
    assert fired.summary.startswith("When a case is submitted and Severity is Critical")
    assert ("Severity", "critical") in fired.facts
    calm = simulate(session, complaint_type, document)
    assert calm.answer is not None and calm.answer.rule_id is None
    # The requester's earlier cases feed every window the rules count in.
    repeat = simulate(session, complaint_type, document, earlier_cases="2")
    assert repeat.answer is not None and repeat.answer.rule_id == "escalate"
    assert ("Requester's earlier cases in the last 90 days", "2") in repeat.facts


def test_sample_inputs_are_checked_where_they_are(session: Session, admin: User, complaint_type: Definition) -> None:
    wrong = simulate(session, complaint_type, with_rules(CRITICAL), answers={"severity": "purple"}, age_hours="soon",
                     state="nowhere", earlier_cases="1.5")
    assert set(wrong.errors) == {"severity", "age_hours", "state", "earlier_cases"}
    assert not wrong.answers
    with pytest.raises(ValidationFailed):
        simulate(session, complaint_type, with_rules(CRITICAL), trigger="case.exploded")
    blocked = simulate(session, complaint_type, with_rules({**CRITICAL, "actions": []}))
    assert "1 problem to fix first" in blocked.blocked


def test_trigger_only_attributes_are_part_of_the_sample(session: Session, admin: User,
                                                        complaint_type: Definition) -> None:
    tag_start = {"id": "tag_start", "name": "Tag started", "trigger": "case.transitioned", "priority": 1,
                 "condition": {"field": "case.transition", "op": "eq", "value": "start"},
                 "actions": [{"type": "add_tag", "tag": "started"}]}
    document = with_rules(tag_start)
    started = simulate(session, complaint_type, document, trigger="case.transitioned", transition="start")
    assert started.answer is not None and started.answer.decisions == ("add tag “started”",)
    other = simulate(session, complaint_type, document, trigger="case.transitioned", transition="reject")
    assert other.answer is not None and other.answer.rule_id is None


class _Contrary:
    """An evaluator that never finds a rule (to see a disagreement reported)."""

    def evaluate(self, ruleset: Any, trigger: str, facts: Any) -> Evaluation:
        compiled = ruleset if isinstance(ruleset, CompiledRuleset) else None
        return Evaluation(trigger, None, None, compiled.name if compiled else "", None, ())


def test_a_disagreement_between_the_evaluators_is_reported(session: Session, admin: User,
                                                           complaint_type: Definition) -> None:
    result = rule_testing.simulate_draft(
        session, complaint_type, with_rules(CRITICAL), trigger="case.submitted",
        sample=SampleCase(answers={**CALM, "severity": "critical"}), evaluators=(_Contrary(), ReferenceEvaluator()))
    assert not result.agree and result.answer is None
    assert [a.rule_id for a in result.answers] == [None, "critical"]


# ---------------------------------------------------------------- back-testing


def publish(session: Session, admin: User, case_type: Definition, *rules: dict[str, Any]) -> None:
    assert definitions.save_draft(session, case_type, with_rules(*rules), actor=admin) == []
    definitions.publish(session, case_type, actor=admin)


def test_back_test_compares_the_draft_with_what_is_published(session: Session, admin: User, requester: User,
                                                            complaint_type: Definition, escalations: Any) -> None:
    publish(session, admin, complaint_type, ESCALATE)
    filed = [file(session, complaint_type, requester, severity=s) for s in ("low", "critical", "high", "low")]
    # The draft: critical complaints skip the queue and go straight to work; the rest as before.
    report = rule_backtest.backtest_draft(session, complaint_type, with_rules(CRITICAL, ESCALATE))
    assert (report.published_version, report.evaluated, report.changed, report.unchanged) == (2, 4, 1, 3)
    (change,) = report.changes
    assert change.ref == filed[1].ref and change.case_id == filed[1].id
    assert change.before.rule_id == "escalate" and change.after.rule_id == "critical"
    assert change.before.decisions[0] == "route to Escalations"
    assert change.after.decisions == ("move to In progress", "set priority to High")
    assert set(change.kinds) == {"Route to queue", "Set priority", "Move to state", "Notify"}
    hits = {h.rule_id: (h.before, h.after) for h in report.hits}
    # The third case from the same requester counts as a repeat customer: escalated either way.
    assert hits == {"critical": (0, 1), "escalate": (3, 2)}
    assert dict(report.by_action)["Move to state"] == 1
    assert report.disagreements == [] and report.failures == []
    assert report.seconds >= 0 and "as it was filed" in report.basis
    only_two = rule_backtest.backtest_draft(session, complaint_type, with_rules(CRITICAL, ESCALATE), limit=2)
    assert only_two.evaluated == 2  # the newest two
    with pytest.raises(ValidationFailed):
        rule_backtest.backtest_draft(session, complaint_type, with_rules(CRITICAL), limit=1001)


def test_back_test_of_a_draft_with_problems_or_without_published_rules(session: Session, admin: User,
                                                                      requester: User, complaint_type: Definition,
                                                                      escalations: Any) -> None:
    file(session, complaint_type, requester, severity="critical")
    blocked = rule_backtest.backtest_draft(session, complaint_type, with_rules({**CRITICAL, "actions": []}))
    assert blocked.blocked and blocked.evaluated == 0
    report = rule_backtest.backtest_draft(session, complaint_type, with_rules(CRITICAL))
    assert (report.published_version, report.changed) == (1, 1)
    assert report.changes[0].before.rule_id is None
    # A case whose stored data no longer reads as its form says is reported, not guessed about.
    broken = file(session, complaint_type, requester)
    broken.data = json.dumps({**json.loads(broken.data), "severity": ["not", "a", "choice"]})
    session.commit()
    report = rule_backtest.backtest_draft(session, complaint_type, with_rules(CRITICAL), trigger="case.updated")
    assert [(p.ref, p.message.split(":")[0]) for p in report.failures] == [(broken.ref, "draft")]
    assert (report.evaluated, report.unchanged + report.changed + len(report.failures)) == (2, 2)
    # Published rules that no longer fit (their queue was switched off) are reported, not trusted.
    publish(session, admin, complaint_type, ESCALATE)
    accounts.update_queue(session, escalations, name="Escalations", description="", active=False)
    stale = rule_backtest.backtest_draft(session, complaint_type, with_rules(CRITICAL))
    assert any("no longer fit" in note for note in stale.notes)


def test_back_test_on_transitions_uses_each_case_s_last_transition(session: Session, admin: User, requester: User,
                                                                   complaint_type: Definition, agent: User) -> None:
    tag_start = {"id": "tag_start", "name": "Tag started", "trigger": "case.transitioned", "priority": 1,
                 "condition": {"field": "case.transition", "op": "eq", "value": "start"},
                 "actions": [{"type": "add_tag", "tag": "started"}]}
    moved, still = file(session, complaint_type, requester), file(session, complaint_type, requester)
    lifecycle.transition(session, moved, "start", agent)
    report = rule_backtest.backtest_draft(session, complaint_type, with_rules(tag_start), trigger="case.transitioned")
    assert [c.ref for c in report.changes] == [moved.ref] and report.evaluated == 2
    assert still.ref not in [c.ref for c in report.changes]


# ---------------------------------------------------------------- notices


def test_recent_rule_failures_name_the_cases(session: Session, admin: User, requester: User,
                                             complaint_type: Definition, escalations: Any) -> None:
    assert notices.recent_rule_failures(session) == []
    publish(session, admin, complaint_type, ESCALATE)
    accounts.update_queue(session, escalations, name="Escalations", description="", active=False)
    failed = file(session, complaint_type, requester, severity="critical")
    (failure,) = notices.recent_rule_failures(session)
    assert (failure.case_id, failure.ref, failure.case_type, failure.trigger) == (
        failed.id, failed.ref, "Customer complaint", "case.submitted")
    assert "Escalations" in failure.error or "escalations" in failure.error
    assert failure.fallback_queue == "general"


def test_at_risk_means_warned_and_still_owed(session: Session, requester: User, complaint_type: Definition) -> None:
    now = datetime.now(UTC)
    cases = [file(session, complaint_type, requester) for _ in range(4)]
    rows = [("running", now - timedelta(minutes=1), None), ("paused", now - timedelta(hours=1), None),
            ("breached", now - timedelta(hours=2), None), ("running", now - timedelta(hours=3), now)]
    for case, (status, warned, ended) in zip(cases, rows, strict=True):
        session.add(Deadline(case_id=case.id, kind="resolution", state=case.state, status=status, target_seconds=60,
                             business_hours=False, due_at=now + timedelta(hours=1), warned_at=warned, ended_at=ended,
                             created_at=now))
    session.commit()
    assert queries.at_risk(session, [c.id for c in cases]) == {cases[0].id, cases[1].id}
    assert queries.at_risk(session, []) == set()
