"""The starter library on the command line (`casework packs ...`), its loading by `init`, and the demo cases.

The packs shipped with Casework live in `packs/<slug>/` (the `PACKS_DIR` setting); cases.seed.packs reads,
checks, imports and exports them, cases.seed.demo lives the demo cases' lives.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli_helpers import admin_actor, fail
from app.extensions import db
from case_types.errors import CasesError
from cases import accounts
from cases.clock import utcnow
from cases.models import Role, User
from cases.seed import demo, packs

DEMO_PASSWORD = "casework-demo"  # noqa: S105 - documented demo credential
DEMO_USERS = [
    ("admin@example.com", "Ada Admin", [Role.ADMIN]),
    ("agent@example.com", "Alex Agent", [Role.AGENT]),
    ("requester@example.com", "Riley Requester", [Role.REQUESTER]),
    ("auditor@example.com", "Avery Auditor", [Role.AUDITOR]),
]
DEMO_QUEUES = [("general", "General enquiries", "Everything not routed elsewhere.")]


def packs_dir() -> Path:
    return Path(current_app.config["PACKS_DIR"])


def _first_admin() -> User | None:
    return next((u for u in accounts.users_with_role(db.session, Role.ADMIN) if u.active), None)


def _report(result: packs.ImportResult) -> str:
    version = result.case_type.latest_version.number if result.case_type.latest_version else "-"
    words = {"imported": "imported", "updated": "updated to", "unchanged": "unchanged at",
             "skipped": "already loaded, left alone at"}
    created = f"; new queues: {', '.join(result.queues_created)}" if result.queues_created else ""
    return f"Pack {result.pack.slug!r} ({result.pack.name}): {words[result.status]} version {version}{created}."


def load_shipped(actor: User, *, update: bool = False) -> list[packs.ImportResult]:
    """Import every shipped pack (those already loaded are left alone unless `update`)."""
    return packs.import_all(db.session, packs.shipped(packs_dir()), actor=actor, update=update)


@click.group("packs")
def packs_group() -> None:
    """The starter library: processes packed as form, case type and sample cases."""


@packs_group.command("list")
@with_appcontext
def list_command() -> None:
    """The packs shipped with Casework and whether they are loaded."""
    for pack in packs.shipped(packs_dir()):
        definition = packs.loaded(db.session, pack)
        status = f"loaded (version {definition.latest_version.number})" if definition and \
            definition.latest_version else "not loaded"
        click.echo(f"{pack.slug:12} {pack.name} - {status}")


@packs_group.command("import")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--all", "everything", is_flag=True, help="Every pack shipped with Casework.")
@click.option("--update", is_flag=True, help="Publish new versions of packs already loaded where they differ.")
@click.option("--as", "actor_email", default=None, help="The admin recorded as the author (default: the first admin).")
@with_appcontext
def import_command(path: Path | None, everything: bool, update: bool, actor_email: str | None) -> None:
    """Import the pack in PATH (a folder or a .zip), or --all shipped packs; a pack with problems changes
    nothing and its problems are listed. A pack already loaded is left alone unless --update."""
    if (path is None) == (not everything):
        raise click.UsageError("Give a pack folder or .zip, or --all.")
    actor = admin_actor(actor_email)
    try:
        if everything:
            results = load_shipped(actor, update=update)
        else:
            assert path is not None
            pack = packs.read_zip(path.read_bytes()) if path.is_file() else packs.read_folder(path)
            results = [packs.import_pack(db.session, pack, actor=actor, update=update)]
    except CasesError as exc:
        fail(exc)
    for result in results:
        click.echo(_report(result))


@packs_group.command("export")
@click.argument("slug")
@click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Write the pack folder SLUG into this folder.")
@click.option("--zip", "as_zip", is_flag=True, help="Write SLUG.zip instead of a folder.")
@with_appcontext
def export_command(slug: str, output: Path, as_zip: bool) -> None:
    """Write the case type SLUG with its form, queues and (for shipped packs) sample cases as a pack."""
    shipped = packs.find_shipped(packs_dir(), slug)
    try:
        files = packs.export_pack(db.session, slug, samples=shipped.samples if shipped else (),
                                  name=shipped.name if shipped else None,
                                  description=shipped.description if shipped else None)
    except CasesError as exc:
        fail(exc)
    if as_zip:
        output.mkdir(parents=True, exist_ok=True)
        target = output / f"{slug}.zip"
        target.write_bytes(packs.zip_files(files, slug))
    else:
        target = output / slug
        packs.write_folder(files, target)
    click.echo(f"Wrote {target}.")


# ---------------------------------------------------------------- init and demo


def load_on_init() -> None:
    """`casework init`: load the shipped packs not loaded yet (they need an admin as their author)."""
    admin = _first_admin()
    shipped = packs.shipped(packs_dir())
    if admin is None:
        missing = [p.slug for p in shipped if packs.loaded(db.session, p) is None]
        if missing:
            click.echo(f"Starter library: {len(missing)} packs wait for an admin to record as their author; "
                       "`casework demo` or `casework packs import --all` loads them.")
        return
    try:
        results = packs.import_all(db.session, shipped, actor=admin)
    except CasesError as exc:
        fail(exc)
    new = [r for r in results if r.status != "skipped"]
    click.echo(f"Starter library: {len(results)} packs loaded" + (f" ({len(new)} new)." if new else "."))


def demo_starter_library(agent: User | None, requester: User | None, *, full: bool, count: int) -> None:
    """`casework demo`: the demo agent joins the queues of the loaded packs; with `full`, the shipped packs
    are loaded first and `count` demo cases are filed (once: only into a database without such cases)."""
    if full:
        admin = _first_admin()
        if admin is None:
            raise click.ClickException("The demo needs its admin.")
        try:
            load_shipped(admin)
        except CasesError as exc:
            fail(exc)
    shipped = [(p, d) for p in packs.shipped(packs_dir()) if (d := packs.loaded(db.session, p)) is not None]
    if agent is not None:
        for pack, _definition in shipped:
            packs.add_members(db.session, pack, agent)
    if not full or agent is None or requester is None or count == 0:
        return
    case_types = {pack.slug: definition for pack, definition in shipped}
    if demo.has_demo_cases(db.session, case_types):
        click.echo("Demo cases exist already; none added.")
        return
    customers = []
    for email, name in demo.CUSTOMERS:
        customers.append(accounts.find_user(db.session, email) or accounts.create_user(
            db.session, email=email, name=name, password=DEMO_PASSWORD, roles=[Role.REQUESTER]))
    samples = {pack.slug: [dict(s.data) for s in pack.samples] for pack, _definition in shipped}
    # Documents of the cases closed here are queued, not rendered now: the server renders what is queued.
    auto_render = current_app.config["DOCUMENTS_AUTO_RENDER"]
    current_app.config["DOCUMENTS_AUTO_RENDER"] = False
    started = time.perf_counter()
    try:
        result = demo.run(db.session, case_types, samples, demo.Cast(agent=agent, requester=requester,
                                                                      customers=customers),
                          count=count, now=utcnow())
    finally:
        current_app.config["DOCUMENTS_AUTO_RENDER"] = auto_render
    seconds = time.perf_counter() - started
    click.echo(f"Demo cases: {result.cases} filed over the last {demo.DAYS} days ({result.open} still open), "
               f"{result.steps} steps, {result.fired} SLA warnings and breaches, in {seconds:.1f} s.")
    if result.stopped:
        click.echo(f"{result.stopped} demo steps were refused; those cases stay where they were.", err=True)


@click.command("demo")
@click.option("--scope", type=click.Choice(["full", "users"]), default=None,
              help="full: users, the starter library and demo cases (default); users: the users and queue only.")
@click.option("--cases", "case_count", type=click.IntRange(0, 5000), default=None,
              help="How many demo cases to file (default 200; only into a database without any).")
@with_appcontext
def demo_command(scope: str | None, case_count: int | None) -> None:
    """Create the demo users (password `casework-demo`), queues, starter packs and demo cases; safe to run again."""
    for email, name, roles in DEMO_USERS:
        if accounts.find_user(db.session, email) is None:
            accounts.create_user(db.session, email=email, name=name, password=DEMO_PASSWORD, roles=roles)
            click.echo(f"Demo user {email} / {DEMO_PASSWORD}")
    agent = accounts.find_user(db.session, "agent@example.com")
    for slug, qname, description in DEMO_QUEUES:
        queue = accounts.find_queue(db.session, slug) or accounts.create_queue(
            db.session, slug=slug, name=qname, description=description)
        if agent is not None:
            accounts.add_queue_member(db.session, queue, agent)
    demo_starter_library(agent, accounts.find_user(db.session, "requester@example.com"),
                         full=(scope or current_app.config["DEMO_SCOPE"]) == "full",
                         count=current_app.config["DEMO_CASES"] if case_count is None else case_count)
    click.echo("Demo data is ready.")
