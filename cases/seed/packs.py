"""The starter library: packs that hold a whole process, imported and exported as one.

A pack is a folder (or a .zip of one) with four files::

    pack.json       {"schema_version": 1, "slug": "complaint", "name": "...", "description": "...",
                     "queues": [{"slug": "escalations", "name": "Escalations", "description": "..."}]}
    form.json       the form requesters fill in (a form definition file)
    case_type.json  the case type with its rules, SLA targets, calendar and document templates; its
                    "form" names the form's short name, its "form_version" is set on import
    samples.json    {"schema_version": 1, "samples": [{"name": "...", "data": {...},
                     "expect": {"queue": "...", "priority": "...", "state": "...", "tags": [...]}}]}

Importing validates everything before anything is written, exactly as the designers validate: the
queues the pack needs are added and the form is published inside a savepoint that is rolled back,
the case type is loaded by its kind (cases.kinds: workflow, rules, documents) against that database,
and every sample is validated against the form. A pack with a problem changes nothing and every
problem is reported with the file and the place in it. Only then are the missing queues created and
the form and case type imported through cases.definitions.import_document and published.

The pack's slug is the case type's short name; a pack counts as loaded when that case type exists.
"""

from __future__ import annotations

import io
import json
import posixpath
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from case_types import adaptive
from case_types.errors import NotFound, ValidationFailed
from cases import accounts, definitions
from cases.clock import Clock, utcnow
from cases.kinds import kind_of
from cases.models import Definition, DefinitionVersion, Queue, User
from forms.errors import DefinitionError, SubmissionInvalid
from forms.schema import FormSchema
from forms.text import find_bad_text
from forms.validation import validate_submission

SCHEMA_VERSION = 1
FILES = ("pack.json", "form.json", "case_type.json", "samples.json")
MAX_FILE_BYTES = 1024 * 1024
MAX_ZIP_BYTES = 5 * 1024 * 1024
MAX_ZIP_MEMBERS = 50
MAX_RATIO = 100  # uncompressed / compressed: refuse zip bombs
SLUG_RE = definitions.SLUG_RE
QUEUE_SLUG_RE = accounts.SLUG_RE
EXPECTATIONS = ("queue", "priority", "state", "tags")


@dataclass(frozen=True)
class QueueSpec:
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Sample:
    """A sample case: answers to the form and what the pack's rules should make of them."""

    name: str
    data: Mapping[str, Any]
    expect: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pack:
    slug: str
    name: str
    description: str
    queues: tuple[QueueSpec, ...]
    form: bytes
    case_type: bytes
    samples: tuple[Sample, ...] = ()

    @property
    def form_slug(self) -> str:
        return str(_json(self.case_type).get("form") or self.slug)


@dataclass(frozen=True)
class ImportResult:
    pack: Pack
    status: str  # "imported", "updated", "unchanged" or "skipped" (already loaded, left alone)
    case_type: Definition
    queues_created: tuple[str, ...] = ()


