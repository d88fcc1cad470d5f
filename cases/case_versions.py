"""What a case is filed under: its case-type version (cached, versions never change), the pinned form
version, and its data typed by that form. Shared by the lifecycle, the rules and the read side."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, object_session

from case_types import adaptive, loading, workflow
from case_types.errors import NotFound
from cases.models import Case, Definition, DefinitionVersion, Role, User
from cases.submissions import form_schema
from forms.schema import FormSchema
from forms.validation import from_json_values


@lru_cache(maxsize=256)
def _spec_from(document_text: str, form_families: str) -> workflow.CaseTypeSpec:
    document = json.loads(document_text)
    families, labels, slug, number = json.loads(form_families)
    info = workflow.FormInfo(slug=slug, version=number, families=families, labels=labels)
    # A published version was checked against the queues of its day; it stays loadable whatever became of them.
    queues = {document["default_queue"], document["fallback_queue"]}
    queues.update(str(task.get("queue")) for transition in document.get("transitions", [])
                  for task in transition.get("tasks", []))
    queues.update(adaptive.queues_of(document))
    context = workflow.Context(queues=frozenset(queues), forms={(slug, number): info})
    return loading.load_case_type(document, context)


@dataclass(frozen=True)
class Published:
    """A published case-type version with what filing under it needs: its spec and its pinned form."""

    version_id: int
    number: int
    sha256: str
    spec: workflow.CaseTypeSpec
    form_version_id: int
    schema: FormSchema


# Per engine (one database), keyed by version id and checked against the version's SHA-256: published
# versions never change, so nothing is ever invalidated; a new engine (another database) starts empty.
_published: WeakKeyDictionary[Engine, dict[tuple[int, str], Published]] = WeakKeyDictionary()
_published_lock = threading.Lock()
MAX_PUBLISHED = 1024


def published(session: Session, version: DefinitionVersion) -> Published:
    """The spec and pinned form of a published case-type version, from a per-process cache (one query for
    the pinned form on the first use of a version in this process, none after)."""
    engine = cast(Engine, session.get_bind())
    key = (version.id, version.sha256)
    with _published_lock:
        cache = _published.get(engine)
        hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit
    document = json.loads(version.document)
    form_version = pinned_form_version(session, document["form"], document["form_version"])
    schema = form_schema(form_version)
    families = json.dumps([dict(schema.families), schema.labels(), document["form"], document["form_version"]])
    entry = Published(version_id=version.id, number=version.number, sha256=version.sha256,
                      spec=_spec_from(version.document, families), form_version_id=form_version.id, schema=schema)
    if version.id is None:
        return entry  # not flushed yet: nothing to key it by
    with _published_lock:
        cache = _published.setdefault(engine, {})
        if len(cache) >= MAX_PUBLISHED:
            cache.clear()
        cache[key] = entry
    return entry


def spec_of(session: Session, version: DefinitionVersion) -> workflow.CaseTypeSpec:
    """The case type of a published version. Versions never change, so the result is cached."""
    return published(session, version).spec


def pinned_form_version(session: Session, slug: str, number: int) -> DefinitionVersion:
    version = session.scalar(select(DefinitionVersion).join(Definition).where(
        Definition.kind == "form", Definition.slug == slug, DefinitionVersion.number == number))
    if version is None:
        raise NotFound(f"Form '{slug}' version {number} is missing.")
    return version


def version_of_case_type(session: Session, case: Case, number: int) -> DefinitionVersion:
    """Version `number` of the case's case type (the one a document was rendered under, say)."""
    if case.case_type_version.number == number:
        return case.case_type_version
    version = session.scalar(select(DefinitionVersion).where(DefinitionVersion.definition_id == case.case_type_id,
                                                             DefinitionVersion.number == number))
    if version is None:
        raise NotFound(f"Version {number} of the case type is missing.")
    return version


def case_spec(session: Session, case: Case) -> workflow.CaseTypeSpec:
    return spec_of(session, case.case_type_version)


def case_schema(case: Case) -> FormSchema:
    session = object_session(case)
    version = case.case_type_version
    if session is not None and version is not None:
        pinned = published(session, version)
        if pinned.form_version_id == case.form_version_id:
            return pinned.schema  # no need to load the form version's row
    return form_schema(case.form_version)


def case_data(case: Case) -> dict[str, Any]:
    """The case's data, typed by the form version it was filed with."""
    return from_json_values(case_schema(case), json.loads(case.data))


def case_tags(case: Case) -> list[str]:
    tags: list[str] = json.loads(case.tags or "[]")
    return tags


def fileable_case_types(session: Session, user: User | None) -> list[tuple[Definition, DefinitionVersion]]:
    """Case types this person may file now, with the version a new case would pin."""
    stmt = select(Definition).where(Definition.kind == "case_type", Definition.archived.is_(False),
                                    Definition.open_for_requests.is_(True)).order_by(Definition.title)
    if user is None:
        stmt = stmt.where(Definition.public.is_(True))
    elif not user.has_role(Role.REQUESTER):
        return []
    return [(d, d.latest_version) for d in session.scalars(stmt) if d.latest_version is not None]


def forms_used_by_case_types(session: Session) -> set[str]:
    """Slugs of forms that published case types file with (requesters file those through the case type)."""
    used = set()
    for definition in session.scalars(select(Definition).where(Definition.kind == "case_type")):
        if definition.latest_version is not None:
            used.add(str(json.loads(definition.latest_version.document).get("form")))
    return used
