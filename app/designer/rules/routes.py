"""The rule designer, inside the case-type designer: admins build the routing rules of a case type's draft
with pickers (never syntax), try them on a sample case and back-test them on the last filed cases.

Each edit is one request: one step of rules.editing applied to the draft's rules, saved with the draft
revision the page showed (a stale page gets 409 and a reload link), answered with the re-rendered
workspace (its htmx partial) or, without htmx, a redirect. Trying and back-testing are
cases.rule_testing and cases.rule_backtest; nothing here writes a case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.auth import require_roles
from app.designer.drafts import answer, posted_revision, save_change
from app.designer.rules import actions as rule_actions
from app.designer.rules import conditions as rule_conditions
from app.designer.rules import posts as rule_posts
from app.designer.rules.actions import action_editor
from app.designer.rules.conditions import ConditionEditor
from app.designer.rules.posts import posted_action, sample_from_post
from app.designer.rules.testing import sample_panel
from app.designer.rules.webforms import backtest_form, new_rule_form, rule_input, settings_form
from app.designer.rules.workspace import Submitted, arity, build_workspace, dom_id
from app.extensions import db
from app.htmx import is_htmx, render
from case_types.errors import Conflict, ValidationFailed
from cases import definitions, rule_backtest, rule_testing
from cases.inputs import parse_count
from cases.models import Definition, Role
from rules import ACTIONS, TRIGGERS
from rules import editing as rule_editing
from rules.editing import RemovedRule, RuleEditError, RuleNotFound

bp = Blueprint("designer_rules", __name__, url_prefix="/designer/case-types/<int:definition_id>/rules")
require_roles(bp, Role.ADMIN)

KIND = "case_type"
PAGE, WORKSPACE = "designer/rules/index.html", "designer/rules/_workspace.html"


@dataclass
class Done:
    """What to show after an edit: the announcement, the rule to keep open, where keyboard focus goes."""

    notice: str
    selected: str | None = None
    focus: str = ""
    undo: RemovedRule | None = None
    open_action: int | None = None
    add_action_open: bool = False


Step = Callable[[dict[str, Any]], tuple[dict[str, Any], Done]]


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"triggers": TRIGGERS, "arity": arity, "dom_id": dom_id,
            "action_specs": lambda: list(ACTIONS.values())}


def _definition(definition_id: int) -> Definition:
    return definitions.get_definition(db.session, KIND, definition_id)


def _context(definition: Definition, **kwargs: Any) -> dict[str, Any]:
    """Everything the page shows: the workspace, the test panel and the back-test panel."""
    draft = rule_testing.draft_rules(db.session, definition)
    document = definitions.draft_document(definition)
    submitted = kwargs.pop("submitted", None)
    workspace = build_workspace(definition, draft, submitted=submitted, **kwargs)
    return {"definition": definition, "ws": workspace, "draft": draft, "oob_status": is_htmx(),
            "sample": sample_panel(draft, document, rule_testing.draft_form_schema(db.session, document)),
            "backtest_form": backtest_form(), "max_backtest": rule_backtest.MAX_BACKTEST}


def _workspace(definition: Definition, *, status: int = 200, **kwargs: Any) -> ResponseReturnValue:
    return render(PAGE, WORKSPACE, status=status, **_context(definition, **kwargs))


def _apply(definition: Definition, step: Step, *, selected: str | None = None,
           submitted: Submitted | None = None) -> ResponseReturnValue:
    """Apply one editing step to the draft's rules and save it with the page's revision."""
    def change(document: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules, done = step(rule_testing.rules_document(document))
        return rule_testing.with_rules(document, rules), done

    revision = posted_revision("expected_revision", "rs-expected_revision", "nr-expected_revision")
    try:
        _problems, done = save_change(definition, revision, change)
    except Conflict as exc:
        db.session.rollback()
        return _workspace(definition, status=409, conflict=exc.message)
    except RuleNotFound as exc:
        return _workspace(definition, status=404, alert=exc.message)
    except (RuleEditError, ValidationFailed) as exc:
        if submitted is not None and submitted.settings is not None and getattr(exc, "field", None):
            getattr(submitted.settings, str(exc.field)).errors.append(exc.message)  # type: ignore[attr-defined]
        elif submitted is not None and submitted.new_rule is not None and getattr(exc, "field", None):
            getattr(submitted.new_rule, str(exc.field)).errors.append(exc.message)  # type: ignore[attr-defined]
        return _workspace(definition, status=422, alert=exc.message, selected=selected, submitted=submitted)
    query = {"rule": done.selected} if done.selected else {}
    return answer(done.notice, page_url=url_for(".index", definition_id=definition.id, **query),
                  partial=lambda: _workspace(definition, selected=done.selected, notice=done.notice, undo=done.undo,
                                             focus=done.focus, open_action=done.open_action,
                                             add_action_open=done.add_action_open))


def _name(rules: dict[str, Any], rule_id: str) -> str:
    return str(rule_editing.find_rule(rules, rule_id).get("name") or rule_id)


def _where(rules: dict[str, Any], rule_id: str) -> str:
    position, count = rule_editing.position_of(rules, rule_id)
    trigger = rule_editing.find_rule(rules, rule_id).get("trigger")
    return f"rule {position} of {count} tried when {TRIGGERS.get(str(trigger), str(trigger))}"


# ---------------------------------------------------------------- the page


@bp.get("/")
def index(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    selected = request.args.get("rule") or None
    # Choosing a rule re-draws the workspace; keyboard focus stays on the rule that was chosen.
    focus = f"sel-{dom_id(selected)}" if selected and is_htmx() else ""
    return _workspace(definition, selected=selected, focus=focus)


@bp.post("/")
def add_rule(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = new_rule_form(0, submitted=True)
    if not form.validate():
        return _workspace(definition, status=422, submitted=Submitted(new_rule=form))

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules, rule_id = rule_editing.add_rule(rules, rule_input(form))
        return rules, Done(f"Rule “{_name(rules, rule_id)}” added as {_where(rules, rule_id)}. "
                           "Now say when it applies and what it does.", selected=rule_id, focus="rl-editor-h",
                           add_action_open=True)

    return _apply(definition, step, submitted=Submitted(new_rule=form))


@bp.post("/<rule_id>/settings")
def save_settings(definition_id: int, rule_id: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = settings_form({}, 0, submitted=True)
    submitted = Submitted(settings=form)
    if not form.validate():
        return _workspace(definition, status=422, selected=rule_id, submitted=submitted)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules = rule_editing.update_rule(rules, rule_id, rule_input(form))
        return rules, Done(f"Rule “{_name(rules, rule_id)}” saved.", selected=rule_id, focus="rs-save")

    return _apply(definition, step, selected=rule_id, submitted=submitted)


@bp.post("/move")
def reorder(definition_id: int) -> ResponseReturnValue:
    """Where a rule was dropped: ``rule`` goes to 0-based ``position`` among the rules of its trigger."""
    return move_rule(definition_id, request.form.get("rule", ""))


@bp.post("/<rule_id>/move")
def move_rule(definition_id: int, rule_id: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    direction = request.form.get("direction")
    position = request.form.get("position", type=int)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        if direction in ("up", "down"):
            rules = rule_editing.move_rule(rules, rule_id, -1 if direction == "up" else 1)
            focus = f"move-{dom_id(rule_id)}-{direction}"
        else:
            rules = rule_editing.move_rule_to(rules, rule_id, position or 0)
            focus = f"sel-{dom_id(rule_id)}"
        return rules, Done(f"“{_name(rules, rule_id)}” is now {_where(rules, rule_id)}.",
                           selected=request.form.get("selected") or None, focus=focus)

    return _apply(definition, step, selected=request.form.get("selected") or None)


@bp.post("/<rule_id>/duplicate")
def duplicate_rule(definition_id: int, rule_id: str) -> ResponseReturnValue:
    definition = _definition(definition_id)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules, copy_id = rule_editing.duplicate_rule(rules, rule_id)
        return rules, Done(f"Copied as “{_name(rules, copy_id)}”, {_where(rules, copy_id)}. The copy is off "
                           "until you change it and switch it on.", selected=copy_id, focus="rl-editor-h")

    return _apply(definition, step, selected=rule_id)


@bp.post("/<rule_id>/delete")
def delete_rule(definition_id: int, rule_id: str) -> ResponseReturnValue:
    definition = _definition(definition_id)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        name = _name(rules, rule_id)
        rules, removed = rule_editing.delete_rule(rules, rule_id)
        return rules, Done(f"Rule “{name}” deleted.", undo=removed, focus="undo-button")

    return _apply(definition, step)


@bp.post("/restore")
def restore_rule(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        removed = RemovedRule.from_json(request.form.get("removed", ""))
        rules, rule_id = rule_editing.restore_rule(rules, removed)
        return rules, Done(f"Rule “{_name(rules, rule_id)}” is back, {_where(rules, rule_id)}.", selected=rule_id,
                           focus=f"sel-{dom_id(rule_id)}")

    return _apply(definition, step)


# ---------------------------------------------------------------- the condition


def _builder(definition: Definition, rule_id: str) -> tuple[Any, list[Any]]:
    """The condition builder as posted, with what the rule's trigger lets it test (RuleNotFound if gone)."""
    draft = rule_testing.draft_rules(db.session, definition)
    rule = rule_editing.find_rule(draft.document, rule_id)
    fields = rule_conditions.condition_fields(draft.context, str(rule.get("trigger")))
    return rule_posts.builder_from_post(request.values, fields), fields


