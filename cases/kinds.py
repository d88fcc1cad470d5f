"""The kinds of definition admins design, keyed by name: how each is validated, dumped, compared, started.

Every kind is versioned the same way (cases.definitions); only these few operations differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types import adaptive, loading, workflow
from cases import automation
from cases.models import Definition, DefinitionVersion, Queue
from forms.definitions import dump_definition, load_definition, parse_definition_file
from forms.diff import diff_definitions
from forms.errors import DefinitionError
from forms.schema import FormSchema


class Kind(Protocol):
    name: str
    label: str

    def load(self, session: Session, document: Mapping[str, Any]) -> Any:
        """The validated object; raises forms.errors.DefinitionError listing every problem."""
        ...

    def dump(self, loaded: Any) -> dict[str, Any]:
        """The canonical JSON document of a loaded object."""
        ...

    def diff(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
        """Readable changes; raises DefinitionError when either side cannot be read."""
        ...

    def starter(self, title: str) -> dict[str, Any]:
        """The draft a new definition starts as (publishable as it is)."""
        ...

    def parse_file(self, session: Session, raw: bytes) -> Any:
        """An imported file, refused with DefinitionError when broken or hostile."""
        ...


class FormKind:
    name = "form"
    label = "form"

    def load(self, session: Session, document: Mapping[str, Any]) -> FormSchema:
        return load_definition(document)

    def dump(self, loaded: FormSchema) -> dict[str, Any]:
        return dump_definition(loaded)

    def diff(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
        return [str(change) for change in diff_definitions(before, after)]

    def starter(self, title: str) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "title": title,
            "description": "",
            "pages": [{"key": "details", "title": "Details", "fields": [
                {"type": "short_text", "key": "subject", "label": "Subject", "required": True},
            ]}],
        }

    def parse_file(self, session: Session, raw: bytes) -> FormSchema:
        return parse_definition_file(raw)


class CaseTypeKind:
    name = "case_type"
    label = "case type"

    def load(self, session: Session, document: Mapping[str, Any]) -> workflow.CaseTypeSpec:
        spec = loading.load_case_type(document, case_type_context(session, document))
        automation.check_rules(session, spec)  # the rules are part of the case type and publish with it
        return spec

    def dump(self, loaded: workflow.CaseTypeSpec) -> dict[str, Any]:
        return workflow.dump_case_type(loaded)

    def diff(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
        return workflow.diff_case_types(before, after)

    def starter(self, title: str) -> dict[str, Any]:
        return workflow.starter_case_type(title)

    def parse_file(self, session: Session, raw: bytes) -> workflow.CaseTypeSpec:
        try:
            document = json.loads(bytes(raw).decode("utf-8-sig")) if len(raw) <= 1024 * 1024 else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise DefinitionError([("", None, "The file is not a Casework case type (a JSON object, at most 1 MiB).")])
        return self.load(session, document)


def form_info(session: Session, slug: str, number: int) -> workflow.FormInfo | None:
    """Fields and labels of a published form version, as the case-type language sees them."""
    version = session.scalar(
        select(DefinitionVersion).join(Definition)
        .where(Definition.kind == "form", Definition.slug == slug, DefinitionVersion.number == number))
    if version is None:
        return None
    schema = load_definition(json.loads(version.document))
    return workflow.FormInfo(slug=slug, version=number, families=dict(schema.families), labels=schema.labels())


def case_type_context(session: Session, document: Mapping[str, Any]) -> workflow.Context:
    """The queues and the referenced form version that a case-type document may point at."""
    queues = frozenset(session.scalars(select(Queue.slug).where(Queue.active.is_(True))))
    forms: dict[tuple[str, int], workflow.FormInfo] = {}
    latest: dict[str, int] = {}
    slug, number = document.get("form"), document.get("form_version")
    if isinstance(slug, str):
        top = session.scalar(select(func.max(DefinitionVersion.number)).join(Definition)
                             .where(Definition.kind == "form", Definition.slug == slug))
        if top is not None:
            latest[slug] = top
        if isinstance(number, int) and not isinstance(number, bool):
            info = form_info(session, slug, number)
            if info is not None:
                forms[(slug, number)] = info
    return workflow.Context(queues=queues, forms=forms, latest_form_versions=latest,
                            case_types=_child_case_types(session, document))


def _child_case_types(session: Session, document: Mapping[str, Any]) -> dict[str, adaptive.ChildCaseType]:
    """The published case types the document's catalogue starts child cases of, with their forms' fields."""
    items = document.get("discretionary")
    slugs = {i.get("case_type") for i in items if isinstance(i, Mapping)} if isinstance(items, list) else set()
    found: dict[str, adaptive.ChildCaseType] = {}
    for definition in session.scalars(select(Definition).where(
            Definition.kind == "case_type", Definition.slug.in_(sorted(s for s in slugs if isinstance(s, str))))):
        if definition.latest_version is None:
            continue
        child = json.loads(definition.latest_version.document)
        info = form_info(session, str(child.get("form")), int(child.get("form_version") or 0))
        if info is not None:
            found[definition.slug] = adaptive.ChildCaseType(slug=definition.slug, families=dict(info.families))
    return found


KINDS: dict[str, Kind] = {"form": FormKind(), "case_type": CaseTypeKind()}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown definition kind {name!r}") from None

