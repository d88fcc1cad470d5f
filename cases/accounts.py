"""Account services: users and roles, queues and members, login sessions, API tokens, settings."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, joinedload

from case_types.errors import Conflict, NotFound, ValidationFailed
from cases.access import remember_queue_ids
from cases.clock import Clock, utcnow
from cases.errors import AuthenticationFailed
from cases.models import ApiToken, LoginSession, Queue, QueueMember, Role, Setting, User, UserRole
from cases.passwords import hash_password, password_problems, verify_password
from cases.uow import transaction

TOKEN_PREFIX = "cw_"  # noqa: S105 - a public marker, not a secret
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")


@functools.cache
def _dummy_hash() -> str:
    """A real hash to check against when the e-mail is unknown, so timing does not reveal accounts."""
    return hash_password(secrets.token_urlsafe(16))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_email(email: str) -> str:
    """Lower-cased, validated e-mail address; raises ValidationFailed with a readable message."""
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("Enter a valid e-mail address.", {"email": [str(exc)]}) from None
    return result.normalized.lower()


def parse_roles(roles: Iterable[str]) -> set[Role]:
    """Role names to Role values; unknown names are a validation error, not silently dropped."""
    parsed: set[Role] = set()
    for name in roles:
        try:
            parsed.add(Role(str(name).strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValidationFailed(f"Unknown role '{name}'.", {"roles": [f"Choose from {known}."]}) from None
    return parsed


# ---------------------------------------------------------------- users


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(func.lower(User.name))).all()


EXISTS_MESSAGE = "A user with this e-mail address already exists."


def new_account_problems(email: str, name: str, password: str) -> tuple[str, str, dict[str, list[str]]]:
    """The normalised address and name of a new account, and every problem with them or the password
    (per field; whether the address already has an account is left to the caller)."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalize_email(email)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append("Enter a name.")
    elif len(name) > 200:
        errors.setdefault("name", []).append("Use at most 200 characters.")
    if problems := password_problems(password, email=email):
        errors["password"] = problems
    return email, name, errors


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[str],
    clock: Clock = utcnow,
) -> User:
    """Create an active user; every problem is reported at once, per field."""
    email, name, errors = new_account_problems(email, name, password)
    try:
        role_set = parse_roles(roles)
        if not role_set:
            errors["roles"] = ["Choose at least one role."]
    except ValidationFailed as exc:
        errors.update(exc.fields)
        role_set = set()
    if "email" not in errors and find_user(session, email) is not None:
        errors["email"] = [EXISTS_MESSAGE]
    if errors:
        raise ValidationFailed("The user could not be created.", errors)
    with transaction(session):
        user = User(email=email, name=name, password_hash=hash_password(password), active=True,
                    created_at=clock())
        user.role_rows = [UserRole(role=r.value) for r in sorted(role_set)]
        session.add(user)
    return user


def _active_admin_count(session: Session) -> int:
    stmt = (
        select(func.count()).select_from(User).join(UserRole)
        .where(UserRole.role == Role.ADMIN.value, User.active.is_(True))
    )
    return session.scalar(stmt) or 0


def set_roles(session: Session, user: User, roles: Iterable[str], *, actor: User) -> None:
    """Replace a user's roles; the last active admin keeps the admin role."""
    role_set = parse_roles(roles)
    if not role_set:
        raise ValidationFailed("Choose at least one role.", {"roles": ["Choose at least one role."]})
    if user.has_role(Role.ADMIN) and Role.ADMIN not in role_set and user.active \
            and _active_admin_count(session) <= 1:
        raise Conflict("This is the last active admin; give another user the admin role first.")
    with transaction(session):
        user.role_rows = [UserRole(role=r.value) for r in sorted(role_set)]


