"""Fixtures of the rules tests (the builders live in rules_helpers, importable by test modules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rules.model import RuleSet, ValidationContext
from rules.validate import validate_ruleset
from tests.rules.rules_helpers import doc, make_context


@pytest.fixture
def ctx() -> ValidationContext:
    return make_context()


@pytest.fixture
def build(ctx: ValidationContext) -> Callable[..., RuleSet]:
    """Validate rule documents into a RuleSet."""

    def make(*rules: dict[str, Any]) -> RuleSet:
        return validate_ruleset(doc(*rules), ctx)

    return make
