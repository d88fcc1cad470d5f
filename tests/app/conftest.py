"""Web-layer fixtures: the complaint form and case type published by the real services."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.complaint import publish_complaint


@pytest.fixture
def complaint_app(app: Any, demo_users: Any) -> Any:
    publish_complaint(app)
    return app
