"""Webhooks: subscriptions, the fan-out of case events into delivery rows, claiming and the retry schedule.

Fan-out is the transactional outbox: every audit event of a case that a subscription listens to becomes
a `WebhookDelivery` row in the same transaction (a session hook, installed once by
cases.database.configure_engine, so no service can forget it). A rolled-back change leaves no row, so
nothing is ever announced that did not happen. Sending is the web layer's job (app.webhooks): it
claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, with an expiring claim so a killed worker's
rows are taken over), posts them and records each attempt here.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session, scoped_session

from case_types.errors import NotFound, ValidationFailed
from cases import accounts, audit, notifications
from cases.audit import format_time
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import (
    Case,
    Definition,
    Role,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.privacy.values import reveal, reveal_actor
from cases.uow import transaction
from cases.webhook_targets import AllowList, Resolver, Target, check_target, system_resolver

EVENT_KINDS: dict[str, str] = {
    "case.filed": "Case filed",
    "case.transitioned": "Case transitioned",
    "case.assigned": "Case assigned (claimed, assigned or released)",
    "case.commented": "Comment added",
    "sla.warning": "SLA warning",
    "sla.breached": "SLA breached",
    "case.closed": "Case closed",
    "document.ready": "Document ready",
}
# Audit event kind -> webhook event kind.
SOURCE_KINDS = {
    "case.filed": "case.filed", "case.transitioned": "case.transitioned", "case.claimed": "case.assigned",
    "case.assigned": "case.assigned", "case.released": "case.assigned", "case.commented": "case.commented",
    "sla.warning": "sla.warning", "sla.breached": "sla.breached", "document.generated": "document.ready",
}
ALLOW_LIST_SETTING = "webhook_allow_list"
RETRY_FOR = timedelta(days=1)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=6)
DEFAULT_DISABLE_AFTER = 25
DEFAULT_LEASE = timedelta(seconds=90)


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed try: 30 s, 1 min, 2 min ... at most 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def retry_schedule() -> list[timedelta]:
    """The delays between tries until a delivery gives up (a day after the event)."""
    delays, total, n = [], timedelta(0), 1
    while total + retry_delay(n) <= RETRY_FOR:
        delays.append(retry_delay(n))
        total += delays[-1]
        n += 1
    return delays


# ---------------------------------------------------------------- subscriptions


def allow_list(session: Session) -> AllowList:
    return AllowList.parse(accounts.get_setting(session, ALLOW_LIST_SETTING))


def set_allow_list(session: Session, text: str, actor: User) -> AllowList:
    """Save the admins' allow-list (host names, addresses, networks) after checking every entry."""
    _require_admin(actor)
    parsed = AllowList.parse(text or "")
    accounts.set_setting(session, ALLOW_LIST_SETTING, parsed.dump())
    return parsed


def check_url(session: Session, url: str, *, resolve: Resolver = system_resolver) -> Target:
    return check_target(url, allow=allow_list(session), resolve=resolve)


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins manage webhooks.")


def kinds_of(subscription: WebhookSubscription) -> list[str]:
    return list(json.loads(subscription.event_kinds or "[]"))


def create_subscription(session: Session, *, url: str, kinds: Sequence[str], actor: User, description: str = "",
                        case_type: str | None = None, resolve: Resolver = system_resolver,
                        clock: Clock = utcnow) -> tuple[WebhookSubscription, str]:
    """Subscribe `url` to event kinds (of one case type, or all); returns it and its secret (shown once)."""
    _require_admin(actor)
    fields: dict[str, list[str]] = {}
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if not kinds or unknown:
        fields["kinds"] = [f"Unknown event kind: {', '.join(unknown)}." if unknown else "Choose at least one event."]
    definition = None
    if case_type:
        definition = session.scalar(select(Definition).where(Definition.kind == "case_type",
                                                             Definition.slug == case_type))
        if definition is None:
            fields["case_type"] = ["No such case type."]
    if len(description) > 200:
        fields["description"] = ["Use at most 200 characters."]
    if fields:
        raise ValidationFailed("The subscription needs attention.", fields)
    target = check_url(session, url, resolve=resolve)
    secret = new_secret()
    with transaction(session):
        subscription = WebhookSubscription(
            url=target.url, description=description.strip(), case_type_id=definition.id if definition else None,
            event_kinds=json.dumps([k for k in EVENT_KINDS if k in kinds]), secret=secret, active=True,
            created_at=clock(), created_by_id=actor.id)
        session.add(subscription)
    return subscription, secret


def list_subscriptions(session: Session) -> Sequence[WebhookSubscription]:
    return session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)).all()


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound("No such webhook subscription.")
    return subscription


def set_active(session: Session, subscription: WebhookSubscription, active: bool, actor: User) -> None:
    """Turn a subscription off or on again (on again: the failure count starts over)."""
    _require_admin(actor)
    with transaction(session):
        subscription.active = active
        if active:
            subscription.consecutive_failures, subscription.disabled_reason = 0, ""
        else:
            subscription.disabled_reason = f"Turned off by {actor.name}."


