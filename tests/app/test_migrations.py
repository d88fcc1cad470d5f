"""The Alembic migrations create exactly what the models describe, on both backends."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from cases.models import Base


def test_migrations_match_the_models(app: Any) -> None:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff


@pytest.mark.parametrize(
    ("dialect", "digest"),
    [
        ("postgresql", "dfe6ed6d081620700d9b036b6fe9b06660f5e15e17075c8dd25063f0d94e54d4"),
        ("sqlite", "9f16fb4712db7f3616e099fb9b155b39dd420c439c4c3576728e8d4424e32a66"),
    ],
)
def test_the_append_only_helper_emits_what_the_applied_migrations_ran(
    monkeypatch: pytest.MonkeyPatch, dialect: str, digest: str
) -> None:
    """0002, 0003 and 0012_checkpoints call it: its statements must stay byte for byte what they ran."""
    from app.migrations import ddl

    statements: list[str] = []
    bind = SimpleNamespace(dialect=SimpleNamespace(name=dialect))
    monkeypatch.setattr(ddl, "op", SimpleNamespace(get_bind=lambda: bind, execute=statements.append))
    ddl.append_only("audit_events")
    assert hashlib.sha256("\n".join(statements).encode()).hexdigest() == digest
