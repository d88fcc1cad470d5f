"""The rule designer's workspace: the cards of every rule by trigger, the problems in place, and the editor
of the selected rule (its settings, condition and actions).

Editing the rules is ``rules.editing``; reading the draft's rules, trying and back-testing them is
``cases.rule_testing``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.designer.forms.builder import BuilderState
from app.designer.rules.actions import ActionEditor, action_editor, action_inputs
from app.designer.rules.conditions import ConditionEditor, builder_state, condition_fields
from app.designer.rules.problems import RuleProblems, sort_problems
from app.designer.rules.webforms import NewRuleForm, RuleSettingsForm, new_rule_form, settings_form
from cases.inputs import parse_count
from cases.models import Definition
from cases.rule_testing import DraftRules
from forms.conditions import OPERATORS
from rules import TRIGGERS
from rules import editing as rule_editing
from rules.editing import RemovedRule


def dom_id(rule_id: str) -> str:
    """An HTML id fragment for a rule id (ids may hold '.' and ':', which selectors dislike)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", rule_id)


def arity(op: str) -> str:
    return OPERATORS[op].arity if op in OPERATORS else "one"


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
    overall, by_index = sort_problems([(p.path, p.message) for p in draft.problems])
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
    fields = condition_fields(draft.context, card.trigger)
    state = submitted.condition or builder_state(rule.get("condition"))
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
            kind, values = str(action.get("type") or ""), action_inputs(action)
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