def update_profile(session: Session, user: User, *, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Enter a name of at most 200 characters.", {"name": ["Enter a name."]})
    with transaction(session):
        user.name = name


def set_active(session: Session, user: User, active: bool, *, actor: User) -> None:
    """Activate or deactivate; deactivation ends the user's sessions at once."""
    if not active:
        if user.id == actor.id:
            raise Conflict("You cannot deactivate your own account.")
        if user.has_role(Role.ADMIN) and user.active and _active_admin_count(session) <= 1:
            raise Conflict("This is the last active admin and cannot be deactivated.")
    with transaction(session):
        user.active = active
        if not active:
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def set_absent(session: Session, user: User, absent: bool) -> None:
    """Mark someone away so assignment strategies skip them."""
    with transaction(session):
        user.absent = absent


def authenticate(session: Session, email: str, password: str, *, clock: Clock = utcnow) -> User:
    """The active user with these credentials; one message for every failure, whatever was wrong."""
    user = find_user(session, email or "")
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = verify_password(password or "", stored)
    if user is None or not ok or not user.active:
        raise AuthenticationFailed("The e-mail address or password is not right.")
    with transaction(session):
        user.last_login_at = clock()
    return user


def change_password(
    session: Session, user: User, *, current: str, new: str, keep_session_token: str | None = None
) -> None:
    """Change a password after checking the current one; every other login session ends."""
    errors: dict[str, list[str]] = {}
    if not verify_password(current or "", user.password_hash):
        errors["current_password"] = ["This is not your current password."]
    if problems := password_problems(new or "", email=user.email):
        errors["new_password"] = problems
    if errors:
        raise ValidationFailed("The password was not changed.", errors)
    with transaction(session):
        user.password_hash = hash_password(new)
        stmt = delete(LoginSession).where(LoginSession.user_id == user.id)
        if keep_session_token:
            stmt = stmt.where(LoginSession.token_hash != _sha256(keep_session_token))
        session.execute(stmt)


def set_password(session: Session, user: User, password: str) -> None:
    """Set a password without the current one (admin reset, CLI); ends all sessions."""
    if problems := password_problems(password, email=user.email):
        raise ValidationFailed("The password was not changed.", {"password": problems})
    with transaction(session):
        user.password_hash = hash_password(password)
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


# ---------------------------------------------------------------- login sessions


def start_login_session(
    session: Session, user: User, *, lifetime: timedelta, user_agent: str = "", clock: Clock = utcnow
) -> str:
    """Open a server-side session and return its token (for the cookie); only the hash is stored."""
    token = secrets.token_urlsafe(32)
    now = clock()
    with transaction(session):
        session.add(LoginSession(
            token_hash=_sha256(token), user_id=user.id, created_at=now, last_seen_at=now,
            expires_at=now + lifetime, user_agent=(user_agent or "")[:300],
        ))
    return token


def _with_roles_and_queues(user: Any) -> tuple[Any, Any]:
    """Load options: the user, their roles and their queue memberships in the same query (the queue ids
    are what row-level access asks for first on a staff page, cases.access)."""
    return (joinedload(user).joinedload(User.role_rows),
            joinedload(user).joinedload(User.queue_links).load_only(QueueMember.queue_id).lazyload(QueueMember.user))


@functools.cache
def _login_session_stmt() -> Any:
    # Built once: every page starts here, and building the statement costs as much as running it.
    return (select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash"))
            .options(*_with_roles_and_queues(LoginSession.user)))


@functools.cache
def _api_token_stmt() -> Any:
    return (select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))
            .options(*_with_roles_and_queues(ApiToken.user)))


def resolve_login_session(
    session: Session, token: str, *, idle: timedelta, clock: Clock = utcnow
) -> User | None:
    """The user behind a session token, or None when it is unknown, expired, idle or the user inactive."""
    if not token:
        return None
    # One query for the session, its user and the user's roles (every page starts here).
    row = session.scalars(_login_session_stmt(), {"token_hash": _sha256(token)}).unique().first()
    if row is None:
        return None
    remember_queue_ids(session, row.user, {link.queue_id for link in row.user.queue_links})
    now = clock()
    if row.expires_at <= now or row.last_seen_at + idle <= now or not row.user.active:
        with transaction(session):
            session.delete(row)
        return None
    if now - row.last_seen_at > timedelta(minutes=1):  # write at most once a minute
        with transaction(session):
            row.last_seen_at = now
    return row.user


def end_login_session(session: Session, token: str) -> None:
    with transaction(session):
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _sha256(token or "")))


# ---------------------------------------------------------------- API tokens


def create_api_token(
    session: Session, user: User, *, name: str, created_by: User | None = None, clock: Clock = utcnow
) -> tuple[ApiToken, str]:
    """A new personal token; returns the row and the token text, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Name the token (at most 100 characters).", {"name": ["Enter a name."]})
    if not user.active:
        raise Conflict("Tokens cannot be created for an inactive user.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(session):
        row = ApiToken(user_id=user.id, name=name, token_hash=_sha256(token), prefix=token[:10],
                       created_at=clock(), created_by_id=(created_by or user).id)
        session.add(row)
    return row, token


def list_api_tokens(session: Session, user: User) -> Sequence[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    return session.scalars(stmt).all()


def revoke_api_token(session: Session, token_id: int, *, actor: User, clock: Clock = utcnow) -> ApiToken:
    """Revoke a token: its owner or an admin may; revoking twice is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.id and not actor.has_role(Role.ADMIN)):
        raise NotFound("No such token.")
    with transaction(session):
        if row.revoked_at is None:
            row.revoked_at = clock()
    return row


