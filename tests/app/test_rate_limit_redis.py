"""With Redis configured, the login limit is shared by every server process, not counted per process."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.conftest import Web, make_config, need

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable at {REDIS}: {exc}")
    return REDIS


@pytest.mark.redis
def test_failed_logins_are_counted_across_processes(database_url: str, redis_url: str) -> None:
    from app import create_app

    prefix = f"cw-test-{uuid.uuid4().hex}"  # fresh counters for this test
    config = make_config(database_url, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
                         RATELIMIT_KEY_PREFIX=prefix)
    first, second = create_app(config), create_app(config)
    assert first.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    a, b = Web(first.test_client()), Web(second.test_client())
    for web in (a, b) * 5:
        assert web.post("/login", {"email": "admin@example.com", "password": "wrong"}).status_code == 401
    assert a.post("/login", {"email": "admin@example.com", "password": "casework-demo"}).status_code == 429
    assert b.post("/login", {"email": "admin@example.com", "password": "casework-demo"}).status_code == 429


def test_redis_url_makes_redis_the_limit_store(database_url: str) -> None:
    from app import create_app

    app: Any = create_app(make_config(database_url, REDIS_URL="redis://127.0.0.1:6379/3"))
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
