"""Designed definitions (forms, case types, templates): drafts, immutable versions, import and export.

Each kind's own language validates it (see cases.kinds): the designer, the import and the API go
through the same `load`, so they accept and refuse exactly the same documents. Every change is an
event in the definition's audit stream (`<kind>:<slug>`) with a readable diff.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from case_types.errors import Conflict, NotFound, ValidationFailed
from cases import accounts, audit
from cases.clock import Clock, utcnow
from cases.errors import PermissionDenied
from cases.kinds import kind_of
from cases.models import ChangeRequest, Definition, DefinitionVersion, User
from cases.uow import transaction
from forms.errors import DefinitionError, DefinitionProblem
from forms.text import find_bad_text, text_problem

SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")
MAX_DRAFT_BYTES = 1024 * 1024


def canonical_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# ---------------------------------------------------------------- reading


def list_definitions(session: Session, kind: str, *, include_archived: bool = False) -> Sequence[Definition]:
    stmt = select(Definition).where(Definition.kind == kind).order_by(func.lower(Definition.title))
    if not include_archived:
        stmt = stmt.where(Definition.archived.is_(False))
    return session.scalars(stmt).all()


def get_definition(session: Session, kind: str, definition_id: int) -> Definition:
    definition = session.get(Definition, definition_id)
    if definition is None or definition.kind != kind:
        raise NotFound(f"No such {kind_of(kind).label}.")
    return definition


def find_definition(session: Session, kind: str, slug: str, *, with_versions: bool = False) -> Definition | None:
    """The definition of `kind` named `slug`; `with_versions` loads its versions in the same query."""
    if with_versions:
        return session.scalars(_with_versions_stmt(), {"kind": kind, "slug": slug}).unique().first()
    return session.scalar(select(Definition).where(Definition.kind == kind, Definition.slug == slug))


@functools.cache
def _with_versions_stmt() -> Any:
    # Built once: a filing starts with it, and building the statement costs as much as running it.
    return (select(Definition).where(Definition.kind == bindparam("kind"), Definition.slug == bindparam("slug"))
            .options(joinedload(Definition.versions)))


def get_version(definition: Definition, number: int) -> DefinitionVersion:
    for version in definition.versions:
        if version.number == number:
            return version
    raise NotFound(f"'{definition.title}' has no version {number}.")


def draft_document(definition: Definition) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(definition.draft)
    return document


def version_document(version: DefinitionVersion) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(version.document)
    return document


def draft_problems(session: Session, definition: Definition) -> list[DefinitionProblem]:
    """Everything that keeps the draft from being published (empty when it is publishable)."""
    try:
        kind_of(definition.kind).load(session, draft_document(definition))
    except DefinitionError as exc:
        return list(exc.errors)
    return []


def load_version(session: Session, version: DefinitionVersion) -> Any:
    """The loaded object of a published version (valid by construction)."""
    return kind_of(version.definition.kind).load(session, version_document(version))


def diff_versions(definition: Definition, old: int, new: int) -> list[str]:
    return kind_of(definition.kind).diff(version_document(get_version(definition, old)),
                                         version_document(get_version(definition, new)))


def draft_changes(definition: Definition) -> list[str] | None:
    """What the draft changes against the latest version (None when either cannot be read)."""
    latest = definition.latest_version
    if latest is None:
        return None
    try:
        return kind_of(definition.kind).diff(version_document(latest), draft_document(definition))
    except DefinitionError:
        return None


def history(session: Session, definition: Definition) -> list[dict[str, Any]]:
    """The definition's audit events, newest first, for the history panel and the auditors."""
    return [audit.event_json(e) for e in reversed(audit.events(session, definition.stream))]


# ---------------------------------------------------------------- writing


def refuse_bad_text(document: Any, what: str = "definition") -> None:
    """Every text of a definition (labels, options, titles, imported files) follows the one text rule."""
    bad = find_bad_text(document)
    if bad:
        where, problem = bad
        raise ValidationFailed(f"The {what} has text that cannot be stored at {where}: {problem}",
                               {where or what: [problem]})


def problems_as_fields(problems: Sequence[DefinitionProblem]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.path or "definition", []).append(problem.message)
    return fields


