"""A live Casework server on a free local port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_config, migrate, need
from tests.support.complaint import FIXTURES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from app import create_app
    from app.extensions import db

    path = tmp_path_factory.mktemp("e2e") / "casework.db"
    url = f"sqlite:///{path}"
    migrate(url)
    app = create_app(make_config(url))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def complaint_form(live_app: Any) -> str:
    """The complaint form, published (imported from its file unless an earlier test did); its option value."""
    from app.extensions import db
    from cases import accounts, definitions

    with live_app.app_context():
        form = definitions.find_definition(db.session, "form", "complaint")
        if form is None or form.latest_version is None:
            admin = accounts.find_user(db.session, "admin@example.com")
            assert admin is not None
            form = definitions.import_document(db.session, "form", (FIXTURES / "complaint.form.json").read_bytes(),
                                               slug="complaint", actor=admin, publish_now=True)
        assert form.latest_version is not None
        return f"complaint@{form.latest_version.number}"
