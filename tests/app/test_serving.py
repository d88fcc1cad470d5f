"""`casework serve`: one waitress process by default; gunicorn workers only with shared settings."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_config, need

ROOT = Path(__file__).resolve().parents[2]


def test_several_processes_need_a_shared_secret_key_and_redis(tmp_path: Path) -> None:
    from app import create_app

    config = make_config(f"sqlite:///{tmp_path / 'x.db'}")
    config.pop("SECRET_KEY")
    app = create_app(config)
    assert app.config["SECRET_KEY_GENERATED"] is True
    result = app.test_cli_runner().invoke(args=["serve", "--workers", "2"])
    assert result.exit_code != 0
    assert "SECRET_KEY" in result.output and "REDIS_URL" in result.output and "--workers 1" in result.output
    shared = create_app(make_config(f"sqlite:///{tmp_path / 'x.db'}"))  # SECRET_KEY given, no Redis
    result = shared.test_cli_runner().invoke(args=["serve", "--workers", "0"])
    if (os.cpu_count() or 1) > 1:
        assert result.exit_code != 0 and "REDIS_URL" in result.output and "SECRET_KEY (" not in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback test server
        return response.status, response.read().decode()


@pytest.mark.redis
def test_gunicorn_workers_serve_and_add_up_their_metrics(sqlite_template: Path, tmp_path: Path) -> None:
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable: {exc}")
    database = tmp_path / "casework.db"
    shutil.copy(sqlite_template, database)
    port = _free_port()
    env = {**os.environ, "CASEWORK_INSTANCE": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{database}",
           "SECRET_KEY": "shared-secret-key-of-sufficient-length", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    casework = str(Path(sys.executable).parent / "casework")
    server = subprocess.Popen([casework, "serve", "--workers", "2", "--threads", "2", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not come up")
        for _ in range(40):
            assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        status, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        counted = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                      if s.name == "casework_http_requests_total" and s.labels.get("route") == "/healthz")
        assert counted >= 40
        assert list((tmp_path / "instance" / "metrics").glob("counter_*.db"))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output: Any = server.communicate(timeout=30)[0]
    assert "with 2 processes" in output
    assert output.count("Booting worker with pid") == 2, output[-3000:]  # gunicorn's two workers
