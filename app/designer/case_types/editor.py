"""The view model of the case-type editor page: one card per state and transition with its forms, facts and
problems, the settings, publishing and availability forms, and the read-only description of a version."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_wtf import FlaskForm
from markupsafe import Markup

from app.designer.case_types.calendar_form import CalendarForm, calendar_form, calendar_sentence
from app.designer.case_types.forms import (
    DeadlinesForm,
    EditableFieldsForm,
    GeneralForm,
    Options,
    StateForm,
    TransitionForm,
    availability_form,
    deadlines_form,
    fields_form,
    general_form,
    publish_form,
    state_form,
    transition_form,
)
from app.designer.drafts import AvailabilityForm, PublishForm
from case_types import explain
from case_types import workflow_editing as editing
from cases.models import Definition
from forms.errors import DefinitionProblem

#: Past this many states and transitions together the editor shows the forms of the open cards only.
COMPACT_AFTER = 40
#: A card's forms, built when the page shows them; a form submitted to that slot is shown instead.
Makers = Callable[[str, Callable[[], Any]], Callable[[], Any]]


def dom_id(ref: str) -> str:
    """An HTML id fragment for a state or transition reference (`#3` -> `i3`)."""
    return "i" + ref[1:] if ref.startswith("#") else ref


PREFIXES = {"state": "s", "fields": "sf", "deadlines": "sla", "transition": "t"}


def prefix(kind: str, ref: str) -> str:
    return f"{PREFIXES[kind]}-{dom_id(ref)}"


@dataclass
class Card:
    """One state or transition in the editor, with its forms and problems."""

    index: int
    ref: str
    dom: str
    item: Mapping[str, Any]
    label: str
    problems: list[explain.PlacedProblem]
    # The card's forms, built when the page shows them (a large case type shows only the open ones).
    makers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    built: dict[str, Any] = field(default_factory=dict)
    open: bool = False
    fields_open: bool = False
    fields_count: int = 0
    deadlines_open: bool = False
    facts: list[str] = field(default_factory=list)
    removal_question: str = ""

    def at(self, prop: str = "") -> list[str]:
        return [p.message for p in self.problems if p.prop == prop]

    def _form(self, name: str) -> Any:
        if name not in self.built:
            maker = self.makers.get(name)
            self.built[name] = maker() if maker else None
        return self.built[name]

    @property
    def form(self) -> FlaskForm:
        form: FlaskForm = self._form("form")
        return form

    @property
    def fields_form(self) -> EditableFieldsForm | None:
        form: EditableFieldsForm | None = self._form("fields_form")
        return form

    @property
    def deadlines_form(self) -> DeadlinesForm | None:
        form: DeadlinesForm | None = self._form("deadlines_form")
        return form

    @property
    def key(self) -> str:
        key = self.item.get("key")
        return key if isinstance(key, str) else ""


@dataclass
class Editor:
    definition: Definition
    document: Mapping[str, Any]
    problems: explain.ProblemMap
    options: Options
    general: GeneralForm
    states: list[Card]
    transitions: list[Card]
    new_state: StateForm
    new_transition: TransitionForm
    publish: PublishForm
    availability: AvailabilityForm
    diagram: Markup
    changes: list[str] | None
    calendar: CalendarForm | None = None
    calendar_sentence: str = ""
    open_slot: str = ""
    focus: str = ""
    alert: str = ""
    publish_problem: str = ""

    @property
    def compact(self) -> bool:
        """A large case type shows only the open cards' forms; the others open on request (`?open=slot`).
        Every form of every card made the page 10 MB and 40 s at the limits (100 states, 300 transitions)."""
        return len(self.states) + len(self.transitions) > COMPACT_AFTER

    def anchor(self, placed: explain.PlacedProblem) -> str:
        """Where the summary at the top links to for a problem."""
        if placed.area == "setting":
            return f"g-{'form_ref' if placed.ref == 'form' else placed.ref}"
        if placed.area in ("state", "transition", "task"):
            return f"{placed.area}-{dom_id(placed.ref)}"
        if placed.area in ("states", "transitions", "rules", "tasks"):
            return placed.area
        return "general"

    def setting(self, name: str) -> list[str]:
        return self.problems.at("setting", name)

    @property
    def revision(self) -> int:
        return self.definition.draft_revision


def _state_facts(document: Mapping[str, Any], key: str, options: Options) -> list[str]:
    facts = []
    labels = dict(options.fields)
    for kind, target in editing.deadlines(document, key).items():
        clock = "business hours" if target.business_hours else "hours around the clock"
        facts.append(f"{'respond' if kind == 'response' else 'resolve'} within {target.hours:g} {clock}")
    for target in editing.items(document, "sla"):
        if isinstance(target, Mapping) and target.get("state") == key and target.get("field"):
            verb = "respond" if target.get("kind") == "response" else "resolve"
            facts.append(f"{verb} by {target.get('days_before', 0)} days before "
                         f"{labels.get(str(target['field']), str(target['field']))}")
    editable = document.get("editable_fields")
    chosen = editable.get(key) if isinstance(editable, Mapping) else None
    if isinstance(chosen, list) and chosen:
        facts.append("agents may edit " + ", ".join(labels.get(k, str(k)) for k in chosen))
    return facts


def _transition_facts(transition: Mapping[str, Any], document: Mapping[str, Any], options: Options) -> list[str]:
    labels = editing.state_labels(document)
    fields = dict(options.fields)
    target = transition.get("to")
    facts = [f"from {explain.describe_sources(transition.get('from'), labels)} to "
             f"{labels.get(target, str(target)) if target else 'no state'}",
             f"by {explain.describe_who(transition.get('who'))}"]
    required = transition.get("required_fields")
    if isinstance(required, list) and required:
        facts.append("needs " + ", ".join(fields.get(k, str(k)) for k in required))
    if transition.get("comment_required"):
        facts.append("comment required")
    if transition.get("confirm"):
        facts.append(f"asks “{transition['confirm']}”")
    if transition.get("after_children"):
        facts.append("waits for the child cases")
    tasks = transition.get("tasks")
    if isinstance(tasks, list) and tasks:
        facts.append("creates tasks " + ", ".join(
            f"{t.get('label')} ({t.get('queue')}{'' if t.get('required', True) else ', optional'})"
            for t in tasks if isinstance(t, Mapping)))
    return facts


def _state_card(document: Mapping[str, Any], index: int, state: Mapping[str, Any], *, options: Options,
                placed: explain.ProblemMap, revision: int, lazy: Makers, open_slot: str) -> Card:
    ref = editing.item_ref(state, index)
    raw_key = state.get("key")
    key = raw_key if isinstance(raw_key, str) else ""
    editable = document.get("editable_fields")
    selected = editable.get(key, []) if isinstance(editable, Mapping) and key else []
    selected = selected if isinstance(selected, list) else []
    card_problems = placed.of_item("state", ref)
    effects = editing.removal_effects(document, key) if key else []
    label = str(state.get("label") or key or f"State {index + 1}")
    card = Card(
        index=index, ref=ref, dom=dom_id(ref), item=state, label=label, makers={
            "form": lazy(f"state:{ref}", lambda: state_form(state, revision, prefix=prefix("state", ref))),
            "fields_form": lazy(f"fields:{ref}", lambda: fields_form(
                options, selected, revision, prefix=prefix("fields", ref))),
            "deadlines_form": lazy(f"deadlines:{ref}", lambda: deadlines_form(
                editing.deadlines(document, key), revision, prefix=prefix("deadlines", ref))),
        },
        problems=card_problems, facts=_state_facts(document, key, options), fields_count=len(selected),
        removal_question=f"Remove the state “{label}”?" + (f" This also removes {'; '.join(effects)}." if effects
                                                          else ""),
    )
    card.open = open_slot == f"state:{ref}" or any(p.prop not in ("", "sla", "editable_fields")
                                                    for p in card_problems)
    card.fields_open = open_slot == f"fields:{ref}" or bool(card.at("editable_fields"))
    card.deadlines_open = open_slot == f"deadlines:{ref}" or bool(card.at("sla"))
    return card


def _transition_card(document: Mapping[str, Any], index: int, transition: Mapping[str, Any], *, options: Options,
                     placed: explain.ProblemMap, revision: int, lazy: Makers, open_slot: str) -> Card:
    ref = editing.item_ref(transition, index)
    card_problems = placed.of_item("transition", ref)
    label = str(transition.get("label") or transition.get("key") or f"Transition {index + 1}")
    card = Card(
        index=index, ref=ref, dom=dom_id(ref), item=transition, label=label, makers={
            "form": lazy(f"transition:{ref}", lambda: transition_form(
                options, transition, revision, prefix=prefix("transition", ref))),
        },
        problems=card_problems, facts=_transition_facts(transition, document, options),
        removal_question=f"Remove the transition “{label}”?",
    )
    card.open = open_slot == f"transition:{ref}" or any(p.prop for p in card_problems)
    return card


def build_editor(
    definition: Definition, document: Mapping[str, Any], problems: Sequence[DefinitionProblem], options: Options,
    *, diagram: Markup, changes: list[str] | None, submitted: Mapping[str, FlaskForm] | None = None,
    open_slot: str = "", focus: str = "", alert: str = "", publish_problem: str = "",
) -> Editor:
    """Every form of the editor: the submitted one (with its errors) where it was, fresh ones elsewhere."""
    submitted = submitted or {}
    revision = definition.draft_revision
    placed = explain.ProblemMap.of(document, problems)

    def pick(slot: str, fresh: Callable[[], Any]) -> Any:
        return submitted.get(slot) or fresh()

    def lazy(slot: str, fresh: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: pick(slot, fresh)

    cards: dict[str, Any] = {"options": options, "placed": placed, "revision": revision, "lazy": lazy,
                             "open_slot": open_slot}
    states = [_state_card(document, i, s, **cards) for i, s in enumerate(editing.items(document, "states"))
              if isinstance(s, Mapping)]
    transitions = [_transition_card(document, i, t, **cards)
                   for i, t in enumerate(editing.items(document, "transitions")) if isinstance(t, Mapping)]
    return Editor(
        definition=definition, document=document, problems=placed, options=options,
        general=pick("general", lambda: general_form(options, document, revision)),
        calendar=pick("calendar", lambda: calendar_form(document, revision)),
        calendar_sentence=calendar_sentence(document),
        states=states, transitions=transitions,
        new_state=pick("new-state", lambda: state_form(None, revision, prefix="ns")),
        new_transition=pick("new-transition", lambda: transition_form(options, None, revision, prefix="nt")),
        publish=pick("publish", lambda: publish_form(revision)),
        availability=pick("availability", lambda: availability_form(definition)),
        diagram=diagram, changes=changes, open_slot=open_slot, focus=focus, alert=alert,
        publish_problem=publish_problem,
    )


def read_only(document: Mapping[str, Any], options: Options) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The states and transitions of a published version, described for its read-only page."""
    states = [{"key": s.get("key"), "label": s.get("label"), "kind": s.get("kind"), "color": s.get("color"),
               "description": s.get("description", ""), "facts": _state_facts(document, str(s.get("key")), options)}
              for s in editing.items(document, "states") if isinstance(s, Mapping)]
    transitions = [{"key": t.get("key"), "label": t.get("label"), "facts": _transition_facts(t, document, options)}
                   for t in editing.items(document, "transitions") if isinstance(t, Mapping)]
    return states, transitions