@bp.get("/<rule_id>/condition")
def condition_builder(definition_id: int, rule_id: str) -> ResponseReturnValue:
    """The condition's pickers re-drawn for what was chosen so far (nothing is saved)."""
    definition = _definition(definition_id)
    try:
        state, fields = _builder(definition, rule_id)
    except RuleNotFound as exc:
        raise ValidationFailed(exc.message) from None
    condition = ConditionEditor(state=state, fields=fields, problems=[], rows={})
    return render_template("designer/rules/_condition.html", definition=definition, rule_id=rule_id,
                           cond=condition, revision=definition.draft_revision, arity=arity)


@bp.post("/<rule_id>/condition")
def set_condition(definition_id: int, rule_id: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    try:
        state, fields = _builder(definition, rule_id)
    except RuleNotFound as exc:
        return _workspace(definition, status=404, alert=exc.message)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        condition = rule_conditions.condition_from_builder(state, fields)
        rules = rule_editing.set_condition(rules, rule_id, condition)
        words = "It now applies to every case." if rule_conditions.is_always(condition) else "Condition saved."
        return rules, Done(f"“{_name(rules, rule_id)}”: {words}", selected=rule_id, focus="rl-cond-apply")

    return _apply(definition, step, selected=rule_id, submitted=Submitted(condition=state))


# ---------------------------------------------------------------- actions


@bp.get("/<rule_id>/action-form")
def action_form(definition_id: int, rule_id: str) -> ResponseReturnValue:
    """One action's inputs re-drawn for the action chosen (nothing is saved)."""
    definition = _definition(definition_id)
    slot = request.args.get("slot", "new")
    slot = slot if slot == "new" or parse_count(slot) is not None else "new"
    kind, values = posted_action(request.args, f"a{slot}-")
    draft = rule_testing.draft_rules(db.session, definition)
    editor = action_editor(slot, kind, values, draft, index=parse_count(slot))
    return render_template("designer/rules/_action_form.html", definition=definition, rule_id=rule_id,
                           act=editor, revision=definition.draft_revision)


def _posted_action(slot: str) -> tuple[str, dict[str, Any], Submitted]:
    kind, values = posted_action(request.form, f"a{slot}-")
    return kind, values, Submitted(action_slot=slot, action_kind=kind, action_values=values)


@bp.post("/<rule_id>/actions")
def add_action(definition_id: int, rule_id: str) -> ResponseReturnValue:
    definition = _definition(definition_id)
    kind, values, submitted = _posted_action("new")

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules, index = rule_editing.add_action(rules, rule_id, rule_actions.action_from_inputs(kind, values))
        label = ACTIONS[kind].label
        return rules, Done(f"“{label}” added to “{_name(rules, rule_id)}”.", selected=rule_id,
                           focus=f"act-{index}-h")

    return _apply(definition, step, selected=rule_id, submitted=submitted)


@bp.post("/<rule_id>/actions/<int:index>")
def save_action(definition_id: int, rule_id: str, index: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    kind, values, submitted = _posted_action(str(index))

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules = rule_editing.update_action(rules, rule_id, index, rule_actions.action_from_inputs(kind, values))
        return rules, Done(f"Action {index + 1} of “{_name(rules, rule_id)}” saved.", selected=rule_id,
                           focus=f"act-{index}-h")

    return _apply(definition, step, selected=rule_id, submitted=submitted)


@bp.post("/<rule_id>/actions/<int:index>/remove")
def remove_action(definition_id: int, rule_id: str, index: int) -> ResponseReturnValue:
    definition = _definition(definition_id)

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules = rule_editing.remove_action(rules, rule_id, index)
        return rules, Done(f"Action {index + 1} removed from “{_name(rules, rule_id)}”.", selected=rule_id,
                           focus="rl-actions-h")

    return _apply(definition, step, selected=rule_id)


@bp.post("/<rule_id>/actions/<int:index>/move")
def move_action(definition_id: int, rule_id: str, index: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    up = request.form.get("direction") == "up"

    def step(rules: dict[str, Any]) -> tuple[dict[str, Any], Done]:
        rules = rule_editing.move_action(rules, rule_id, index, -1 if up else 1)
        actions = rule_editing.find_rule(rules, rule_id).get("actions") or []
        to = max(0, min(index + (-1 if up else 1), len(actions) - 1))
        return rules, Done(f"Action moved to position {to + 1}.", selected=rule_id,
                           focus=f"act-{to}-{'up' if up else 'down'}")

    return _apply(definition, step, selected=rule_id)


# ---------------------------------------------------------------- trying the draft


def _page_or_panel(definition: Definition, partial: str, status: int, **panels: Any) -> ResponseReturnValue:
    """The panel for htmx; without htmx the whole page, with the panel's answer in it."""
    if is_htmx():
        context = {"definition": definition, **panels}
        return render(partial, partial, status=status, **context)
    context = _context(definition)
    context.update(panels)
    return render(PAGE, status=status, **context)


@bp.post("/test")
def try_sample(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    document = definitions.draft_document(definition)
    schema = rule_testing.draft_form_schema(db.session, document)
    trigger, sample = sample_from_post(request.form, schema)
    simulation = rule_testing.simulate_draft(db.session, definition, document, trigger=trigger, sample=sample)
    draft = rule_testing.draft_rules(db.session, definition)
    panel = sample_panel(draft, document, schema, post=request.form, sample=sample, trigger=trigger,
                            errors=simulation.errors)
    return _page_or_panel(definition, "designer/rules/_test.html", 422 if simulation.errors else 200,
                          sample=panel, simulation=simulation)


@bp.post("/backtest")
def backtest(definition_id: int) -> ResponseReturnValue:
    definition = _definition(definition_id)
    form = backtest_form(submitted=True)
    if not form.validate():
        return _page_or_panel(definition, "designer/rules/_backtest.html", 422, backtest_form=form,
                              max_backtest=rule_backtest.MAX_BACKTEST)
    report = rule_backtest.backtest_draft(db.session, definition, definitions.draft_document(definition),
                                         limit=int(form.limit.data or rule_backtest.DEFAULT_BACKTEST),
                                         trigger=form.trigger.data or "case.submitted")
    return _page_or_panel(definition, "designer/rules/_backtest.html", 200, backtest_form=form, report=report,
                          max_backtest=rule_backtest.MAX_BACKTEST)