def deliveries_of(session: Session, subscription: WebhookSubscription, limit: int = 100) -> Sequence[WebhookDelivery]:
    """The delivery log of a subscription, newest first."""
    return session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
                           .order_by(WebhookDelivery.id.desc()).limit(limit)).all()


def attempts_of(session: Session, delivery: WebhookDelivery) -> Sequence[WebhookAttempt]:
    return session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                           .order_by(WebhookAttempt.id)).all()


def redeliver(session: Session, subscription: WebhookSubscription, delivery_id: int, actor: User, *,
              clock: Clock = utcnow) -> WebhookDelivery:
    """Send a delivery again now (same `webhook-id`, so receivers can tell it is the same event)."""
    _require_admin(actor)
    with transaction(session):
        delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                                  .with_for_update())
        if delivery is None or delivery.subscription_id != subscription.id:
            raise NotFound("No such delivery.")
        now = clock()
        delivery.status, delivery.next_attempt_at, delivery.give_up_at = "pending", now, now + RETRY_FOR
        delivery.claimed_until, delivery.claim_token = None, ""
    return delivery


# ---------------------------------------------------------------- fan-out (the outbox)


def _case_snapshot(case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "ref": case.ref, "case_type": case.case_type.slug, "state": case.state,
        "queue": case.queue.slug, "assignee": case.assignee.email if case.assignee else None,
        "priority": case.priority, "is_open": case.is_open, "version": case.lock_version,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }


# Events that can close a case (their payload names the state they led `to`).
CLOSING_KINDS = ("case.transitioned", "case.approval_decided")


def _webhook_kinds(kind: str, payload: dict[str, Any], case: Case) -> list[str]:
    kinds = [SOURCE_KINDS[kind]] if kind in SOURCE_KINDS else []
    if kind in CLOSING_KINDS and not case.is_open and payload.get("to") == case.state:
        kinds.append("case.closed")
    return kinds


_NONE_FOR = "casework_webhooks_none_for"


def subscribed(case_type_id: int) -> Any:
    """A SQL truth value: some active subscription may want events of this case type. A use case that
    reads it with what it reads anyway and finds none says so with no_subscriptions, so that its commit
    does not look the subscriptions up again."""
    return (select(WebhookSubscription.id).where(
        WebhookSubscription.active.is_(True),
        or_(WebhookSubscription.case_type_id.is_(None), WebhookSubscription.case_type_id == case_type_id))
        .exists())


def no_subscriptions(session: Session, case_type_id: int) -> None:
    """Within the current transaction: no active subscription wants events of this case type (as
    `subscribed` read it just before; a filing reads it before its write lock, so a subscription switched
    on while the filing commits starts with the next event, as one switched on just after would)."""
    session = _real(session)
    held = session.info.get(_NONE_FOR)
    if held is None or held[0] is not session.get_transaction():
        ids: set[int] = set()
        held = session.info[_NONE_FOR] = (session.get_transaction(), ids)
    held[1].add(case_type_id)


def _real(session: Session) -> Session:
    return session.registry() if isinstance(session, scoped_session) else session


def fan_out(session: Session, events: Sequence[dict[str, Any]], *, clock: Clock = utcnow) -> list[WebhookDelivery]:
    """Delivery rows for audit `events` (as written: stream, seq, at, actor, kind, payload) and every active
    subscription that wants them, in the caller's transaction."""
    held = _real(session).info.pop(_NONE_FOR, None)
    if held is not None and held[0] is _real(session).get_transaction():
        cases = [session.get(Case, int(str(row["stream"]).split(":", 1)[1])) for row in events]
        if all(case is None or case.case_type_id in held[1] for case in cases):
            return []
    subscriptions = session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))).all()
    if not subscriptions:
        return []
    now = clock()
    created = []
    for row in events:
        case = session.get(Case, int(str(row["stream"]).split(":", 1)[1]))
        if case is None:
            continue
        payload = reveal(session, json.loads(row["payload"]))  # receivers read values, not commitments
        at = format_time(row["at"])
        for kind in _webhook_kinds(row["kind"], payload, case):
            body = {"type": kind, "timestamp": at, "data": {
                "case": _case_snapshot(case),
                "event": {"seq": row["seq"], "kind": row["kind"], "at": at,
                          "actor": reveal_actor(session, row["actor"]),
                          "payload": payload}}}
            for subscription in subscriptions:
                if subscription.case_type_id not in (None, case.case_type_id) or kind not in kinds_of(subscription):
                    continue
                delivery = WebhookDelivery(
                    subscription_id=subscription.id, message_id=f"msg_{uuid.uuid4().hex}", event_kind=kind,
                    case_id=case.id, payload=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    status="pending", attempts=0, created_at=now, next_attempt_at=now, give_up_at=now + RETRY_FOR)
                session.add(delivery)
                created.append(delivery)
    return created