class _Problems:
    """Problems by file and place, reported together as one ValidationFailed."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.fields.setdefault(where, []).append(message)

    def raise_if_any(self, message: str) -> None:
        if self.fields:
            raise ValidationFailed(message, self.fields)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(bytes(raw).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    bad = find_bad_text(value)
    if bad:
        raise ValidationFailed("The pack has text that cannot be stored.", {"file": [f"{bad[0]}: {bad[1]}"]})
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- reading packs


def read_files(files: Mapping[str, bytes], *, slug: str | None = None) -> Pack:
    """A pack from its files' contents; `slug` is the folder's name when the manifest names none."""
    problems = _Problems()
    for name in FILES:
        if name not in files:
            problems.add(name, "This file is missing from the pack.")
        elif len(files[name]) > MAX_FILE_BYTES:
            problems.add(name, "This file is larger than 1 MiB.")
    problems.raise_if_any("The pack is incomplete.")
    manifest = _json(files["pack.json"])
    if not manifest:
        problems.add("pack.json", "This is not a JSON object.")
    elif manifest.get("schema_version") != SCHEMA_VERSION:
        problems.add("pack.json: schema_version", f"This pack is for a different Casework version "
                                                   f"(schema_version must be {SCHEMA_VERSION}).")
    named = manifest.get("slug")
    if named is not None and slug is not None and named != slug:
        problems.add("pack.json: slug", f"The pack says it is '{named}' but its folder is '{slug}'.")
    pack_slug = named if isinstance(named, str) else slug or ""
    if not SLUG_RE.match(pack_slug):
        problems.add("pack.json: slug", "Use 2 to 63 lower-case letters, digits, '-' or '_', starting with a letter.")
    title = manifest.get("name")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        problems.add("pack.json: name", "Give the pack a name of at most 200 characters.")
    description = manifest.get("description", "")
    if not isinstance(description, str) or len(description) > 2000:
        problems.add("pack.json: description", "Use at most 2000 characters of text.")
        description = ""
    queues = _queues(manifest.get("queues", []), problems)
    for file_name in ("form.json", "case_type.json"):
        if not _json(files[file_name]):
            problems.add(file_name, "This is not a JSON object.")
    samples = _samples(files["samples.json"], problems)
    problems.raise_if_any("The pack cannot be read.")
    return Pack(slug=pack_slug, name=str(title).strip(), description=description.strip(), queues=queues,
                form=files["form.json"], case_type=files["case_type.json"], samples=samples)


def _queues(raw: Any, problems: _Problems) -> tuple[QueueSpec, ...]:
    if not isinstance(raw, list):
        problems.add("pack.json: queues", "List the queues the pack routes to.")
        return ()
    out = []
    for i, item in enumerate(raw):
        where = f"pack.json: queues[{i}]"
        if not isinstance(item, Mapping):
            problems.add(where, "Each queue is an object with a slug and a name.")
            continue
        slug, name, description = item.get("slug"), item.get("name"), item.get("description", "")
        if not isinstance(slug, str) or not QUEUE_SLUG_RE.match(slug):
            problems.add(f"{where}.slug", "Use lower-case letters, digits, '-' or '_', starting with a letter.")
            continue
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            problems.add(f"{where}.name", "Give the queue a name of at most 200 characters.")
            continue
        out.append(QueueSpec(slug, name.strip(), description.strip() if isinstance(description, str) else ""))
    return tuple(out)


def _samples(raw: bytes, problems: _Problems) -> tuple[Sample, ...]:
    document = _json(raw)
    items = document.get("samples")
    if document.get("schema_version") != SCHEMA_VERSION or not isinstance(items, list):
        problems.add("samples.json", f'Write {{"schema_version": {SCHEMA_VERSION}, "samples": [...]}}.')
        return ()
    out = []
    for i, item in enumerate(items):
        where = f"samples.json: samples[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("data"), Mapping):
            problems.add(where, 'Each sample is an object with a "name" and the form\'s answers under "data".')
            continue
        expect = item.get("expect", {})
        if not isinstance(expect, Mapping) or set(expect) - set(EXPECTATIONS):
            problems.add(f"{where}.expect", f"Expect only: {', '.join(EXPECTATIONS)}.")
            expect = {}
        out.append(Sample(str(item.get("name") or f"Sample {i + 1}"), dict(item["data"]), dict(expect)))
    return tuple(out)


def read_folder(path: Path) -> Pack:
    """The pack in a folder (its name is the slug unless pack.json names one)."""
    files = {}
    for name in FILES:
        file = path / name
        if file.is_file():
            files[name] = file.read_bytes()[: MAX_FILE_BYTES + 1]
    return read_files(files, slug=path.name)


def read_zip(raw: bytes) -> Pack:
    """The pack in an uploaded .zip: its four files at the top, or in one folder named after the pack.

    Hostile archives are refused: too large, too many members, compressed too well, absolute paths or
    `..` in names. Nothing is extracted to disk.
    """
    if len(raw) > MAX_ZIP_BYTES:
        raise ValidationFailed("The pack is too large.", {"file": ["Upload a .zip of at most 5 MiB."]})
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationFailed("This is not a .zip file.", {"file": ["Upload the pack as a .zip file."]}) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise ValidationFailed("The pack has too many files.", {"file": [f"At most {MAX_ZIP_MEMBERS} files."]})
    files: dict[str, bytes] = {}
    folders: set[str] = set()
    total = 0
    for member in members:
        name = member.filename
        if name.endswith("/"):
            continue
        normal = posixpath.normpath(name)
        if "\\" in name or name.startswith("/") or normal.startswith("..") or ":" in name:
            raise ValidationFailed("The pack has a file outside its folder.", {"file": [f"Refused: {name!r}."]})
        parts = normal.split("/")
        if len(parts) > 2 or parts[-1] not in FILES:
            continue  # a README or a picture beside the pack is no business of ours
        total += member.file_size
        if member.file_size > MAX_FILE_BYTES or total > MAX_ZIP_BYTES or (
                member.compress_size and member.file_size / member.compress_size > MAX_RATIO):
            raise ValidationFailed("The pack is too large.", {"file": [f"{name} unpacks to too many bytes."]})
        try:
            with archive.open(member) as handle:
                files[parts[-1]] = handle.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError):
            # A bad CRC, a truncated or encrypted member, an unknown compression method.
            raise ValidationFailed("The pack's .zip file is damaged.",
                                   {"file": [f"{name} cannot be unpacked; zip the pack folder again."]}) from None
        if len(parts) == 2:
            folders.add(parts[0])
    if len(folders) > 1:
        raise ValidationFailed("The pack holds more than one folder.", {"file": ["Zip one pack folder at a time."]})
    return read_files(files, slug=next(iter(folders), None))


def shipped(root: Path) -> list[Pack]:
    """The packs shipped in `root` (one folder each), by name; a broken one raises with its folder named."""
    packs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "pack.json").is_file()):
        try:
            packs.append(read_folder(folder))
        except ValidationFailed as exc:
            raise ValidationFailed(f"The pack in {folder} cannot be read.", exc.fields) from None
    return packs


def find_shipped(root: Path, slug: str) -> Pack | None:
    folder = root / slug
    if not SLUG_RE.match(slug) or not (folder / "pack.json").is_file():
        return None
    return read_folder(folder)


# ---------------------------------------------------------------- checking and importing


def loaded(session: Session, pack: Pack) -> Definition | None:
    """The pack's case type when the pack is loaded (with a published version)."""
    definition = definitions.find_definition(session, "case_type", pack.slug)
    return definition if definition is not None and definition.latest_version is not None else None


