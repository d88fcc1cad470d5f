"""Single sign-on, the domain side: who a verified ID token's claims are, and what their groups grant.

The web layer (app/oidc.py) runs the OpenID Connect flow and hands over claims it has verified
(signature, issuer, audience, expiry, nonce). Here those claims become a user: found by (issuer,
subject), or created on first sign-in (or linked to an existing account with the same, verified
e-mail address); then roles and queue memberships are set from the groups claim through the
admin-edited mapping, on every sign-in, so the identity provider stays the source of truth.

The mapping is JSON kept in the settings table: {"<group>": {"roles": ["agent"], "queues": ["general"]}}.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from case_types.errors import ValidationFailed
from cases import accounts
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.models import QueueMember, Role, User, UserIdentity, UserRole
from cases.passwords import hash_password
from cases.uow import transaction

MAPPING_SETTING = "sso_group_mapping"


@dataclass(frozen=True)
class Grant:
    roles: frozenset[str]
    queues: frozenset[str]


def parse_mapping(session: Session, raw: str) -> dict[str, Grant]:
    """Validate an admin's mapping; every problem is reported with the group it belongs to."""
    try:
        document = json.loads(raw or "{}")
    except ValueError as exc:
        raise ValidationFailed("The mapping is not valid JSON.", {"mapping": [f"Not valid JSON: {exc}"]}) from exc
    if not isinstance(document, dict):
        raise ValidationFailed("The mapping must be an object.", {"mapping": ['Write {"group": {"roles": [...]}}.']})
    known_roles = {r.value for r in Role}
    known_queues = {q.slug for q in accounts.list_queues(session)}
    problems: list[str] = []
    mapping: dict[str, Grant] = {}
    for group, grant in document.items():
        if not isinstance(grant, dict) or set(grant) - {"roles", "queues"}:
            problems.append(f'{group}: give "roles" and/or "queues" lists.')
            continue
        roles, queues = grant.get("roles", []), grant.get("queues", [])
        if not isinstance(roles, list) or not isinstance(queues, list):
            problems.append(f'{group}: "roles" and "queues" must be lists.')
            continue
        if unknown := sorted(set(map(str, roles)) - known_roles):
            problems.append(f"{group}: unknown roles {', '.join(unknown)} (use {', '.join(sorted(known_roles))}).")
        if unknown := sorted(set(map(str, queues)) - known_queues):
            problems.append(f"{group}: unknown queues {', '.join(unknown)}.")
        if queues and "agent" not in roles:
            problems.append(f"{group}: only agents work queues; add the agent role.")
        mapping[str(group)] = Grant(frozenset(map(str, roles)), frozenset(map(str, queues)))
    if problems:
        raise ValidationFailed("The group mapping has problems.", {"mapping": problems})
    return mapping


def load_mapping(session: Session) -> dict[str, Grant]:
    try:
        return parse_mapping(session, accounts.get_setting(session, MAPPING_SETTING))
    except ValidationFailed:  # a queue was removed since: grant nothing from that entry rather than fail
        return {}


def save_mapping(session: Session, raw: str) -> dict[str, Grant]:
    mapping = parse_mapping(session, raw)
    accounts.set_setting(session, MAPPING_SETTING, json.dumps(json.loads(raw or "{}"), indent=2, sort_keys=True))
    return mapping


def grant_for(groups: Iterable[str], mapping: Mapping[str, Grant], default_role: str) -> Grant:
    roles: set[str] = set()
    queues: set[str] = set()
    for group in groups:
        if grant := mapping.get(group):
            roles |= grant.roles
            queues |= grant.queues
    return Grant(frozenset(roles or {default_role}), frozenset(queues))


def _groups(claims: Mapping[str, Any], claim: str) -> list[str]:
    value = claims.get(claim) or []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def sign_in(session: Session, *, issuer: str, claims: Mapping[str, Any], mapping: Mapping[str, Grant],
            groups_claim: str = "groups", default_role: str = Role.REQUESTER.value, clock: Clock = utcnow) -> User:
    """The user these verified claims stand for, created on first sign-in, with roles and queues from groups."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise PermissionDenied("The identity provider did not say who you are (no subject).")
    now = clock()
    grant = grant_for(_groups(claims, groups_claim), mapping, default_role)
    with transaction(session):
        identity = session.scalar(select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                             UserIdentity.subject == subject))
        user = session.get(User, identity.user_id) if identity is not None else None
        if user is None:
            user = _link_or_create(session, claims, now)
            identity = UserIdentity(user_id=user.id, issuer=issuer, subject=subject, created_at=now)
            session.add(identity)
        if not user.active:
            raise PermissionDenied("Your Casework account is deactivated. Ask an administrator.")
        assert identity is not None
        identity.last_login_at = now
        user.role_rows = [UserRole(role=r) for r in sorted(grant.roles)]
        _set_queues(session, user, grant.queues, managed={q for g in mapping.values() for q in g.queues})
    return user


def _link_or_create(session: Session, claims: Mapping[str, Any], now: Any) -> User:
    email = str(claims.get("email") or "")
    if not email or claims.get("email_verified") is False:
        raise PermissionDenied("The identity provider gave no verified e-mail address for your account.")
    email = accounts.normalize_email(email)
    existing = accounts.find_user(session, email)
    if existing is not None:
        return existing
    name = str(claims.get("name") or email.split("@")[0])[:200]
    # No password: this account signs in through the identity provider (a random hash nobody knows).
    user = User(email=email, name=name, password_hash=hash_password(secrets.token_urlsafe(32)), active=True,
                created_at=now)
    session.add(user)
    session.flush()
    return user


def _set_queues(session: Session, user: User, wanted: frozenset[str], *, managed: set[str]) -> None:
    """Join the mapped queues; leave the mapping's other queues (memberships an admin gave by hand stay)."""
    queues = {q.slug: q for q in accounts.list_queues(session)}
    current = {m.queue_id for m in session.scalars(select(QueueMember).where(QueueMember.user_id == user.id))}
    for slug in managed:
        queue = queues.get(slug)
        if queue is None:
            continue
        if slug in wanted and queue.id not in current:
            session.add(QueueMember(queue_id=queue.id, user_id=user.id))
        elif slug not in wanted and queue.id in current:
            queue.memberships = [m for m in queue.memberships if m.user_id != user.id]
