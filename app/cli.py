"""The `casework` command line (also available as `flask --app app ...`)."""

from __future__ import annotations

import os
import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from app.cli_helpers import admin_actor, fail
from app.extensions import db
from case_types.errors import CasesError
from cases import accounts
from cases.models import Role


@click.command("init")
@click.option("--no-packs", is_flag=True, help="Do not load the starter library's packs.")
@with_appcontext
def init_command(no_packs: bool) -> None:
    """Create or upgrade the database schema and load the starter library's packs (idempotent)."""
    from flask_migrate import upgrade

    upgrade()
    click.echo("Database is up to date.")
    if not no_packs:
        from app.pack_commands import load_on_init

        load_on_init()


@click.group("user")
def user_group() -> None:
    """Manage users."""


@user_group.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="May be given several times.")
@click.option("--name", default=None, help="Display name (defaults to the part before @).")
@click.option("--password", default=None, help="Omit to be prompted (or to get a generated one when not interactive).")
@with_appcontext
def user_create(email: str, roles: tuple[str, ...], name: str | None, password: str | None) -> None:
    """Create a user with one or more roles."""
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    try:
        user = accounts.create_user(db.session, email=email, name=name or email.split("@")[0],
                                    password=password or "", roles=roles)
    except CasesError as exc:
        fail(exc)
    click.echo(f"Created {user.email} ({', '.join(sorted(user.roles))}).")
    if generated:
        click.echo(f"Generated password: {password}")


@user_group.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def user_set_password(email: str, password: str) -> None:
    """Set a user's password and end their sessions."""
    user = accounts.find_user(db.session, email)
    if user is None:
        raise click.ClickException(f"No user has the e-mail address {email}.")
    try:
        accounts.set_password(db.session, user, password)
    except CasesError as exc:
        fail(exc)
    click.echo(f"Password changed for {user.email}.")


@click.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.argument("email")
@click.option("--name", default="CLI token", show_default=True)
@with_appcontext
def token_create(email: str, name: str) -> None:
    """Create an API token; the token is the last word of the output."""
    user = accounts.find_user(db.session, email)
    if user is None:
        raise click.ClickException(f"No user has the e-mail address {email}.")
    try:
        _row, token = accounts.create_api_token(db.session, user, name=name)
    except CasesError as exc:
        fail(exc)
    click.echo(f"API token for {user.email} (shown once, store it safely): {token}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int,
              help="Defaults to $PORT or 5000.")
@click.option("--threads", default=8, show_default=True, help="Threads of each process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=0),
              help="Processes (gunicorn, Unix); 0 = one per core. More than one needs SECRET_KEY and REDIS_URL.")
