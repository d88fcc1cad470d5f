"""Calling the running app as a person or an API client would."""

from __future__ import annotations

from typing import Any


def token_for(app: Any, email: str) -> dict[str, str]:
    """An API token for `email`, made with the CLI, as request headers."""
    result = app.test_cli_runner().invoke(args=["token", "create", email])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.split()[-1]}"}
