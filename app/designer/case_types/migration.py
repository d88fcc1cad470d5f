"""The case-type designer's migration page: pick the version to move open cases to, map the states it no
longer has (selects, never typed keys), see the dry run, migrate. The domain (cases.migration) decides
everything; this module reads the page's inputs and shows the outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import request
from flask.typing import ResponseReturnValue

from app.designer.case_types.routes import bp
from app.designer.drafts import actor
from app.extensions import db
from app.htmx import render
from case_types.errors import ValidationFailed
from cases import definitions, migration
from cases.case_versions import published
from cases.models import Definition


def mapping_from(values: Mapping[str, str], waiting: Sequence[migration.Waiting]) -> dict[str, str]:
    """The state mapping the page's selects chose (`map-<state>`); choosing the same key maps nothing."""
    chosen = {w.key: (values.get(f"map-{w.key}") or "").strip() for w in waiting}
    return {old: new for old, new in chosen.items() if new and new != old}


def _page(definition: Definition, *, status: int = 200, results: list[migration.Outcome] | None = None,
          ) -> ResponseReturnValue:
    versions = list(reversed(definition.versions))
    to = request.values.get("to", type=int) or (versions[0].number if versions else None)
    waiting: list[migration.Waiting] = []
    targets: list[tuple[str, str]] = []
    planned, problem = None, ""
    if to is not None and any(v.number == to for v in versions):
        waiting = migration.states_to_map(db.session, definition.slug, to)
        spec = published(db.session, definitions.get_version(definition, to)).spec
        targets = [(s.key, s.label) for s in spec.states if not s.is_final]
        mapping = mapping_from(request.values, waiting)
        if request.values.get("dry_run") and results is None:
            try:
                planned = migration.plan(db.session, definition.slug, to, state_mapping=mapping)
            except ValidationFailed as exc:
                problem = " ".join([exc.message, *(m for msgs in exc.fields.values() for m in msgs)])
                status = 422
    return render("designer/case_types/migrate.html", definition=definition, versions=versions, to=to,
                  waiting=waiting, targets=targets, chosen=request.values, planned=planned, results=results,
                  problem=problem, status=status)


@bp.get("/<int:definition_id>/migrate")
def migrate_page(definition_id: int) -> ResponseReturnValue:
    return _page(definitions.get_definition(db.session, "case_type", definition_id))


@bp.post("/<int:definition_id>/migrate")
def migrate(definition_id: int) -> ResponseReturnValue:
    definition = definitions.get_definition(db.session, "case_type", definition_id)
    to = request.form.get("to", type=int)
    if to is None:
        return _page(definition, status=422)
    waiting = migration.states_to_map(db.session, definition.slug, to)
    try:
        planned = migration.plan(db.session, definition.slug, to, state_mapping=mapping_from(request.form, waiting))
    except ValidationFailed:
        return _page(definition, status=422)
    results = migration.migrate(db.session, planned, actor())
    return _page(definition, results=results)