def create(
    session: Session, kind: str, *, slug: str, title: str, actor: User, clock: Clock = utcnow,
    document: Mapping[str, Any] | None = None,
) -> Definition:
    """A new definition with the kind's starter draft (or `document`)."""
    spec = kind_of(kind)
    slug, title = (slug or "").strip().lower(), (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not SLUG_RE.match(slug):
        errors["slug"] = ["Use 2 to 63 lower-case letters, digits, '-' or '_', starting with a letter."]
    elif find_definition(session, kind, slug) is not None:
        errors["slug"] = [f"Another {spec.label} already uses this short name."]
    if not title or len(title) > 200:
        errors["title"] = ["Enter a title of at most 200 characters."]
    if not errors and text_problem(title):
        errors["title"] = [str(text_problem(title))]
    if errors:
        raise ValidationFailed(f"The {spec.label} could not be created.", errors)
    draft = dict(document) if document is not None else spec.starter(title)
    refuse_bad_text(draft, spec.label)
    now = clock()
    with transaction(session):
        definition = Definition(kind=kind, slug=slug, title=title, draft=canonical_json(draft), draft_revision=1,
                                draft_updated_at=now, draft_updated_by_id=actor.id, created_at=now,
                                created_by_id=actor.id)
        session.add(definition)
        session.flush()
        audit.append(session, definition.stream, f"{kind}.created", {"slug": slug, "title": title},
                     actor=actor, clock=clock)
    return definition


def _change_lines(definition: Definition, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    try:
        return kind_of(definition.kind).diff(before, after)
    except DefinitionError:
        return ["Draft edited (it has problems to fix before publishing)."]


def check_revision(definition: Definition, expected_revision: int | None) -> None:
    """Refuse work done on a page that showed another draft revision than the stored one (or named none),
    before anything is changed; the conflict says who changed the draft and when."""
    if expected_revision is None:
        raise Conflict("This page is out of date. Reload it to see the current draft.")
    if expected_revision != definition.draft_revision:
        who = definition.draft_updated_by.name if definition.draft_updated_by else "someone"
        raise Conflict(f"This draft was changed by {who} at {definition.draft_updated_at:%Y-%m-%d %H:%M} UTC "
                       "after you opened it. Reload to see their changes.")


def save_draft(
    session: Session, definition: Definition, document: Mapping[str, Any], *, actor: User,
    expected_revision: int | None = None, clock: Clock = utcnow,
) -> list[DefinitionProblem]:
    """Store the draft even with problems (they are returned, to show in place); refuse a stale save."""
    if not isinstance(document, Mapping):
        raise ValidationFailed("A definition is a JSON object.")
    refuse_bad_text(document, definition.kind.replace("_", " "))
    text = canonical_json(document)
    if len(text.encode()) > MAX_DRAFT_BYTES:
        raise ValidationFailed("The definition is too large (more than 1 MiB).")
    if expected_revision is not None:
        check_revision(definition, expected_revision)
    if text != definition.draft:
        before = draft_document(definition)
        with transaction(session):
            definition.draft = text
            definition.draft_revision += 1
            definition.draft_updated_at = clock()
            definition.draft_updated_by_id = actor.id
            title = document.get("title") or document.get("name")
            if isinstance(title, str) and title.strip():
                definition.title = title.strip()[:200]
            audit.append(session, definition.stream, f"{definition.kind}.draft_saved",
                         {"revision": definition.draft_revision,
                          "changes": _change_lines(definition, before, document)},
                         actor=actor, clock=clock)
    return draft_problems(session, definition)


def review_required(session: Session, definition: Definition) -> bool:
    """Four-eyes review: on for this definition, or instance-wide (off for a new instance)."""
    return definition.review_required or accounts.get_setting(session, "definition_review_required") == "true"


def publish(
    session: Session, definition: Definition, *, actor: User, change_note: str = "", clock: Clock = utcnow,
    change: ChangeRequest | None = None,
) -> DefinitionVersion:
    """Freeze the draft as version N+1; refuses a draft with problems, or one identical to version N.

    While review is required only an approved change request publishes (`change`, see
    cases.change_requests), and only while the draft is still exactly the snapshot that was approved.
    """
    spec = kind_of(definition.kind)
    if change is None and review_required(session, definition):
        raise PermissionDenied(f"Review is required before this {spec.label} is published: submit the draft for "
                               "review, and publish it once another admin has approved it.")
    try:
        loaded = spec.load(session, draft_document(definition))
    except DefinitionError as exc:
        raise ValidationFailed(f"Fix the problems in the {spec.label} before publishing.",
                               problems_as_fields(exc.errors)) from None
    document = spec.dump(loaded)
    text = canonical_json(document)
    latest = definition.latest_version
    if latest is not None and latest.document == text:
        raise Conflict(f"Nothing changed since version {latest.number}; there is nothing to publish.")
    note = (change_note or "").strip()[:2000]
    if text_problem(note):
        raise ValidationFailed(str(text_problem(note)), {"change_note": [str(text_problem(note))]})
    changes = _change_lines(definition, version_document(latest), document) if latest else []
    with transaction(session):
        if change is not None:
            _claim_approved(session, definition, change, text)
        # Through the relationship, so the definition's versions include it whether or not they were loaded.
        version = DefinitionVersion(
            definition=definition, number=(latest.number + 1) if latest else 1, document=text,
            sha256=hashlib.sha256(text.encode()).hexdigest(), change_note=note, published_at=clock(),
            published_by_id=actor.id)
        session.add(version)
        payload: dict[str, Any] = {"version": version.number, "sha256": version.sha256, "note": note,
                                   "changes": changes}
        if change is not None:
            payload["change_request"] = change.id
            change.status, change.version_number, change.publish_at = "published", version.number, None
        audit.append(session, definition.stream, f"{definition.kind}.published", payload, actor=actor, clock=clock)
    return version


def _claim_approved(session: Session, definition: Definition, change: ChangeRequest, text: str) -> None:
    """Under the row lock: the change is still approved (nobody published or withdrew it meanwhile) and the
    draft is still exactly its snapshot (nobody edited it since the review)."""
    locked = session.scalar(select(ChangeRequest).where(ChangeRequest.id == change.id)
                            .with_for_update().execution_options(populate_existing=True))
    if locked is None or locked.definition_id != definition.id or locked.status != "approved":
        raise Conflict("Only an approved change can be published, and this one is not (or no longer) approved.")
    if locked.draft_revision != definition.draft_revision or locked.document != text:
        raise Conflict("The draft was changed after this change was submitted for review; submit the draft "
                       "for review again.")


def set_availability(
    session: Session, definition: Definition, *, open_for_requests: bool, public: bool, archived: bool,
    actor: User, clock: Clock = utcnow,
) -> None:
    """Who may file it: requesters, anonymous visitors too (public), or nobody (closed or archived)."""
    before = {"open_for_requests": definition.open_for_requests, "public": definition.public,
              "archived": definition.archived}
    after = {"open_for_requests": open_for_requests, "public": public and open_for_requests, "archived": archived}
    if before == after:
        return
    with transaction(session):
        definition.open_for_requests = after["open_for_requests"]
        definition.public = after["public"]
        definition.archived = after["archived"]
        audit.append(session, definition.stream, f"{definition.kind}.availability_changed",
                     {"before": before, "after": after}, actor=actor, clock=clock)


# ---------------------------------------------------------------- import and export


def export_document(definition: Definition, version: int | None = None) -> bytes:
    """A definition file: the published version asked for, else the latest one, else the draft."""
    if version is not None:
        document = version_document(get_version(definition, version))
    elif definition.latest_version is not None:
        document = version_document(definition.latest_version)
    else:
        document = draft_document(definition)
    return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def slug_from_filename(filename: str) -> str:
    """`complaint.form.json` -> `complaint` (the names export gives files)."""
    stem = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".json", ".form", ".case_type"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-")


def import_document(
    session: Session, kind: str, raw: bytes, *, slug: str, actor: User, publish_now: bool = False,
    change_note: str = "Imported", clock: Clock = utcnow,
) -> Definition:
    """Load a definition file into `slug` (created if new) as its draft, optionally publishing it.

    The whole file is validated first; a bad file changes nothing, and neither does publishing a
    definition whose review is required (it goes through a change request instead).
    """
    spec = kind_of(kind)
    existing = find_definition(session, kind, slug)
    if publish_now and (review_required(session, existing) if existing is not None
                        else accounts.get_setting(session, "definition_review_required") == "true"):
        raise PermissionDenied(f"Review is required before a {spec.label} is published: import it without "
                               "publishing, then submit the draft for review in the designer.")
    try:
        loaded = spec.parse_file(session, raw)
    except DefinitionError as exc:
        raise ValidationFailed(f"The file is not a valid Casework {spec.label}.",
                               problems_as_fields(exc.errors)) from None
    document = spec.dump(loaded)
    title = str(document.get("title") or document.get("name") or slug)
    definition = existing
    if definition is None:
        definition = create(session, kind, slug=slug, title=title, actor=actor, clock=clock, document=document)
    else:
        save_draft(session, definition, document, actor=actor, clock=clock)
    latest = definition.latest_version
    if publish_now and (latest is None or latest.document != canonical_json(document)):
        publish(session, definition, actor=actor, change_note=change_note, clock=clock)
    return definition