def user_for_api_token(session: Session, token: str, *, clock: Clock = utcnow) -> User | None:
    """The active owner of an unrevoked token, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    # One query for the token, its user and the user's roles (every API call starts here).
    row = session.scalars(_api_token_stmt(), {"token_hash": _sha256(token)}).unique().first()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    remember_queue_ids(session, row.user, {link.queue_id for link in row.user.queue_links})
    now = clock()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        with transaction(session):
            row.last_used_at = now
    return row.user


# ---------------------------------------------------------------- queues


def list_queues(session: Session, *, include_inactive: bool = True) -> Sequence[Queue]:
    stmt = select(Queue).order_by(func.lower(Queue.name))
    if not include_inactive:
        stmt = stmt.where(Queue.active.is_(True))
    return session.scalars(stmt).all()


def get_queue(session: Session, queue_id: int) -> Queue:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("No such queue.")
    return queue


def find_queue(session: Session, slug: str) -> Queue | None:
    return session.scalar(select(Queue).where(Queue.slug == slug))


def _queue_errors(session: Session, slug: str, name: str, *, existing: Queue | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not SLUG_RE.match(slug):
        errors["slug"] = ["Use 2 to 63 lower-case letters, digits, '-' or '_', starting with a letter."]
    else:
        other = find_queue(session, slug)
        if other is not None and other is not existing:
            errors["slug"] = ["Another queue already uses this short name."]
    if not name or len(name) > 200:
        errors["name"] = ["Enter a name of at most 200 characters."]
    return errors


def create_queue(session: Session, *, slug: str, name: str, description: str = "") -> Queue:
    slug, name = (slug or "").strip().lower(), (name or "").strip()
    if errors := _queue_errors(session, slug, name, existing=None):
        raise ValidationFailed("The queue could not be created.", errors)
    with transaction(session):
        queue = Queue(slug=slug, name=name, description=(description or "").strip())
        session.add(queue)
    return queue


def update_queue(session: Session, queue: Queue, *, name: str, description: str, active: bool) -> None:
    name = (name or "").strip()
    if errors := _queue_errors(session, queue.slug, name, existing=queue):
        raise ValidationFailed("The queue could not be saved.", errors)
    with transaction(session):
        queue.name, queue.description, queue.active = name, (description or "").strip(), active


def add_queue_member(session: Session, queue: Queue, user: User) -> None:
    """Add an agent to a queue; only agents work queues, and adding twice is harmless."""
    if not user.has_role(Role.AGENT):
        raise ValidationFailed("Only agents can join a queue.", {"user": ["This user is not an agent."]})
    if any(m.user_id == user.id for m in queue.memberships):
        return
    with transaction(session):
        queue.memberships.append(QueueMember(user_id=user.id))


def remove_queue_member(session: Session, queue: Queue, user: User) -> None:
    with transaction(session):
        queue.memberships = [m for m in queue.memberships if m.user_id != user.id]


def queues_of(session: Session, user: User) -> Sequence[Queue]:
    stmt = (
        select(Queue).join(QueueMember).where(QueueMember.user_id == user.id)
        .order_by(func.lower(Queue.name))
    )
    return session.scalars(stmt).all()


# ---------------------------------------------------------------- settings

# sso_group_mapping: see cases/sso.py; definition_review_required: see cases/change_requests.py.
SETTING_DEFAULTS = {"registration_open": "false", "webhook_allow_list": "", "sso_group_mapping": "{}",
                    "definition_review_required": "false"}


def get_setting(session: Session, key: str) -> str:
    row = session.get(Setting, key)
    return row.value if row is not None else SETTING_DEFAULTS[key]


def registration_open(session: Session) -> bool:
    return get_setting(session, "registration_open") == "true"


def set_setting(session: Session, key: str, value: str) -> None:
    if key not in SETTING_DEFAULTS:
        raise ValidationFailed(f"Unknown setting '{key}'.")
    with transaction(session):
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        else:
            row.value = value


def users_with_role(session: Session, role: Role) -> Sequence[User]:
    stmt = select(User).join(UserRole).where(UserRole.role == role.value).order_by(func.lower(User.name))
    return session.scalars(stmt).all()