def _prefixed(prefix: str, problems: Sequence[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for problem in problems:
        path = getattr(problem, "path", "") or ""
        out.setdefault(f"{prefix}: {path}" if path else prefix, []).append(problem.message)
    return out


def _form_version_after_import(session: Session, slug: str, schema: FormSchema) -> tuple[Definition | None, int]:
    """The form's definition (if it exists) and the version number the pack's form will have."""
    definition = definitions.find_definition(session, "form", slug)
    latest = definition.latest_version if definition is not None else None
    text = definitions.canonical_json(kind_of("form").dump(schema))
    if latest is not None and latest.document == text:
        return definition, latest.number
    return definition, (latest.number + 1) if latest is not None else 1


def _case_type_document(pack: Pack, form_version: int) -> dict[str, Any]:
    document = _json(pack.case_type)
    document["form"] = pack.form_slug
    document["form_version"] = form_version
    return document


def check(session: Session, pack: Pack, *, clock: Clock = utcnow) -> None:
    """Raise ValidationFailed with every problem of the pack (by file and place); writes nothing.

    The case type is loaded against the database as it would be once the pack's queues exist and its
    form is published: those rows are written inside a savepoint and rolled back.
    """
    problems = _Problems()
    if not SLUG_RE.match(pack.form_slug):
        problems.add("case_type.json: form", "Name the form by its short name, like complaint.")
    try:
        schema: FormSchema = kind_of("form").parse_file(session, pack.form)
    except DefinitionError as exc:
        problems.fields.update(_prefixed("form.json", exc.errors))
        problems.raise_if_any(f"The pack '{pack.slug}' has problems; nothing was imported.")
        return
    for queue in pack.queues:
        existing = accounts.find_queue(session, queue.slug)
        if existing is not None and not existing.active:
            problems.add(f"pack.json: queues ({queue.slug})", f"The queue '{existing.name}' exists but is inactive; "
                                                               "activate it first.")
    for i, sample in enumerate(pack.samples):
        try:
            validate_submission(schema, sample.data)
        except SubmissionInvalid as exc:
            for key, messages in exc.errors.items():
                problems.fields.setdefault(f"samples.json: samples[{i}].data.{key}", []).extend(messages)
    now = clock()
    savepoint = session.begin_nested()
    try:
        for queue in pack.queues:
            if accounts.find_queue(session, queue.slug) is None:
                session.add(Queue(slug=queue.slug, name=queue.name, description=queue.description, active=True))
        definition, number = _form_version_after_import(session, pack.form_slug, schema)
        if definition is None or definition.latest_version is None or definition.latest_version.number != number:
            if definition is None:
                definition = Definition(kind="form", slug=pack.form_slug, title=schema.title or pack.form_slug,
                                        draft="{}", draft_revision=1, draft_updated_at=now, created_at=now)
                session.add(definition)
                session.flush()
            text = definitions.canonical_json(kind_of("form").dump(schema))
            session.add(DefinitionVersion(definition_id=definition.id, number=number, document=text, sha256="",
                                          change_note="", published_at=now))
        session.flush()
        try:
            kind_of("case_type").load(session, _case_type_document(pack, number))
        except DefinitionError as exc:
            problems.fields.update(_prefixed("case_type.json", exc.errors))
    finally:
        savepoint.rollback()
        session.rollback()  # end the transaction that held the savepoint (and, on SQLite, its write lock)
    problems.raise_if_any(f"The pack '{pack.slug}' has problems; nothing was imported.")


def import_pack(session: Session, pack: Pack, *, actor: User, update: bool = False,
                clock: Clock = utcnow) -> ImportResult:
    """Load a pack: its queues, its form and its case type, published. The pack is checked first, even when
    it is loaded already; a loaded pack is then left alone unless `update`, which publishes new versions
    where the pack differs (filed cases keep theirs)."""
    check(session, pack, clock=clock)
    existing = loaded(session, pack)
    if existing is not None and not update:
        return ImportResult(pack, "skipped", existing)
    created = []
    for queue in pack.queues:
        if accounts.find_queue(session, queue.slug) is None:
            accounts.create_queue(session, slug=queue.slug, name=queue.name, description=queue.description)
            created.append(queue.slug)
    note = f"Starter library: {pack.name}"
    form = definitions.import_document(session, "form", pack.form, slug=pack.form_slug, actor=actor,
                                       publish_now=True, change_note=note, clock=clock)
    assert form.latest_version is not None
    before = existing.latest_version.number if existing is not None and existing.latest_version else None
    raw = json.dumps(_case_type_document(pack, form.latest_version.number)).encode()
    case_type = definitions.import_document(session, "case_type", raw, slug=pack.slug, actor=actor,
                                            publish_now=True, change_note=note, clock=clock)
    after = case_type.latest_version.number if case_type.latest_version else None
    status = "imported" if existing is None else ("unchanged" if before == after else "updated")
    return ImportResult(pack, status, case_type, tuple(created))


def import_all(session: Session, packs: Iterable[Pack], *, actor: User, update: bool = False,
               clock: Clock = utcnow) -> list[ImportResult]:
    """Import several packs; each is checked before it is written, the first broken one stops the rest."""
    return [import_pack(session, pack, actor=actor, update=update, clock=clock) for pack in packs]


# ---------------------------------------------------------------- exporting


def _queues_of(document: Mapping[str, Any]) -> list[str]:
    """Every queue a case-type document names: its default and fallback, its tasks (those of transitions and
    of the catalogue) and its rules."""
    slugs = [document.get("default_queue"), document.get("fallback_queue")]
    for transition in document.get("transitions") or []:
        slugs.extend(task.get("queue") for task in transition.get("tasks") or [])
    slugs.extend(sorted(adaptive.queues_of(document)))
    rules = (document.get("rules") or {}).get("rules") or []
    for rule in rules:
        slugs.extend(action.get("queue") for action in rule.get("actions") or [])
    return [s for s in dict.fromkeys(slugs) if isinstance(s, str) and s]


def _dumps(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def export_pack(session: Session, slug: str, *, samples: Sequence[Sample] = (), name: str | None = None,
                description: str | None = None) -> dict[str, bytes]:
    """The files of a pack for the case type `slug`: its latest version, the form version it pins and
    the queues it names. Samples live in pack files, not in the database: the caller passes them."""
    case_type = definitions.find_definition(session, "case_type", slug)
    if case_type is None or case_type.latest_version is None:
        raise NotFound(f"No published case type has the short name '{slug}'.")
    document = definitions.version_document(case_type.latest_version)
    form = definitions.find_definition(session, "form", str(document.get("form")))
    if form is None:
        raise NotFound(f"The form '{document.get('form')}' of '{slug}' is missing.")
    queues = []
    for queue_slug in _queues_of(document):
        queue = accounts.find_queue(session, queue_slug)
        queues.append({"slug": queue_slug, "name": queue.name if queue else queue_slug,
                       "description": queue.description if queue else ""})
    manifest = {"schema_version": SCHEMA_VERSION, "slug": slug, "name": name or case_type.title,
                "description": description if description is not None else str(document.get("description", "")),
                "queues": queues}
    return {
        "pack.json": _dumps(manifest),
        "form.json": definitions.export_document(form, int(document["form_version"])),
        "case_type.json": definitions.export_document(case_type),
        "samples.json": _dumps({"schema_version": SCHEMA_VERSION, "samples": [
            {"name": s.name, "data": dict(s.data), **({"expect": dict(s.expect)} if s.expect else {})}
            for s in samples]}),
    }


def write_folder(files: Mapping[str, bytes], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (folder / name).write_bytes(files[name])


def zip_files(files: Mapping[str, bytes], slug: str) -> bytes:
    """The pack as a .zip holding one folder named after it (what `read_zip` reads back)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in FILES:
            archive.writestr(f"{slug}/{name}", files[name])
    return buffer.getvalue()


def add_members(session: Session, pack: Pack, user: User) -> None:
    """Make `user` a member of every queue of the pack (the demo agent works all of them)."""
    for spec in pack.queues:
        queue = accounts.find_queue(session, spec.slug)
        if queue is not None:
            accounts.add_queue_member(session, queue, user)