@click.option("--sla-interval", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds between SLA sweeps in this process (without REDIS_URL); 0 turns them off.")
@with_appcontext
def serve_command(host: str, port: int, threads: int, workers: int, sla_interval: float) -> None:
    """Serve Casework: waitress in one process, or gunicorn with several (--workers)."""
    from app.jobs import start_outbox_sender, start_retention_sweeper, start_sla_sweeper
    from app.serving import scale_out_problems, serve, worker_count
    from app.watchdog import start_watchdog
    from app.webhooks import start_webhook_sweeper

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if worker_count(workers) > 1 and scale_out_problems(app.config):
        serve(app, host=host, port=port, threads=threads, workers=workers)  # refuses, saying what to set
    # With Redis the workers sweep, send and watch; without it this process is the only one that can.
    if not app.config.get("REDIS_URL"):
        if sla_interval > 0:
            start_sla_sweeper(app, sla_interval)
            start_retention_sweeper(app)
            start_outbox_sender(app)
        start_watchdog(app)
        start_webhook_sweeper(app)
    _render_left_over(app)
    _check_renderer_in_background(app)
    serve(app, host=host, port=port, threads=threads, workers=workers)


def _check_renderer_in_background(app: Flask) -> None:
    """Start the renderer and say whether it can give reproducible documents (without delaying start-up)."""
    import threading

    from app.documents.commands import warn_about_toolchain

    def check() -> None:
        with app.app_context():
            warn_about_toolchain(app)

    threading.Thread(target=check, name="casework-renderer-check", daemon=True).start()


def _render_left_over(app: Flask) -> None:
    """Documents queued while no server ran (the closed cases of `casework demo`) render in the background."""
    from app.documents.queue import enqueue_documents
    from cases import documents

    pending = documents.pending_ids(db.session)
    db.session.remove()
    if pending and app.config.get("DOCUMENTS_AUTO_RENDER", True):
        enqueue_documents(app, pending)
        click.echo(f"{len(pending)} queued documents are being rendered in the background.")


@click.command("worker")
@click.option("--sla-interval", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds between the SLA sweeps this worker puts on the queue; 0 turns them off.")
@with_appcontext
def worker_command(sla_interval: float) -> None:
    """Run background jobs from Redis (documents, notifications, SLA sweeps). Needs REDIS_URL."""
    from redis import Redis
    from rq import Worker

    from app.jobs import WORKER_QUEUES, start_outbox_sender, start_retention_sweeper, start_sla_sweeper
    from app.watchdog import start_watchdog
    from app.webhooks import start_webhook_sweeper

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("Set REDIS_URL: without Redis, jobs run inside `casework serve` itself.")
    if sla_interval > 0:
        start_sla_sweeper(current_app._get_current_object(), sla_interval)  # type: ignore[attr-defined]
        start_retention_sweeper(current_app._get_current_object())  # type: ignore[attr-defined]
        start_outbox_sender(current_app._get_current_object())  # type: ignore[attr-defined]
    start_webhook_sweeper(current_app._get_current_object())  # type: ignore[attr-defined]
    start_watchdog(current_app._get_current_object())  # type: ignore[attr-defined]
    _check_renderer_in_background(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Casework worker listening on {', '.join(WORKER_QUEUES)} at {url}")
    Worker(list(WORKER_QUEUES), connection=Redis.from_url(url)).work(with_scheduler=True)  # RQ retries, backoff


@click.group("sla")
def sla_group() -> None:
    """SLA deadlines."""


@sla_group.command("sweep")
@with_appcontext
def sla_sweep_command() -> None:
    """Fire the SLA warnings and breaches that are due now (each exactly once, however many sweep)."""
    from cases import sla_sweep, task_deadlines
    from cases.clock import utcnow

    fired = sla_sweep.sweep(db.session, clock=utcnow)
    click.echo(f"{fired} SLA {'event' if fired == 1 else 'events'} fired.")
    overdue = task_deadlines.sweep(db.session, clock=utcnow)
    if overdue:
        click.echo(f"{overdue} overdue {'task' if overdue == 1 else 'tasks'} escalated.")


def definition_commands(kind: str, *, name: str, label: str, suffix: str) -> click.Group:
    """`export` and `import` for one kind of definition; both validate exactly as the designer does."""

    @click.group(name, help=f"Export and import {label}s ({suffix} files).")
    def group() -> None:
        pass

    @group.command("export")
    @click.argument("slug")
    @click.option("--version", "number", type=int, default=None,
                  help="A published version (default: the latest, or the draft if none is published).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="Write to this file instead of standard output.")
    @with_appcontext
    def export(slug: str, number: int | None, output: str | None) -> None:
        """Write the definition SLUG as a file."""
        from cases import definitions

        definition = definitions.find_definition(db.session, kind, slug)
        if definition is None:
            raise click.ClickException(f"No {label} has the short name {slug!r}.")
        try:
            body = definitions.export_document(definition, number)
        except CasesError as exc:
            fail(exc)
        if output is None:
            click.echo(body.decode(), nl=False)
            return
        with open(output, "wb") as fh:
            fh.write(body)
        click.echo(f"Wrote {output}.", err=True)

    @group.command("import")
    @click.argument("file", type=click.File("rb"))
    @click.option("--slug", default=None, help=f"Short name (default: from the file name, complaint{suffix} -> "
                  f"complaint). An existing {label} gets the file as its draft.")
    @click.option("--publish", is_flag=True, help="Publish the imported definition as a new version.")
    @click.option("--as", "actor_email", default=None, help="The admin recorded as the author (default: the first "
                  "admin).")
    @with_appcontext
    def import_(file: click.utils.LazyFile, slug: str | None, publish: bool, actor_email: str | None) -> None:
        """Import a definition file; a file with problems changes nothing and the problems are listed."""
        from cases import definitions

        actor = admin_actor(actor_email)
        raw = file.read(2 * 1024 * 1024)
        slug = (slug or definitions.slug_from_filename(getattr(file, "name", "") or "")).strip().lower()
        try:
            definition = definitions.import_document(db.session, kind, raw, slug=slug, actor=actor,
                                                     publish_now=publish)
        except CasesError as exc:
            fail(exc)
        latest = definition.latest_version
        state = f"published as version {latest.number}" if publish and latest else "saved as the draft"
        click.echo(f"Imported {label} {definition.slug!r} ({definition.title}): {state}.")

    return group


forms_group = definition_commands("form", name="forms", label="form", suffix=".form.json")
case_types_group = definition_commands("case_type", name="case-types", label="case type", suffix=".case_type.json")


def _state_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{pair!r}: write OLD=NEW (state keys).", param_hint="--map")
        mapping[old.strip()] = new.strip()
    return mapping


@case_types_group.command("migrate")
@click.argument("slug")
@click.option("--to", "to_version", type=int, required=True, help="The published version to move open cases to.")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW",
              help="Put cases in state OLD into state NEW of the new version (repeat for each state).")
@click.option("--case", "refs", multiple=True, metavar="REF", help="Only these cases (default: every open case).")
@click.option("--dry-run", is_flag=True, help="Show what would happen to each open case; change nothing.")
@click.option("--yes", is_flag=True, help="Migrate every migratable case.")
@click.option("--refire-rules", is_flag=True, help="Run the new version's case.updated rules on each moved case.")
@click.option("--as", "actor_email", default=None, help="The admin recorded as the author (default: the first admin).")
@with_appcontext
def migrate_command(slug: str, to_version: int, pairs: tuple[str, ...], refs: tuple[str, ...], dry_run: bool,
                    yes: bool, refire_rules: bool, actor_email: str | None) -> None:
    """Move the open cases of case type SLUG to version N: one line per case with its outcome."""
    from cases import migration

    if dry_run == yes:
        raise click.UsageError("Say --dry-run to see what would happen, or --yes to migrate.")
    mapping = _state_mapping(pairs)
    actor = admin_actor(actor_email) if yes else None
    try:
        planned = migration.plan(db.session, slug, to_version, state_mapping=mapping, refs=refs or None)
    except CasesError as exc:
        fail(exc)
    outcomes = list(planned.outcomes)
    if yes:
        assert actor is not None
        outcomes = migration.migrate(db.session, planned, actor, refire_rules=refire_rules)
    for outcome in outcomes:
        click.echo(f"{outcome.ref}: {outcome.describe()}")
    moved = sum(o.done for o in outcomes) if yes else len(planned.migratable)
    failed = sum(o.status == migration.FAILED for o in outcomes)
    verb = "migrated" if yes else "migratable"
    click.echo(f"{moved} of {len(outcomes)} open cases {verb}" + (f", {failed} failed" if failed else "") +
               ("." if yes else "; nothing was changed (dry run)."))
    if failed:
        sys.exit(1)


def register_commands(app: Flask) -> None:
    from app.audit_commands import audit_group
    from app.backup_commands import backup_command, restore_command
    from app.documents.commands import documents_group
    from app.insight_commands import insight_group
    from app.pack_commands import demo_command, packs_group
    from app.privacy_commands import privacy_group
    from app.review_commands import reviews_group
    from app.webhooks import webhooks_group

    for command in (init_command, user_group, token_group, audit_group, demo_command, serve_command,
                    worker_command, forms_group, case_types_group, sla_group, backup_command, restore_command,
                    documents_group, packs_group, webhooks_group, privacy_group, reviews_group, insight_group):
        app.cli.add_command(command)


MULTIPROCESS_COMMANDS = ("serve", "worker")


def _multiprocess_metrics(argv: list[str]) -> None:
    """serve and worker count metrics in files shared by every process of this host (see app/metrics.py);
    this must happen before anything imports prometheus-client."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or not set(argv[1:2]) & set(MULTIPROCESS_COMMANDS):
        return
    from pathlib import Path

    from app import ROOT

    folder = Path(os.environ.get("CASEWORK_INSTANCE") or ROOT / "instance") / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def main() -> None:
    """Entry point of the `casework` console script."""
    _multiprocess_metrics(sys.argv)
    from app import create_app

    cli = FlaskGroup(create_app=create_app, load_dotenv=False, help="Casework: forms, cases, rules, audit.")
    cli.main(prog_name="casework")
