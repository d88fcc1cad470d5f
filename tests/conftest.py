"""Fixtures shared by the whole suite: databases (real SQLite and PostgreSQL), the app, clients.

Every database test runs on both backends. PostgreSQL comes from TEST_DATABASE_URL (default: the
local server's `test` database); each run gets a fresh schema that is dropped at the end. With
CI=true nothing may be skipped: a missing PostgreSQL, Redis or Chromium fails the run instead.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def need(condition: bool, reason: str) -> None:
    """Skip when something optional is missing on a developer machine; fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required, not skipped)")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    from cases.passwords import set_work_factor

    # Cheap hashes keep the suite fast; production keeps the default cost (tests/cases checks it).
    set_work_factor(2**10)
    # Tests never write into the repository's instance/ folder.
    if "CASEWORK_INSTANCE" not in os.environ:
        instance = Path(config.rootpath) / ".pytest_cache" / "instance"
        instance.mkdir(parents=True, exist_ok=True)
        os.environ["CASEWORK_INSTANCE"] = str(instance)


def redis_database(database_url: str, first: int) -> str:
    """A Redis database of its own for each backend's run of a test (`first` for SQLite, `first + 1` for
    PostgreSQL): `make test` runs tests on two workers at once, and the two runs of one test use the same
    job ids, so sharing a database would let one empty or take the other's queue."""
    number = first if database_url.startswith("sqlite") else first + 1
    return f"redis://127.0.0.1:6379/{number}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: every part (PostgreSQL, Redis, Chromium) must really run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped"):
        reporter.write_line(f"CI=true: {len(reporter.stats['skipped'])} test(s) skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def make_config(database_url: str, **extra: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-of-sufficient-length",
        "RATELIMIT_STORAGE_URI": "memory://",
        # Closing a case queues its PDFs; tests that want them rendered say so (or render them directly).
        "DOCUMENTS_AUTO_RENDER": False,
        # `casework demo` makes the demo users and queue only; tests of the starter library ask for the rest.
        "DEMO_SCOPE": "users",
    }
    config.update(extra)
    return config


def migrate(database_url: str) -> None:
    """Apply the real Alembic migrations, exactly as `casework init` does."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app(make_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "casework.db"
    migrate(f"sqlite:///{path}")
    return path


def _pg_url_with_schema(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL schema for this run, migrated once; dropped at the end."""
    from sqlalchemy import create_engine

    from app.config import database_url

    base = database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        need(False, f"PostgreSQL is not reachable at {base}: {exc.__class__.__name__}")
    schema = f"cw_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _pg_url_with_schema(base, schema)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _truncate_pg(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
        )).scalars().all()
        if tables:
            # Tests start empty; the append-only triggers would refuse this, as they should in production.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each backend in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "casework.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A plain SQLAlchemy session (no Flask) for the domain packages' tests."""
    from cases.database import make_engine

    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:
    from app import create_app
    from app.extensions import db

    application = create_app(make_config(database_url))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class Web:
    """A test client that behaves like a browser: it keeps cookies and sends the CSRF token."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._token: str | None = None

    def csrf(self) -> str:
        if self._token is None:
            page = self.client.get("/login")
            match = CSRF_RE.search(page.get_data(as_text=True))
            assert match, "no CSRF token on the login page"
            self._token = match.group(1) or match.group(2)
        return self._token

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, htmx: bool = False, **kw: Any) -> Any:
        data = dict(data or {})
        headers = dict(kw.pop("headers", {}) or {})
        if htmx:
            headers["HX-Request"] = "true"
            headers["X-CSRFToken"] = self.csrf()
        else:
            data.setdefault("csrf_token", self.csrf())
        return self.client.post(url, data=data, headers=headers, **kw)

    def login(self, email: str, password: str = "casework-demo") -> Any:
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self._token = None  # the session was rotated; so was the CSRF secret
        return response

    def logout(self) -> Any:
        response = self.post("/logout")
        self._token = None
        return response


@pytest.fixture
def web(client: Any) -> Web:
    return Web(client)


DEMO_PASSWORD = "casework-demo"


@pytest.fixture
def demo_users(app: Any) -> dict[str, Any]:
    """The four demo users and the demo queue, created by the real `casework demo` command."""
    from app.extensions import db
    from cases import accounts

    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        users = {u.email.split("@")[0]: u for u in accounts.list_users(db.session)}
        db.session.expunge_all()
    return users
