"""`casework serve`: one waitress process (the embedded default), or gunicorn worker processes.

Several processes need what they share to live outside each of them: the secret key that signs
session cookies (a key generated into one instance folder would differ per node) and Redis for jobs,
login limits and the SLA and outbox schedules (each process would otherwise keep its own). `serve`
refuses to start more than one process without both, and says what to set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask

from app.extensions import db
from cases.database import checkpoint


def worker_count(requested: int) -> int:
    """0 means one process per core."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def scale_out_problems(config: dict[str, Any]) -> list[str]:
    """What must be set before several processes may serve this installation."""
    problems = []
    if not config.get("SECRET_KEY") or config.get("SECRET_KEY_GENERATED"):
        problems.append("SECRET_KEY (in the environment or instance/config.py, the same value on every "
                        "process and node; the key generated into this instance folder is this node's alone)")
    if not config.get("REDIS_URL"):
        problems.append("REDIS_URL (jobs, login limits and the SLA and outbox schedules shared by every process)")
    if sys.platform == "win32":
        problems.append("a Unix system: several processes are served by gunicorn, which does not run on Windows")
    return problems


def clear_metrics_folder() -> None:
    """Counters of processes from an earlier run would otherwise be added to this run's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    for entry in Path(folder).glob("*.db"):
        entry.unlink(missing_ok=True)


def serve_waitress(app: Flask, *, host: str, port: int, threads: int) -> None:
    from waitress import serve

    try:
        # channel_request_lookahead lets a request see that its client hung up (app.overload).
        serve(app, host=host, port=port, threads=threads, ident="casework", channel_request_lookahead=5)
    finally:
        with app.app_context():
            checkpoint(db.engine)


def serve_gunicorn(app: Flask, *, host: str, port: int, workers: int, threads: int) -> None:
    """gunicorn with `workers` forked processes of `threads` threads each, serving this (pre-loaded) app."""
    from gunicorn.app.base import BaseApplication

    with app.app_context():
        db.engine.dispose()  # no connection may be shared across the fork

    def post_fork(_server: Any, _worker: Any) -> None:
        with app.app_context():
            db.engine.dispose(close=False)

    def child_exit(_server: Any, worker: Any) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)

    options = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": threads,
        "timeout": 120, "graceful_timeout": 30, "post_fork": post_fork, "child_exit": child_exit,
        "accesslog": None, "errorlog": "-", "proc_name": "casework",
    }

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    _Gunicorn().run()


def serve(app: Flask, *, host: str, port: int, threads: int, workers: int) -> None:
    processes = worker_count(workers)
    if processes > 1:
        problems = scale_out_problems(app.config)
        if problems:
            raise click.ClickException(f"Serving with {processes} processes needs settings they all share. Set:\n"
                                       + "\n".join(f"  - {p}" for p in problems)
                                       + "\nor serve with one process (--workers 1).")
        if not _has_gunicorn():
            raise click.ClickException("Several processes are served by gunicorn: pip install gunicorn.")
    clear_metrics_folder()
    click.echo(f"Casework is serving on http://{host}:{port}/ with {processes} "
               f"{'process' if processes == 1 else 'processes'} (Ctrl+C to stop)")
    if processes == 1:
        serve_waitress(app, host=host, port=port, threads=threads)
    else:
        serve_gunicorn(app, host=host, port=port, workers=processes, threads=threads)


def _has_gunicorn() -> bool:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True
