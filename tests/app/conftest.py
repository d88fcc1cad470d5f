"""Web-layer fixtures: the complaint form and case type published by the real services, and an empty
database to restore a backup into."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.support.complaint import publish_complaint


@pytest.fixture
def complaint_app(app: Any, demo_users: Any) -> Any:
    publish_complaint(app)
    return app


@pytest.fixture
def empty_target(backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the same backend (PostgreSQL: a new database with the same schema name)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    parts = urlsplit(database_url)
    schema = unquote(parse_qs(parts.query)["options"][0]).split("=", 1)[1]
    name = f"cw_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(parts._replace(query="").geturl(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = parts._replace(path=f"/{name}").geturl()
    schema_engine = create_engine(parts._replace(path=f"/{name}", query="").geturl(), isolation_level="AUTOCOMMIT")
    with schema_engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    schema_engine.dispose()
    try:
        yield target
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
