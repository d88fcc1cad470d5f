"""Reading the rule designer's posted inputs: an action's settings (``<prefix><setting>``) and the condition
builder's rows (the form designer's, plus ``days-<i>``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.designer.forms import posts as forms_posts
from app.designer.forms.builder import BuilderState, CondField
from app.designer.forms.posts import Post
from app.designer.rules.actions import ACTION_SETTINGS
from app.designer.rules.conditions import rule_rows
from app.designer.rules.testing import ATTRIBUTE_INPUTS, SKIPPED_FAMILIES
from cases.rule_testing import SampleCase
from forms.schema import FormSchema
from rules.actions import ACTIONS, RECIPIENTS


def inputs_from_post(kind: str, post: Post, prefix: str = "") -> dict[str, Any]:
    """The editor's values of one action as posted (inputs named ``<prefix><setting>``)."""
    values: dict[str, Any] = {}
    for setting in ACTION_SETTINGS.get(kind, ()):
        name = f"{prefix}{setting.name}"
        if setting.kind == "flag":
            values[setting.name] = str(post.get(name) or "") in ("1", "y", "on", "true")
        elif setting.kind == "mode":
            chosen = str(post.get(name) or "")
            allowed = [value for value, _label in setting.choices]
            values[setting.name] = chosen if chosen in allowed else allowed[0]
        else:
            raw = post.get(name)
            values[setting.name] = raw if isinstance(raw, str) else ""
    for setting in ACTION_SETTINGS.get(kind, ()):
        if setting.kind == "recipient" and values.get(setting.name) not in RECIPIENTS:
            values[setting.name] = "requester"
    return values


def builder_from_post(post: Post, fields: Sequence[CondField]) -> BuilderState:
    """The builder as posted (the form designer's rows plus ``days-<i>``); ``action`` adds or removes a row."""
    try:
        count = max(0, min(int(post.get("rows") or 0), 50))
    except (TypeError, ValueError):
        count = 0
    days = [str(post.get(f"days-{i}") or "") for i in range(count)]
    action = str(post.get("action") or "")
    state = forms_posts.builder_from_post(post, fields)
    if action.startswith("remove-") and action.removeprefix("remove-").isdigit():
        index = int(action.removeprefix("remove-"))
        if index < len(days):
            del days[index]
    state.rows = list(rule_rows(state, days))
    return state


def posted_action(post: Post, prefix: str) -> tuple[str, dict[str, Any]]:
    """(action kind, editor values) of an action form as posted."""
    kind = str(post.get(f"{prefix}type") or "")
    if kind not in ACTIONS:
        kind = ""
    return kind, inputs_from_post(kind, post, prefix) if kind else {}


def sample_from_post(post: Post, schema: FormSchema | None) -> tuple[str, SampleCase]:
    """(trigger, sample case) from the test panel's inputs (``tp-*`` for the case, the form's own keys)."""
    answers: dict[str, Any] = {}
    for spec in schema.fields if schema else ():
        if not spec.takes_input or spec.family in (None, *SKIPPED_FAMILIES):
            continue
        if spec.family == "multi":
            answers[spec.key] = [v for v in post.getlist(spec.key) if isinstance(v, str)]
        elif spec.key in post:
            answers[spec.key] = post.get(spec.key)
    values = {name: str(post.get(f"tp-{name}") or "") for name in ATTRIBUTE_INPUTS}
    trigger = str(post.get("tp-trigger") or "case.submitted")
    return trigger, SampleCase(answers=answers, **values)
