"""API: moving the open cases of a case type to another version, as the designer page and the CLI do (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from app.api.base import api_user, bp
from app.api.openapi import operation
from app.api.schemas import Request, Response
from app.extensions import db
from cases import migration

StateKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Ref = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9-]+$")]


class MigrationBody(Request):
    to_version: int = Field(ge=1, le=2**31 - 1, description="The published version to move open cases to.")
    state_mapping: dict[StateKey, StateKey] = Field(
        default_factory=dict, max_length=200, examples=[{"escalated": "in_progress"}],
        description="Old state key -> state key of the new version, for states it no longer has (or to move).")
    cases: list[Ref] | None = Field(None, max_length=1000, description="Only these references (default: every "
                                                                         "open case).")
    dry_run: bool = Field(description="true: only say what would happen; false: migrate the migratable cases.")
    refire_rules: bool = Field(False, description="Run the new version's case.updated rules on each moved case.")


class FieldChangeOut(Response):
    field: str
    before: Any = None
    after: Any = None


class OutcomeOut(Response):
    ref: str
    status: Literal["kept", "mapped", "not_migratable", "current", "failed", "skipped"]
    from_version: int
    state: str
    target: str | None
    reasons: list[str]
    changes: list[FieldChangeOut]
    migrated: bool
    outcome: str = Field(description="The outcome in words, as the CLI prints it.")


class MigrationOut(Response):
    to_version: int
    dry_run: bool
    migratable: int = Field(ge=0)
    migrated: int = Field(ge=0)
    items: list[OutcomeOut]


def _outcome_json(outcome: migration.Outcome) -> dict[str, Any]:
    return {"ref": outcome.ref, "status": outcome.status, "from_version": outcome.from_version,
            "state": outcome.state, "target": outcome.target, "reasons": list(outcome.reasons),
            "changes": [dict(c) for c in outcome.changes], "migrated": outcome.done, "outcome": outcome.describe()}


@bp.post("/case-types/<slug>/migrations")
@operation("Move open cases to another case-type version", body=MigrationBody, response=MigrationOut,
           errors=(403, 404, 422), tags=["case-types"], only="admin")
def migrate_cases(slug: str, body: MigrationBody) -> Any:
    """Admins: the dry run (`dry_run: true`) lists every open case with its outcome; otherwise the migratable
    ones move, each in its own transaction with one audit event."""
    user = api_user()
    planned = migration.plan(db.session, slug, body.to_version, state_mapping=body.state_mapping, refs=body.cases)
    outcomes = list(planned.outcomes)
    if not body.dry_run:
        outcomes = migration.migrate(db.session, planned, user, refire_rules=body.refire_rules)
    return {"to_version": body.to_version, "dry_run": body.dry_run, "migratable": len(planned.migratable),
            "migrated": sum(o.done for o in outcomes), "items": [_outcome_json(o) for o in outcomes]}