def _before_commit(session: Session) -> None:
    # Write what is still pending first, so every event of this transaction is among the written ones
    # (those of a rolled-back savepoint were dropped by cases.audit).
    session.flush()
    rows = [row for _t, row in session.info.pop(audit.WRITTEN, [])
            if (row["kind"] in SOURCE_KINDS or row["kind"] in CLOSING_KINDS) and str(row["stream"]).startswith("case:")]
    if rows:
        fan_out(session, rows)


_installed = threading.Lock()
_done = False


def install() -> None:
    """Register the fan-out on every SQLAlchemy session, once per process."""
    global _done
    with _installed:
        if _done:
            return
        event.listen(Session, "before_commit", _before_commit)
        _done = True


# ---------------------------------------------------------------- claiming and recording


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send one delivery, copied out of the claiming transaction."""

    delivery_id: int
    subscription_id: int
    token: str
    message_id: str
    url: str
    secret: str
    payload: str
    attempt: int


def claim_due(session: Session, *, clock: Clock = utcnow, limit: int = 20,
              lease: timedelta = DEFAULT_LEASE) -> list[Claim]:
    """Claim up to `limit` due deliveries of active subscriptions for `lease` (one short transaction).

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows; SQLite's IMMEDIATE
    transaction lets one claimer in at a time. A claim that is not recorded within the lease (the
    worker died) expires and the row is due again.
    """
    with transaction(session):
        now = clock()
        rows = list(session.scalars(
            select(WebhookDelivery).join(WebhookSubscription)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                   WebhookSubscription.active.is_(True),
                   or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
            .execution_options(populate_existing=True)))
        claims = []
        for row in rows:
            row.claimed_until, row.claim_token = now + lease, secrets.token_hex(16)
            row.attempts += 1
            claims.append(Claim(row.id, row.subscription_id, row.claim_token, row.message_id, row.subscription.url,
                                row.subscription.secret, row.payload, row.attempts))
    return claims


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def record(session: Session, claim: Claim, outcome: Outcome, *, clock: Clock = utcnow,
           disable_after: int = DEFAULT_DISABLE_AFTER) -> WebhookDelivery | None:
    """Log one attempt and schedule what comes next: done, a retry with backoff, or given up.

    A claim that expired and was taken over by another worker still logs its attempt (and a success
    still counts), but leaves the schedule to the worker that holds the row now.
    """
    with transaction(session):
        delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == claim.delivery_id)
                                  .with_for_update().execution_options(populate_existing=True))
        if delivery is None:
            return None
        now = clock()
        session.add(WebhookAttempt(delivery_id=delivery.id, at=now, status_code=outcome.status_code,
                                   error=outcome.error[:2000], duration_ms=outcome.duration_ms))
        delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error[:2000]
        subscription = delivery.subscription
        mine = delivery.claim_token == claim.token
        if outcome.ok:
            delivery.status, delivery.delivered_at = "delivered", now
            delivery.claimed_until, delivery.claim_token = None, ""
            subscription.consecutive_failures = 0
            return delivery
        if not mine or delivery.status != "pending":
            return delivery
        delivery.claimed_until, delivery.claim_token = None, ""
        retry_at = now + retry_delay(delivery.attempts)
        if retry_at > delivery.give_up_at:
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = retry_at
        subscription.consecutive_failures += 1
        if subscription.active and subscription.consecutive_failures >= disable_after:
            _disable(session, subscription, outcome, clock)
    return delivery


def release(session: Session, claim: Claim) -> None:
    """Give a claimed delivery back unsent (its subscription was turned off meanwhile): no attempt counted."""
    with transaction(session):
        delivery = session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
        if delivery is not None and delivery.claim_token == claim.token:
            delivery.claimed_until, delivery.claim_token = None, ""
            delivery.attempts -= 1


def _disable(session: Session, subscription: WebhookSubscription, outcome: Outcome, clock: Clock) -> None:
    """Turn off a subscription whose receiver keeps failing, and tell every admin (through the outbox)."""
    last = f"HTTP {outcome.status_code}" if outcome.status_code is not None else outcome.error
    subscription.active = False
    subscription.disabled_reason = (f"Turned off after {subscription.consecutive_failures} failed deliveries "
                                    f"in a row (last: {last[:200]}).")
    for admin in accounts.users_with_role(session, Role.ADMIN):
        if admin.active:
            notifications.queue_message(
                session, to=admin.email, subject=f"Webhook turned off: {subscription.url[:200]}",
                body=f"{subscription.disabled_reason}\n\nPending deliveries wait until an admin turns the "
                     f"subscription on again under Admin, Webhooks.", reason="webhook.disabled", clock=clock)


def next_due(session: Session) -> datetime | None:
    """When the next pending delivery of an active subscription is due (for the periodic sweep)."""
    return session.scalar(select(WebhookDelivery.next_attempt_at).join(WebhookSubscription)
                          .where(WebhookDelivery.status == "pending", WebhookSubscription.active.is_(True))
                          .order_by(WebhookDelivery.next_attempt_at).limit(1))
