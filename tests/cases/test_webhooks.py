"""Webhook fan-out and claiming in the domain, with plain sessions (no Flask): the outbox is written with
the change, a rollback announces nothing, concurrent workers claim disjoint deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import assignment, audit, conversation, lifecycle, webhooks
from cases.errors import PermissionDenied
from cases.models import Case, Definition, User, WebhookDelivery
from cases.submissions import Uploader
from tests.support.complaint import GOOD
from tests.support.concurrency import race


def _subscribe(session: Session, admin: User, kinds: list[str], **kw: Any) -> Any:
    webhooks.set_allow_list(session, "127.0.0.1/32", admin)
    sub, _secret = webhooks.create_subscription(session, url="http://127.0.0.1:9/hook", kinds=kinds, actor=admin,
                                                **kw)
    return sub


def _deliveries(session: Session) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_events_fan_out_in_the_same_transaction(session: Session, admin: User, requester: User, agent: User,
                                                complaint_type: Definition) -> None:
    _subscribe(session, admin, ["case.filed", "case.assigned"])
    _subscribe(session, admin, ["case.filed"], case_type="complaint")
    case = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
    assignment.claim(session, case, agent)
    rows = _deliveries(session)
    assert [(d.subscription_id, d.event_kind) for d in rows] == [(1, "case.filed"), (2, "case.filed"),
                                                                 (1, "case.assigned")]
    assert len({d.message_id for d in rows}) == 3 and all(d.status == "pending" for d in rows)


def test_a_rolled_back_change_announces_nothing(session: Session, admin: User, requester: User,
                                                complaint_type: Definition) -> None:
    _subscribe(session, admin, ["case.filed", "case.commented"])
    case = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
    assert len(_deliveries(session)) == 1
    audit.append(session, case.stream, "case.commented", {"body": "never committed"}, actor=requester)
    session.rollback()
    conversation.add_comment(session, case, requester, "committed")  # a later commit must not revive it
    assert [d.event_kind for d in _deliveries(session)] == ["case.filed", "case.commented"]
    # A savepoint that rolls back (as a failing SLA hook does) takes its event's delivery with it.
    with session.begin_nested():
        pass
    try:
        with session.begin_nested():
            audit.append(session, case.stream, "sla.breached", {}, actor=None)
            raise RuntimeError("hook failed")
    except RuntimeError:
        pass
    session.commit()
    assert len(_deliveries(session)) == 2


def test_only_admins_subscribe(session: Session, agent: User) -> None:
    with pytest.raises(PermissionDenied):
        webhooks.create_subscription(session, url="https://example.com/", kinds=["case.filed"], actor=agent)


def test_concurrent_workers_claim_disjoint_deliveries(session: Session, database_url: str, admin: User,
                                                      requester: User, complaint_type: Definition) -> None:
    _subscribe(session, admin, ["case.filed"])
    for _ in range(12):
        lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
    assert session.scalar(select(func.count()).select_from(Case)) == 12
    now = datetime.now(UTC)
    results = race(database_url, 4, lambda s, _i: webhooks.claim_due(s, clock=lambda: now, limit=5))
    claimed = [c.delivery_id for result in results for c in result]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 12
    # Claimed rows are not due again until their claim expires.
    assert webhooks.claim_due(session, clock=lambda: now) == []
    assert len(webhooks.claim_due(session, clock=lambda: now + webhooks.DEFAULT_LEASE + timedelta(seconds=1))) == 12


def test_a_case_closed_by_an_approval_announces_case_closed(session: Session, admin: User, requester: User,
                                                            complaint_type: Definition) -> None:
    from cases import approvals
    from tests.support.complaint import with_rules

    with_rules(session, admin, complaint_type, {
        "id": "gold", "name": "Gold needs an admin's approval", "trigger": "case.submitted", "priority": 1,
        "condition": {"field": "customer_tier", "op": "eq", "value": "gold"},
        "actions": [{"type": "require_approval", "role": "admin", "on_approve": "in_progress",
                     "on_reject": "rejected"}]})
    _subscribe(session, admin, ["case.closed", "case.transitioned"])
    case = lifecycle.file_case(session, complaint_type, {**GOOD, "customer_tier": "gold"},
                               uploader=Uploader(requester))
    approvals.decide_approval(session, case, admin, approve=False, comment="Not covered")
    assert not case.is_open
    assert [d.event_kind for d in _deliveries(session)] == ["case.closed"]


def test_a_finished_document_announces_document_ready(session: Session, admin: User, requester: User,
                                                      complaint_type: Definition) -> None:
    from cases import documents

    _subscribe(session, admin, ["document.ready"])
    case = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
    queued = documents.queue_dossier(session, case, requested_by=admin)
    claimed = documents.claim(session, queued.id)
    assert claimed is not None and _deliveries(session) == []
    documents.finish(session, claimed, storage_name="x.pdf", sha256="0" * 64, size=10)
    (delivery,) = _deliveries(session)
    body = json.loads(delivery.payload)
    assert body["type"] == "document.ready" and body["data"]["event"]["kind"] == "document.generated"
    assert body["data"]["case"]["ref"] == case.ref


def test_receivers_read_personal_values_not_their_commitments(session: Session, admin: User, requester: User,
                                                              complaint_type: Definition) -> None:
    _subscribe(session, admin, ["case.filed", "case.commented"])
    case = lifecycle.file_case(session, complaint_type, GOOD, uploader=Uploader(requester))
    conversation.add_comment(session, case, requester, "Call me on 0123 456789, please.")
    events = [json.loads(d.payload)["data"]["event"] for d in _deliveries(session)]
    assert [e["actor"] for e in events] == [requester.email, requester.email]
    assert events[-1]["payload"]["body"] == "Call me on 0123 456789, please."
    stored = audit.events(session, case.stream)[-1]
    assert "0123 456789" not in stored.payload and requester.email not in stored.actor
