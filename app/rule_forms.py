"""Forms of the rule designer and the view model of its pages (presentation only).

Editing the rules is `rules.editing`; reading the draft's rules, trying and back-testing them is
`cases.rule_testing`. This module turns the draft's rules, their problems and what they may refer to
into the cards, pickers and inputs the templates render, and reads submitted inputs back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import wtforms
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from app.designer.forms.builder import BuilderState, CondField, operators_for
from app.designer.forms.posts import Post
from app.designer.rules import actions as rule_actions
from app.designer.rules import conditions as rule_conditions
from app.designer.rules import posts as rule_posts
from app.designer.rules import problems as rule_problems
from app.designer.rules.actions import ActionSetting
from app.designer.rules.problems import RuleProblems
from cases.inputs import parse_count
from cases.models import Definition
from cases.rule_testing import DEFAULT_BACKTEST, MAX_BACKTEST, DraftRules, SampleCase
from forms.conditions import OPERATORS
from forms.schema import FormSchema
from forms.wtf import build_form_class
from rules import ACTIONS, CASE_PRIORITIES, TRIGGERS, describe_action, validate_action
from rules import editing as rule_editing
from rules.editing import RemovedRule
from rules.model import PRIORITY_LABELS, SLA_KIND_LABELS, SLA_KINDS
from rules.validate import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS

TRIGGER_CHOICES = [SelectChoice(key, f"When {phrase}") for key, phrase in TRIGGERS.items()]
SKIPPED_FAMILIES = ("file", "group")
"""Sample answers the test panel cannot take (files, repeating rows)."""


class RuleSettingsForm(FlaskForm):
    """A rule's name, trigger, on/off and description; the draft revision makes a stale page a clear 409."""

    expected_revision = IntegerField("Draft revision", widget=HiddenInput(), validators=[InputRequired()])
    name = StringField("Name", validators=[DataRequired("Enter a name for the rule."), Length(max=MAX_NAME_CHARS)],
                       description="What the rule is for, e.g. “Large invoices need the CFO”.")
    trigger = SelectField("Runs", choices=TRIGGER_CHOICES, validators=[DataRequired()],
                          description="Each time this happens, the first matching rule of the trigger fires.")
    enabled = BooleanField("On (a rule that is off never fires, but is kept)")
    description = TextAreaField("Notes", validators=[Optional(), Length(max=MAX_DESCRIPTION_CHARS)],
                                description="Why the rule exists; only designers see it.")


class NewRuleForm(FlaskForm):
    expected_revision = IntegerField("Draft revision", widget=HiddenInput(), validators=[InputRequired()])
    name = StringField("Name", validators=[DataRequired("Enter a name for the rule."), Length(max=MAX_NAME_CHARS)],
                       description="E.g. “Large invoices need the CFO”. Its condition and actions come next.")
    trigger = SelectField("Runs", choices=TRIGGER_CHOICES, default="case.submitted", validators=[DataRequired()])


class BacktestForm(FlaskForm):
    limit = IntegerField("Cases to try", default=DEFAULT_BACKTEST,
                         validators=[InputRequired("Enter how many cases to try."),
                                     NumberRange(1, MAX_BACKTEST, f"Enter a number from 1 to {MAX_BACKTEST}.")],
                         description=f"The most recently filed cases of this type, at most {MAX_BACKTEST:,}.")
    trigger = SelectField("Trigger", choices=TRIGGER_CHOICES, default="case.submitted", validators=[DataRequired()])


def settings_form(rule: Mapping[str, Any], revision: int, *, submitted: bool = False) -> RuleSettingsForm:
    if submitted:
        return RuleSettingsForm(prefix="rs")
    return RuleSettingsForm(prefix="rs", formdata=None, data={
        "expected_revision": revision, "name": rule.get("name") if isinstance(rule.get("name"), str) else "",
        "trigger": rule.get("trigger") if rule.get("trigger") in TRIGGERS else "case.submitted",
        "enabled": rule.get("enabled", True) is not False,
        "description": rule.get("description") if isinstance(rule.get("description"), str) else ""})


def new_rule_form(revision: int, *, submitted: bool = False) -> NewRuleForm:
    if submitted:
        return NewRuleForm(prefix="nr")
    return NewRuleForm(prefix="nr", formdata=None, data={"expected_revision": revision, "name": "",
                                                          "trigger": "case.submitted"})


def backtest_form(*, submitted: bool = False) -> BacktestForm:
    if submitted:
        return BacktestForm(prefix="bt")
    return BacktestForm(prefix="bt", formdata=None, data={"limit": DEFAULT_BACKTEST, "trigger": "case.submitted"})


