"""The `casework` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.extensions import db
from cases.models import User


def test_user_create_with_several_roles(app: Any, runner: Any) -> None:
    result = runner.invoke(args=["user", "create", "boss@example.com", "--role", "admin", "--role", "auditor",
                                 "--password", "a long password"])
    assert result.exit_code == 0, result.output
    assert "Created boss@example.com (admin, auditor)" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "boss@example.com"))
        assert user is not None and sorted(user.roles) == ["admin", "auditor"]


def test_user_create_reports_problems_clearly(runner: Any, demo_users: Any) -> None:
    result = runner.invoke(args=["user", "create", "admin@example.com", "--role", "agent", "--password", "short"])
    assert result.exit_code == 1
    assert "email: A user with this e-mail address already exists." in result.output
    assert "password: Use at least 10 characters." in result.output
    result = runner.invoke(args=["user", "create", "x@example.com", "--role", "wizard", "--password", "x" * 12])
    assert result.exit_code == 2
    assert "'wizard' is not one of" in result.output


def test_user_create_without_password_generates_one(runner: Any) -> None:
    result = runner.invoke(args=["user", "create", "gen@example.com", "--role", "requester"], input="")
    assert result.exit_code == 0, result.output
    assert "Generated password: " in result.output


def test_token_create_prints_the_token_last(client: Any, runner: Any, demo_users: Any) -> None:
    result = runner.invoke(args=["token", "create", "auditor@example.com", "--name", "exports"])
    token = result.output.split()[-1]
    assert token.startswith("cw_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["roles"] == ["auditor"]


def test_demo_is_idempotent(app: Any, runner: Any) -> None:
    assert runner.invoke(args=["demo"]).exit_code == 0
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert "Demo user" not in second.output
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 4


def test_console_script_init_on_a_fresh_instance(tmp_path: Path) -> None:
    """`casework init` on an empty instance folder: creates the database, the secret key, and is repeatable."""
    env = {**os.environ, "CASEWORK_INSTANCE": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    casework = Path(sys.executable).parent / "casework"
    for _ in range(2):
        done = subprocess.run([str(casework), "init"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Database is up to date." in done.stdout
    assert (tmp_path / "casework.db").exists()
    key = tmp_path / "secret_key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"


def test_audit_verify_reports_ok_and_names_a_broken_event(app: Any, runner: Any) -> None:
    from sqlalchemy import text

    from cases import audit
    from cases.uow import transaction

    with app.app_context():
        with transaction(db.session):
            for i in range(3):
                audit.append(db.session, "case:42", "case.commented", {"n": i}, actor=None)
        ok = runner.invoke(args=["audit", "verify"])
        assert ok.exit_code == 0 and "OK: 3 events in 1 chains verified." in ok.output
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
            db.session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
            db.session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
        else:
            db.session.execute(text("DROP TRIGGER audit_events_no_update"))
            db.session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
        db.session.commit()
    broken = runner.invoke(args=["audit", "verify", "--stream", "case:42"])
    assert broken.exit_code == 1
    assert "BROKEN: case:42 at event 2" in broken.output


def test_audit_verify_by_case_reference(complaint_app: Any) -> None:
    from tests.support.complaint import GOOD
    from tests.support.web import token_for

    runner = complaint_app.test_cli_runner()
    complaint_app.test_client().post("/api/v1/case-types/complaint/cases", json={"data": GOOD},
                                     headers=token_for(complaint_app, "requester@example.com"))
    ok = runner.invoke(args=["audit", "verify", "--case", "cmp-000001"])
    assert ok.exit_code == 0 and "OK: 1 events in 1 chains verified." in ok.output
    missing = runner.invoke(args=["audit", "verify", "--case", "CMP-999999"])
    assert missing.exit_code != 0 and "No case has the reference CMP-999999" in missing.output
