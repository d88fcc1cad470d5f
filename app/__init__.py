"""Casework's web layer: the application factory wires the domain packages to HTTP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, g
from werkzeug import routing as werkzeug_routing

from app import config

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build a configured application; `test_config` replaces instance/config.py and the environment."""
    instance = Path(os.environ.get("CASEWORK_INSTANCE") or ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance.resolve()),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    config.load(app.config, Path(app.instance_path), test_config)
    from app.observability import init_observability

    init_observability(app)
    from app.uploads import configure_storage

    configure_storage(app)

    from app.inputs import init_inputs

    init_inputs(app)  # before the blueprints: their <int:...> ids use its converter
    _init_extensions(app)
    _register_blueprints(app)

    from app.ratelimits import init_rate_limits

    init_rate_limits(app)

    from app.jobs import init_jobs

    init_jobs(app)

    from app.webhooks import init_webhooks

    init_webhooks(app)

    from app.documents.queue import init_document_queue

    init_document_queue(app)
    _register_request_hooks(app)

    from app.template_filters import init_template_filters

    init_template_filters(app)

    from app.errors import register_error_handlers

    register_error_handlers(app)
    from app.overload import init_overload

    init_overload(app)

    from app.cli import register_commands

    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, migrate
    from cases.database import configure_engine

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    with app.app_context():
        configure_engine(db.engine, busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]))
    from app.metrics import install_session_hooks

    install_session_hooks()


class BoundedIntegerConverter(werkzeug_routing.IntegerConverter):
    """Path ids within the id columns' range: a larger number is a 404, never a database overflow."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# Tests that walk the URL map probe integer arguments by this name.
BoundedIntegerConverter.__name__ = "IntegerConverter"


def _register_blueprints(app: Flask) -> None:
    if app.url_map.converters["int"] is werkzeug_routing.IntegerConverter:  # unless an input layer set its own
        app.url_map.converters["int"] = BoundedIntegerConverter
    from app.api import bp as api_bp
    from app.blueprints import admin, auth, files, homes, portal, public, work
    from app.designer import register_designers

    app.register_blueprint(auth.bp)
    from app.blueprints import (
        admin_packs,  # noqa: F401 - adds the starter library's pages to the admin blueprint
        admin_webhooks,  # noqa: F401 - adds the webhook pages to the admin blueprint
    )

    app.register_blueprint(admin.bp)
    app.register_blueprint(work.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(homes.designer)
    from app.blueprints import audit, documents

    app.register_blueprint(audit.bp)
    app.register_blueprint(documents.bp)
    register_designers(app)
    from app.privacy import register_privacy

    register_privacy(app)
    app.register_blueprint(api_bp)
    from app import health

    app.register_blueprint(health.bp)
    from app.oidc import init_oidc

    init_oidc(app)
    from app.blueprints import api_docs

    app.register_blueprint(api_docs.bp)
    from app.insight.routes import bp as insight_bp

    app.register_blueprint(insight_bp)


def _register_request_hooks(app: Flask) -> None:
    from app.auth import current_user, load_logged_in_user
    from app.htmx import add_vary
    from app.security import add_security_headers, no_store_when_authenticated
    from cases.clock import utcnow
    from cases.models.accounts import ROLE_LABELS

    app.before_request(load_logged_in_user)
    app.after_request(add_vary)
    app.after_request(add_security_headers)
    app.after_request(no_store_when_authenticated)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"current_user": current_user(), "role_labels": ROLE_LABELS, "now_utc": utcnow()}

    @app.teardown_appcontext
    def _forget_user(_exc: BaseException | None) -> None:
        g.pop("user", None)