def rule_input(form: RuleSettingsForm | NewRuleForm) -> rule_editing.RuleInput:
    enabled = bool(form.enabled.data) if isinstance(form, RuleSettingsForm) else True
    description = (form.description.data or "") if isinstance(form, RuleSettingsForm) else ""
    return rule_editing.RuleInput(name=form.name.data or "", trigger=form.trigger.data or "",
                                  enabled=enabled, description=description)


def dom_id(rule_id: str) -> str:
    """An HTML id fragment for a rule id (ids may hold '.' and ':', which selectors dislike)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", rule_id)


def arity(op: str) -> str:
    return OPERATORS[op].arity if op in OPERATORS else "one"


# ---------------------------------------------------------------- actions


@dataclass
class SettingInput:
    """One input of an action's editor, with its current value, its choices and its problems."""

    setting: ActionSetting
    value: Any
    choices: list[tuple[str, str]]
    problems: list[str]
    applies: bool

    @property
    def name(self) -> str:
        return self.setting.name


@dataclass
class ActionEditor:
    """The editor of one action (``slot`` is its index, or "new" for the one being added)."""

    slot: str
    kind: str
    inputs: list[SettingInput]
    problems: list[str] = field(default_factory=list)
    description: str = ""
    index: int | None = None
    last: bool = False

    @property
    def prefix(self) -> str:
        return f"a{self.slot}-"

    @property
    def dom(self) -> str:
        return f"act-{self.slot}"

    @property
    def label(self) -> str:
        spec = ACTIONS.get(self.kind)
        return spec.label if spec else "Action"


def _with_current(choices: list[tuple[str, str]], value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str) and value and value not in {v for v, _l in choices}:
        return [*choices, (value, f"{value} (not available)")]
    return choices


def action_editor(slot: str, kind: str, values: Mapping[str, Any], draft: DraftRules,
                  problems: Mapping[str, list[str]] | None = None, *, index: int | None = None,
                  stored: Mapping[str, Any] | None = None, last: bool = False) -> ActionEditor:
    problems = problems or {}
    inputs = []
    for setting in rule_actions.ACTION_SETTINGS.get(kind, ()):
        choices = _with_current(rule_actions.setting_choices(setting, draft.context), values.get(setting.name))
        inputs.append(SettingInput(setting, values.get(setting.name, ""), choices,
                                   list(problems.get(setting.name, [])), rule_actions.applies(setting, values)))
    description = ""
    if stored is not None:
        action, found = validate_action(dict(stored), draft.context, "action")
        if action is not None and not found:
            description = describe_action(action, draft.context)
    known = {s.name for s in rule_actions.ACTION_SETTINGS.get(kind, ())}
    leftover = [m for name, ms in problems.items() if name and name not in known for m in ms]
    return ActionEditor(slot=slot, kind=kind, inputs=inputs, problems=[*problems.get("", []), *leftover],
                        description=description, index=index, last=last)


def posted_action(post: Post, prefix: str) -> tuple[str, dict[str, Any]]:
    """(action kind, editor values) of an action form as posted."""
    kind = str(post.get(f"{prefix}type") or "")
    if kind not in ACTIONS:
        kind = ""
    return kind, rule_posts.inputs_from_post(kind, post, prefix) if kind else {}


# ---------------------------------------------------------------- the condition builder


@dataclass
class ConditionEditor:
    state: BuilderState
    fields: list[CondField]
    problems: list[str]
    rows: dict[int, list[str]]

    @property
    def form_fields(self) -> list[CondField]:
        return [f for f in self.fields if not rule_conditions.is_attribute(f.key)]

    @property
    def case_fields(self) -> list[CondField]:
        return [f for f in self.fields if rule_conditions.is_attribute(f.key)]

    def field(self, key: str) -> CondField | None:
        return next((f for f in self.fields if f.key == key), None)

    def operators(self, key: str, current: str) -> list[tuple[str, str]]:
        found = self.field(key)
        return operators_for(found.family) if found else [(current, current)]

    @staticmethod
    def windowed(key: str) -> bool:
        return rule_conditions.is_windowed(key)


# ---------------------------------------------------------------- the workspace


@dataclass
class RuleCard:
    index: int
    rule: Mapping[str, Any]
    rule_id: str | None
    name: str
    trigger: str
    enabled: bool
    position: int
    count: int
    summary: str | None
    problems: RuleProblems
    selected: bool = False

    @property
    def dom(self) -> str:
        return dom_id(self.rule_id) if self.rule_id else f"i{self.index}"

    @property
    def first(self) -> bool:
        return self.position == 1

    @property
    def last(self) -> bool:
        return self.position == self.count


