"""The starter library's packs: read, checked as the designers check, imported whole or not at all, exported."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_types.errors import ValidationFailed
from cases import accounts, audit, definitions, lifecycle
from cases.case_versions import case_tags
from cases.database import make_engine
from cases.models import AuditEvent, Definition, DefinitionVersion, Queue, User
from cases.seed import packs
from cases.submissions import Uploader

ROOT = Path(__file__).resolve().parents[3] / "packs"
SLUGS = ["complaint", "contract", "invoice", "onboarding"]


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model)) or 0
                 for model in (Queue, Definition, DefinitionVersion, AuditEvent))


def test_the_library_ships_four_readable_packs() -> None:
    shipped = packs.shipped(ROOT)
    assert [p.slug for p in shipped] == SLUGS
    assert all(p.samples and p.queues and p.name for p in shipped)
    assert {p.form_slug for p in shipped} == set(SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
def test_each_pack_imports_and_its_samples_go_where_they_say(session: Session, admin: User, slug: str) -> None:
    pack = packs.read_folder(ROOT / slug)
    result = packs.import_pack(session, pack, actor=admin)
    assert result.status == "imported" and set(result.queues_created) == {q.slug for q in pack.queues}
    case_type = result.case_type
    assert case_type.latest_version is not None and case_type.latest_version.change_note.startswith("Starter library")
    for i, sample in enumerate(pack.samples):
        requester = accounts.create_user(session, email=f"sample{i}@example.com", name=f"Sample {i}",
                                         password="long enough pw", roles=["requester"])
        case = lifecycle.file_case(session, case_type, sample.data, uploader=Uploader(requester))
        seen = {"queue": case.queue.slug, "priority": case.priority, "state": case.state, "tags": case_tags(case)}
        expected = {"tags": [], **sample.expect}
        assert {k: seen[k] for k in expected} == expected, sample.name
    assert packs.import_pack(session, pack, actor=admin).status == "skipped"
    assert packs.import_pack(session, pack, actor=admin, update=True).status == "unchanged"
    assert audit.verify(session).ok


def _broken_copy(tmp_path: Path, slug: str, change: Any) -> Path:
    folder = tmp_path / slug
    shutil.copytree(ROOT / slug, folder)
    change(folder)
    return folder


def _edit(folder: Path, name: str, edit: Any) -> None:
    document = json.loads((folder / name).read_text())
    edit(document)
    (folder / name).write_text(json.dumps(document))


def test_a_pack_with_problems_changes_nothing_and_says_where(session: Session, admin: User, tmp_path: Path) -> None:
    def break_it(folder: Path) -> None:
        _edit(folder, "case_type.json", lambda d: (
            d["transitions"][1].update(tasks=[{"key": "x", "label": "X", "queue": "nowhere"}]),
            d["sla"].append({"state": "active", "kind": "resolution", "field": "title", "days_before": 3})))
        _edit(folder, "samples.json", lambda d: d["samples"][0]["data"].update(value="lots"))

    pack = packs.read_folder(_broken_copy(tmp_path, "contract", break_it))
    before = _counts(session)
    with pytest.raises(ValidationFailed) as caught:
        packs.import_pack(session, pack, actor=admin)
    fields = caught.value.fields
    assert set(fields) == {"case_type.json: transitions[1].tasks[0].queue", "case_type.json: sla[5].field",
                           "samples.json: samples[0].data.value"}
    assert _counts(session) == before  # not a queue, not the form, not an audit event
    assert accounts.find_queue(session, "legal") is None
    # Rules are checked as the designer checks them, once the states and transitions load.
    rules_only = packs.read_folder(_broken_copy(tmp_path / "again", "contract", lambda f: _edit(
        f, "case_type.json", lambda d: d["rules"]["rules"][0]["actions"].append(
            {"type": "route_to_queue", "queue": "nowhere"}))))
    with pytest.raises(ValidationFailed) as caught:
        packs.import_pack(session, rules_only, actor=admin)
    assert list(caught.value.fields) == ["case_type.json: rules.rules[0].actions[3].queue"]
    assert _counts(session) == before


def test_unreadable_packs_are_refused_before_the_database_is_asked(tmp_path: Path) -> None:
    folder = _broken_copy(tmp_path, "invoice", lambda f: ((f / "samples.json").unlink(),
                                                         _edit(f, "pack.json", lambda d: d.update(slug="Other!"))))
    with pytest.raises(ValidationFailed) as caught:
        packs.read_folder(folder)
    assert caught.value.fields == {"samples.json": ["This file is missing from the pack."]}
    (folder / "samples.json").write_text("[]")
    with pytest.raises(ValidationFailed) as caught:
        packs.read_folder(folder)
    assert set(caught.value.fields) == {"pack.json: slug", "samples.json"}


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def test_zipped_packs_are_read_and_hostile_archives_refused() -> None:
    files = {name: (ROOT / "complaint" / name).read_bytes() for name in packs.FILES}
    assert packs.read_zip(packs.zip_files(files, "complaint")).slug == "complaint"
    assert packs.read_zip(_zip({**files, "README.md": b"hello"})).slug == "complaint"
    with pytest.raises(ValidationFailed, match="outside its folder"):
        packs.read_zip(_zip({**files, "../evil/pack.json": b"{}"}))
    with pytest.raises(ValidationFailed, match="too large"):
        packs.read_zip(_zip({**files, "samples.json": b" " * (packs.MAX_FILE_BYTES + 10)}))
    with pytest.raises(ValidationFailed, match="more than one folder"):
        packs.read_zip(_zip({f"a/{n}": b for n, b in files.items()} | {f"b/{n}": b for n, b in files.items()}))
    with pytest.raises(ValidationFailed, match=r"not a \.zip"):
        packs.read_zip(b"PK\x03\x04 broken")


def test_an_exported_pack_imports_into_an_empty_database_as_the_same_definitions(
        session: Session, admin: User, sqlite_template: Path, tmp_path: Path) -> None:
    for pack in packs.shipped(ROOT):
        packs.import_pack(session, pack, actor=admin)
    copy = tmp_path / "empty.db"
    shutil.copy(sqlite_template, copy)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        with Session(engine, expire_on_commit=False) as other:
            someone = accounts.create_user(other, email="admin@example.com", name="Ada", password="long enough pw",
                                           roles=["admin"])
            for slug in SLUGS:
                shipped = packs.read_folder(ROOT / slug)
                files = packs.export_pack(session, slug, samples=shipped.samples)
                exported = packs.read_zip(packs.zip_files(files, slug))
                assert exported.samples == shipped.samples
                assert {q.slug for q in exported.queues} == {q.slug for q in shipped.queues}
                result = packs.import_pack(other, exported, actor=someone)
                assert result.status == "imported"
                original = definitions.find_definition(session, "case_type", slug)
                assert original is not None and original.latest_version and result.case_type.latest_version
                assert result.case_type.latest_version.document == original.latest_version.document
    finally:
        engine.dispose()


def test_the_designer_can_edit_the_packs_without_breaking_them(session: Session, admin: User) -> None:
    from case_types import workflow_editing
    from cases.kinds import kind_of

    for pack in packs.shipped(ROOT):
        case_type = packs.import_pack(session, pack, actor=admin).case_type
        assert case_type.latest_version is not None
        document = definitions.version_document(case_type.latest_version)
        first = document["states"][0]
        edited, _key = workflow_editing.update_state(document, first["key"], workflow_editing.StateInput(
            label=first["label"] + " (edited)", key=first["key"], kind=first["kind"], color=first["color"]))
        kind_of("case_type").load(session, edited)  # every part still loads: tasks, dated deadlines, rules
        assert edited["sla"] == document["sla"]
        assert [t.get("tasks") for t in edited["transitions"]] == [t.get("tasks") for t in document["transitions"]]
