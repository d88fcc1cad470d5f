"""The starter library from the command line and the admin pages; `init` and `demo` load it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from cases import audit
from cases.models import Case, Definition, Queue
from cases.seed import packs

ROOT = Path(__file__).resolve().parents[2] / "packs"


def _count(app: Any, model: Any) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model)) or 0
        db.session.remove()
    return n


def test_packs_import_list_and_export(app: Any, demo_users: Any, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["packs", "list"]).output
    assert listing.count("not loaded") == 4 and "Customer complaint handling" in listing
    assert runner.invoke(args=["packs", "import"]).exit_code == 2  # a folder, or --all
    result = runner.invoke(args=["packs", "import", "--all"])
    assert result.exit_code == 0, result.output
    assert result.output.count("imported version 1") == 4
    assert "new queues: people, it, payroll" in result.output
    again = runner.invoke(args=["packs", "import", "--all"])
    assert again.output.count("already loaded, left alone") == 4
    assert "loaded (version 1)" in runner.invoke(args=["packs", "list"]).output

    assert runner.invoke(args=["packs", "export", "invoice", "-o", str(tmp_path)]).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "invoice").iterdir()) == sorted(packs.FILES)
    exported = json.loads((tmp_path / "invoice" / "case_type.json").read_text())
    assert exported["prefix"] == "INV" and exported["form"] == "invoice"
    assert runner.invoke(args=["packs", "export", "onboarding", "--zip", "-o", str(tmp_path)]).exit_code == 0
    assert packs.read_zip((tmp_path / "onboarding.zip").read_bytes()).slug == "onboarding"
    missing = runner.invoke(args=["packs", "export", "nothing", "-o", str(tmp_path)])
    assert missing.exit_code == 1 and "No published case type" in missing.output


def test_a_broken_pack_is_listed_and_changes_nothing(app: Any, demo_users: Any, tmp_path: Path) -> None:
    folder = tmp_path / "contract"
    shutil.copytree(ROOT / "contract", folder)
    document = json.loads((folder / "case_type.json").read_text())
    document["default_queue"] = "nowhere"
    (folder / "case_type.json").write_text(json.dumps(document))
    before = (_count(app, Queue), _count(app, Definition))
    result = app.test_cli_runner().invoke(args=["packs", "import", str(folder)])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output and "case_type.json: default_queue" in result.output
    assert (_count(app, Queue), _count(app, Definition)) == before


def test_init_loads_the_library_once_an_admin_exists(app: Any) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0 and "wait for an admin" in first.output
    assert _count(app, Definition) == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    second = runner.invoke(args=["init"])
    assert "Starter library: 4 packs loaded (4 new)." in second.output
    assert "Starter library: 4 packs loaded." in runner.invoke(args=["init"]).output
    assert _count(app, Definition) == 8  # four forms, four case types


def test_demo_files_realistic_cases_once(app: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--scope", "full", "--cases", "40"])
    assert result.exit_code == 0, result.output
    assert "Demo cases: 40 filed over the last 90 days" in result.output
    with app.app_context():
        cases = db.session.scalars(select(Case)).all()
        assert len(cases) == 40
        assert len({c.case_type_id for c in cases}) == 4
        assert {True, False} <= {c.is_open for c in cases}  # some closed, some still being worked
        oldest = min(c.created_at for c in cases)
        assert (max(c.created_at for c in cases) - oldest).days >= 30  # spread over the last 90 days
        assert audit.verify(db.session).ok
        db.session.remove()
    again = runner.invoke(args=["demo", "--scope", "full"])
    assert "Demo cases exist already; none added." in again.output
    assert _count(app, Case) == 40


def test_the_admin_starter_library_page_imports_shipped_and_uploaded_packs(app: Any, demo_users: Any, web: Any,
                                                                          tmp_path: Path) -> None:
    web.login("admin@example.com")
    page = web.get("/admin/packs").get_data(as_text=True)
    assert page.count("Not loaded") == 4 and "Import HR onboarding" in page
    response = web.post("/admin/packs/onboarding/import")
    assert response.status_code == 303
    page = web.get("/admin/packs").get_data(as_text=True)
    assert "HR onboarding: imported (version 1)." in page and page.count("Not loaded") == 3

    files = {name: (ROOT / "invoice" / name).read_bytes() for name in packs.FILES}
    upload = web.post("/admin/packs/upload", {"file": (io.BytesIO(packs.zip_files(files, "invoice")), "invoice.zip")},
                      content_type="multipart/form-data")
    assert upload.status_code == 303
    assert "Invoice approval: imported (version 1)." in web.get("/admin/packs").get_data(as_text=True)

    broken = dict(files)
    broken["form.json"] = b'{"schema_version": 1, "title": "", "pages": []}'
    refused = web.post("/admin/packs/upload", {"file": (io.BytesIO(packs.zip_files(broken, "invoice")),
                                                        "invoice.zip")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "nothing was imported" in text and "form.json" in text
    assert web.post("/admin/packs/upload", {"file": (io.BytesIO(b"not a zip"), "x.zip")},
                    content_type="multipart/form-data").status_code == 422
    assert web.post("/admin/packs/nothing/import").status_code == 404


def test_the_case_type_designer_shows_tasks_and_dated_deadlines(app: Any, demo_users: Any, web: Any) -> None:
    assert app.test_cli_runner().invoke(args=["packs", "import", "--all"]).exit_code == 0
    with app.app_context():
        from cases import definitions

        onboarding = definitions.find_definition(db.session, "case_type", "onboarding")
        contract = definitions.find_definition(db.session, "case_type", "contract")
        assert onboarding is not None and contract is not None
        ids = onboarding.id, contract.id
        db.session.remove()
    web.login("admin@example.com")
    page = web.get(f"/designer/case-types/{ids[0]}").get_data(as_text=True)
    assert "creates tasks IT setup: laptop, accounts and access (it), Payroll setup: salary, tax and pension " \
           "(payroll), Find an onboarding buddy (people, optional)" in page
    assert "resolve by 0 days before Start date" in page
    assert "respond by 60 days before End date" in web.get(f"/designer/case-types/{ids[1]}").get_data(as_text=True)