@dataclass
class TriggerGroup:
    trigger: str
    phrase: str
    cards: list[RuleCard]


@dataclass
class RuleEditor:
    card: RuleCard
    settings: RuleSettingsForm
    condition: ConditionEditor
    actions: list[ActionEditor]
    new_action: ActionEditor
    add_open: bool = False
    open_action: int | None = None


@dataclass
class Workspace:
    definition: Definition
    draft: DraftRules
    groups: list[TriggerGroup]
    overall: list[str]
    problem_links: list[tuple[str, str, str]]
    """(anchor, where, message) of every problem, for the summary at the top."""
    editor: RuleEditor | None
    new_rule: NewRuleForm
    notice: str = ""
    undo: RemovedRule | None = None
    alert: str = ""
    conflict: str = ""
    focus: str = ""

    @property
    def revision(self) -> int:
        return self.definition.draft_revision

    @property
    def rule_count(self) -> int:
        return sum(len(g.cards) for g in self.groups)


@dataclass
class Submitted:
    """What was just submitted and refused, so it is shown again with its errors where it was."""

    settings: RuleSettingsForm | None = None
    new_rule: NewRuleForm | None = None
    condition: BuilderState | None = None
    action_slot: str | None = None
    action_kind: str = ""
    action_values: Mapping[str, Any] | None = None


