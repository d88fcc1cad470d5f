"""Configuration: defaults, then instance/config.py, then the environment, then test overrides."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_NAME": "casework_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "LOGIN_IDLE_TIMEOUT": timedelta(hours=2),
    "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
    # Werkzeug's 500 KB default for one non-file form field turned a long wizard answer into a 413 page
    # that lost the answers; the field's own length check answers with a 422 on the page instead.
    "MAX_FORM_MEMORY_SIZE": 4 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "LOGIN_RATE_LIMIT": "10 per minute",
    "LOGIN_ACCOUNT_RATE_LIMIT": "20 per hour",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "REDIS_URL": None,
    "SMTP_URL": None,
    "JSON_SORT_KEYS": False,
    # Documents (PDF): rendered in a child process under these limits; queued ones render after each commit.
    "DOCUMENTS_AUTO_RENDER": True,
    "DOCUMENT_MEMORY_MB": 512,
    "DOCUMENT_TIMEOUT_S": 60,
    # Render threads (and warm renderer processes) in this process; None: one per core.
    "DOCUMENT_WORKERS": None,
    # The watchdog: every WATCHDOG_INTERVAL_S (0: off) it re-queues work stuck for JOB_STUCK_AFTER_S (a
    # document rendering at least DOCUMENT_TIMEOUT_S + 30 s); a document fails after DOCUMENT_MAX_ATTEMPTS.
    "WATCHDOG_INTERVAL_S": 60,
    "JOB_STUCK_AFTER_S": 300,
    "DOCUMENT_MAX_ATTEMPTS": 3,
    "ORGANISATION_NAME": "Casework",
    # The starter library: one folder per pack; `casework demo` loads them and files DEMO_CASES demo cases
    # ("users" as DEMO_SCOPE makes it create the demo users and queue only).
    "PACKS_DIR": str(Path(__file__).resolve().parent.parent / "packs"),
    "DEMO_SCOPE": "full",
    "DEMO_CASES": 200,
    # Operations (app/health.py, app/observability.py, app/metrics.py).
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    "METRICS_TOKEN": None,
    "READY_MAX_BACKLOG": 10_000,
    # SQLite waits this many seconds for the write lock, then the request answers 503 + Retry-After.
    "SQLITE_BUSY_TIMEOUT": 30.0,
    # A request that waited longer than this (X-Request-Start from the proxy) is answered 503 unworked.
    "REQUEST_QUEUE_TIMEOUT": 30.0,
    # Webhooks (app.webhooks): short timeouts, a cap on what is read of an answer, the claim a worker holds
    # on a delivery while sending, failed attempts in a row that turn a subscription off, the sweep period.
    "WEBHOOKS_AUTO_DELIVER": True,
    "WEBHOOK_TIMEOUT_S": 5,
    "WEBHOOK_MAX_RESPONSE_BYTES": 64 * 1024,
    "WEBHOOK_CLAIM_SECONDS": 90,
    "WEBHOOK_DISABLE_AFTER": 25,
    "WEBHOOK_SWEEP_INTERVAL": 30.0,
    "WEBHOOK_RESOLVER": None,
    # How long a retried POST with an Idempotency-Key waits for the first one's outcome before a 409.
    "IDEMPOTENCY_WAIT_S": 30,
    # Uploads waiting to be filed: per person at once (cases.uploads.Quota), and how fast through the API.
    "UPLOAD_QUOTA_FILES": 50,
    "UPLOAD_QUOTA_MB": 200,
    "UPLOAD_RATE_LIMIT": "30 per minute",
    # Stored files (app.uploads, cases.storage): the backend and the folder holding uploads/ and documents/
    # (None: the instance folder; with several nodes, a volume they all mount).
    "FILE_STORAGE": "local",
    "FILE_STORAGE_ROOT": None,
}

# Environment variables read as they are; booleans are "1/true/yes".
_ENV_STRINGS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_URL", "MAIL_FROM", "METRICS_TOKEN", "LOG_FORMAT",
                "LOG_LEVEL", "FILE_STORAGE", "FILE_STORAGE_ROOT", "UPLOAD_FOLDER", "DOCUMENT_FOLDER", "OIDC_ISSUER",
                "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_SCOPES", "OIDC_GROUPS_CLAIM", "OIDC_DEFAULT_ROLE")
_ENV_BOOLS = {"CASEWORK_SECURE_COOKIES": "SESSION_COOKIE_SECURE", "OIDC_ONLY": "OIDC_ONLY"}


def database_url(raw: str) -> str:
    """Normalise a DATABASE_URL so PostgreSQL always goes through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def secret_key(instance: Path) -> str:
    """The SECRET_KEY kept in instance/, generated on first run and readable by the owner only."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load(app_config: dict[str, Any], instance: Path, test_config: dict[str, Any] | None) -> None:
    """Fill `app_config` in order of precedence: defaults < instance file < environment < test."""
    app_config.update(DEFAULTS)
    config_file = instance / "config.py"
    if test_config is None and config_file.exists():
        namespace: dict[str, Any] = {}
        exec(compile(config_file.read_text(), str(config_file), "exec"), namespace)  # noqa: S102 - admin-owned file
        app_config.update({k: v for k, v in namespace.items() if k.isupper()})
    if test_config is None:
        for name in _ENV_STRINGS:
            if os.environ.get(name):
                app_config[name] = os.environ[name]
        for env, key in _ENV_BOOLS.items():
            if env in os.environ:
                app_config[key] = os.environ[env].strip().lower() in ("1", "true", "yes")
    else:
        app_config.update(test_config)
    if app_config.get("REDIS_URL") and app_config.get("RATELIMIT_STORAGE_URI") == "memory://":
        app_config["RATELIMIT_STORAGE_URI"] = app_config["REDIS_URL"]
    raw_db = app_config.get("DATABASE_URL") or f"sqlite:///{instance / 'casework.db'}"
    app_config["SQLALCHEMY_DATABASE_URI"] = database_url(raw_db)
    if not app_config.get("SECRET_KEY"):
        app_config["SECRET_KEY"] = secret_key(instance)
        app_config["SECRET_KEY_GENERATED"] = True  # this instance folder's own: not for several nodes
