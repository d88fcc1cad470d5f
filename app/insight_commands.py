"""`casework insight rebuild`: the analytics read model derived again from the audit chain."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from app.extensions import db
from cases.insight import rebuild


@click.group("insight")
def insight_group() -> None:
    """Process insight: the analytics read model."""


@insight_group.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Replace the read model with the rows the audit chain gives (the live path's own derivation)."""
    started = time.perf_counter()
    done = rebuild.rebuild(db.session)
    click.echo(f"Rebuilt the read model of {done.cases} case(s) from {done.events} event(s) "
               f"in {time.perf_counter() - started:.1f} s.")