def _text(value: Any, fallback: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else fallback


def build_workspace(definition: Definition, draft: DraftRules, *, selected: str | None = None,
                    submitted: Submitted | None = None, notice: str = "", undo: RemovedRule | None = None,
                    alert: str = "", conflict: str = "", focus: str = "", open_action: int | None = None,
                    add_action_open: bool = False) -> Workspace:
    """The cards of every rule by trigger, the problems in place, and the editor of the selected rule."""
    submitted = submitted or Submitted()
    rules = rule_editing.rules_of(draft.document)
    overall, by_index = rule_problems.sort_problems([(p.path, p.message) for p in draft.problems])
    groups: list[TriggerGroup] = []
    cards_by_index: dict[int, RuleCard] = {}
    for trigger, phrase in TRIGGERS.items():
        order = rule_editing.trigger_order(draft.document, trigger)
        cards = []
        for position, index in enumerate(order, start=1):
            raw = rules[index]
            rule_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            card = RuleCard(index=index, rule=raw, rule_id=rule_id, name=_text(raw.get("name"), f"Rule {index + 1}"),
                            trigger=trigger, enabled=raw.get("enabled", True) is not False, position=position,
                            count=len(order), summary=draft.summaries.get(rule_id or ""),
                            problems=by_index.get(index, RuleProblems()),
                            selected=bool(selected) and rule_id == selected)
            cards.append(card)
            cards_by_index[index] = card
        groups.append(TriggerGroup(trigger, phrase, cards))
    # Rules with a trigger that does not exist cannot be placed in a group; their problems say so.
    for index, raw in enumerate(rules):
        if index not in cards_by_index and isinstance(raw, Mapping):
            overall.extend(by_index.get(index, RuleProblems()).all_messages()
                           or [f"Rule {index + 1} has no trigger Casework knows."])
        elif not isinstance(raw, Mapping):
            overall.append(f"Rule {index + 1} is not a rule (an object with a name, a trigger, a condition "
                           "and actions).")
    links = [("rl-list-h", "Rules", m) for m in overall]
    for _index, card in sorted(cards_by_index.items()):
        for message in card.problems.all_messages():
            links.append((f"rule-{card.dom}", f"Rule “{card.name}”", message))
    chosen = next((c for c in cards_by_index.values() if c.selected), None)
    editor = _editor(chosen, draft, definition.draft_revision, submitted, open_action, add_action_open) \
        if chosen is not None else None
    return Workspace(definition=definition, draft=draft, groups=groups, overall=overall, problem_links=links,
                     editor=editor, new_rule=submitted.new_rule or new_rule_form(definition.draft_revision),
                     notice=notice, undo=undo, alert=alert, conflict=conflict, focus=focus)


def _editor(card: RuleCard, draft: DraftRules, revision: int, submitted: Submitted, open_action: int | None,
            add_open: bool) -> RuleEditor:
    rule = card.rule
    fields = rule_conditions.condition_fields(draft.context, card.trigger)
    state = submitted.condition or rule_conditions.builder_state(rule.get("condition"))
    condition = ConditionEditor(state=state, fields=fields, problems=card.problems.condition,
                                rows=card.problems.rows)
    stored = rule.get("actions") if isinstance(rule.get("actions"), list) else []
    actions = []
    for i, action in enumerate(stored):
        slot = str(i)
        if not isinstance(action, Mapping):
            actions.append(ActionEditor(slot, "", [], ["This action cannot be read; remove it."], index=i))
            continue
        if submitted.action_slot == slot and submitted.action_values is not None:
            kind, values = submitted.action_kind, submitted.action_values
        else:
            kind, values = str(action.get("type") or ""), rule_actions.action_inputs(action)
        problems = card.problems.per_action.get(i, {})
        actions.append(action_editor(slot, kind, values, draft, problems, index=i, stored=action,
                                     last=i == len(stored) - 1))
    if submitted.action_slot == "new" and submitted.action_values is not None:
        new_action = action_editor("new", submitted.action_kind, submitted.action_values, draft)
    else:
        new_action = action_editor("new", "", {}, draft)
    settings = submitted.settings or settings_form(rule, revision)
    return RuleEditor(card=card, settings=settings, condition=condition, actions=actions, new_action=new_action,
                      add_open=add_open or not stored or submitted.action_slot == "new",
                      open_action=open_action if submitted.action_slot is None else
                      parse_count(submitted.action_slot))


# ---------------------------------------------------------------- the test panel


@dataclass
class SamplePanel:
    """The sample case's inputs: the form's own fields, and the case's attributes."""

    form: wtforms.Form | None
    attributes: SampleCase
    trigger: str
    errors: dict[str, str]
    states: list[tuple[str, str]]
    queues: list[tuple[str, str]]
    transitions: list[tuple[str, str]]
    priorities: list[tuple[str, str]] = field(
        default_factory=lambda: [(p, PRIORITY_LABELS[p]) for p in CASE_PRIORITIES])
    sla_kinds: list[tuple[str, str]] = field(default_factory=lambda: [(k, SLA_KIND_LABELS[k]) for k in SLA_KINDS])

    def items(self) -> list[Any]:
        """The sample form's inputs, without those a sample cannot hold (files, repeating rows)."""
        if self.form is None:
            return []
        layout = self.form.layout()  # type: ignore[attr-defined]
        return [item for item in layout if item.spec.takes_input and item.spec.family not in SKIPPED_FAMILIES]

    def skipped(self) -> list[str]:
        if self.form is None:
            return []
        layout = self.form.layout()  # type: ignore[attr-defined]
        return [item.spec.display_label for item in layout
                if item.spec.takes_input and item.spec.family in SKIPPED_FAMILIES]


ATTRIBUTE_INPUTS = ("state", "queue", "priority", "age_hours", "tags", "transition", "sla_kind", "earlier_cases")


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


def sample_panel(draft: DraftRules, draft_document: Mapping[str, Any], schema: FormSchema | None, *,
               post: Post | None = None, sample: SampleCase | None = None, trigger: str = "case.submitted",
               errors: Mapping[str, str] | None = None) -> SamplePanel:
    """The test panel, fresh (the case type's defaults) or as submitted (with its errors)."""
    form = None
    if schema is not None:
        cls = build_form_class(schema, base=wtforms.Form)
        form = cls(formdata=post) if post is not None else cls()
        for key, message in (errors or {}).items():
            if key in form._fields:
                form.apply_errors({key: [message]})  # type: ignore[attr-defined]
    ctx = draft.context
    if sample is None:
        states = [s for s in draft_document.get("states") or [] if isinstance(s, Mapping)]
        initial = next((s.get("key") for s in states if s.get("kind") == "initial"), "")
        default_queue = draft_document.get("default_queue")
        sample = SampleCase(state=initial if isinstance(initial, str) else "",
                            queue=default_queue if isinstance(default_queue, str) else "", priority="normal",
                            age_hours="0", earlier_cases="0")
    return SamplePanel(
        form=form, attributes=sample, trigger=trigger if trigger in TRIGGERS else "case.submitted",
        errors={k: v for k, v in (errors or {}).items() if k in ATTRIBUTE_INPUTS},
        states=[(s, ctx.state_labels.get(s, s)) for s in ctx.states],
        queues=[(q, ctx.queue_labels.get(q, q)) for q in ctx.queues],
        transitions=[(t, ctx.transition_labels.get(t, t)) for t in ctx.transitions],
    )
