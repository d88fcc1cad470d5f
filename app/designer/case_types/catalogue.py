"""The case-type designer's catalogue of discretionary work: the tasks and child cases agents may start on a
case (case_types.adaptive), with pickers for who may start them, in which states, the queue that works
them, their deadline, whether they block closing, or the case type and fields of a child case.

Its forms and cards live here, its routes beside the editor's (routes.py); editing the draft is
case_types.adaptive_editing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import request
from wtforms import BooleanField, FloatField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.designer.case_types import editor as view
from app.designer.case_types.forms import Options, choices
from app.designer.drafts import DraftForm
from app.extensions import db
from app.webforms import CheckboxList
from case_types import adaptive_editing as editing
from case_types import explain
from case_types.adaptive import MAX_SLA_HOURS
from case_types.workflow_editing import item_ref, items
from cases import definitions, kinds
from cases.models import Definition

KIND_CHOICES = [SelectChoice("task", "A task worked by a queue"),
                SelectChoice("case", "A case of another type (a child case, linked to this one)")]
ROLE_CHOICES = [SelectChoice("agent", "Agents working the case (its queue's agents, its assignee)")]


def prefix(ref: str) -> str:
    """The field-name prefix of an entry's form (`d-safety_review`)."""
    return f"d-{view.dom_id(ref)}"


class CatalogueForm(DraftForm):
    label = StringField("Name", validators=[DataRequired(), Length(max=200)],
                        description="What the button on the case says after “Start:”, e.g. “Product-safety review”.")
    key = StringField("Key", validators=[Optional(), Length(max=63)],
                      description="Used by rules (start_task) and the API. Leave empty to make one from the name.")
    kind = RadioField("What it starts", choices=KIND_CHOICES, default="task")
    states = CheckboxList("Can be started while the case is", validators=[DataRequired("Choose at least one state.")])
    roles = CheckboxList("Who may start it", choices=ROLE_CHOICES)
    queues = CheckboxList("Members of these queues may start it too")
    reason_required = BooleanField("A reason is required to start it")
    blocks_closing = BooleanField("The case cannot close while it is open")
    queue = SelectField("Queue that works it", validate_choice=False,
                        description="Its members see the case and complete the task.")
    sla_hours = FloatField("Due within (hours)", validators=[
        Optional(), NumberRange(min=0.01, max=MAX_SLA_HOURS, message="Enter a number of hours greater than 0.")],
        description="Counted in the case type's business hours. Leave empty for no deadline.")
    case_type = SelectField("Case type of the child case", validate_choice=False,
                            description="The child case is filed in its own type's first state and queue.")

    @property
    def copied(self) -> list[Any]:
        """The pickers of the fields copied to the child case (none until its case type is saved)."""
        return [f for f in self if f.short_name.startswith("map_")]


@dataclass(frozen=True)
class Choices:
    """What the catalogue's forms offer: open states, queues, the form's fields, published case types."""

    states: list[tuple[str, str]]
    queues: list[tuple[str, str]]
    fields: list[tuple[str, str]]
    case_types: list[tuple[str, str]]
    child_fields: Mapping[str, list[tuple[str, str]]]


def build_choices(definition: Definition, document: Mapping[str, Any], options: Options) -> Choices:
    final = {s.get("key") for s in items(document, "states") if isinstance(s, Mapping) and s.get("kind") == "final"}
    published = [d for d in definitions.list_definitions(db.session, "case_type")
                 if d.id != definition.id and d.latest_version is not None]
    slugs = {d.slug for d in published}
    child_fields: dict[str, list[tuple[str, str]]] = {}
    for item in editing.catalogue(document):
        slug = item.get("case_type") if isinstance(item, Mapping) else None
        if isinstance(slug, str) and slug in slugs and slug not in child_fields:
            child_fields.update(_child_fields_of(slug))
    return Choices(states=[(k, v) for k, v in options.states if k not in final], queues=options.queues,
                   fields=options.fields, case_types=[(d.slug, d.title) for d in published],
                   child_fields=child_fields)


def _form_class(mapping: Sequence[tuple[str, str]], child: Sequence[tuple[str, str]]) -> type[CatalogueForm]:
    """A form class with one picker per field of this case's form: the child's field it is copied to."""
    pickers = {f"map_{key}": SelectField(label, choices=[SelectChoice("", "Not copied"), *choices(child)],
                                         validate_choice=False) for key, label in mapping} if child else {}
    return type("CatalogueItemForm", (CatalogueForm,), pickers)


def item_form(picks: Choices, item: Mapping[str, Any] | None, revision: int, *, prefix: str,
              submitted: bool = False) -> CatalogueForm:
    item = item or {}
    raw_who = item.get("who")
    who: Mapping[str, Any] = raw_who if isinstance(raw_who, Mapping) else {}
    case_type = item.get("case_type") if isinstance(item.get("case_type"), str) else ""
    copied = item.get("fields") if isinstance(item.get("fields"), Mapping) else {}
    cls = _form_class(picks.fields, picks.child_fields.get(str(case_type), []))
    data = {"expected_revision": revision, "label": item.get("label", ""), "key": item.get("key", ""),
            "kind": "case" if case_type else "task", "states": list(item.get("states") or []),
            "roles": list(who.get("roles", ["agent"]) or []), "queues": list(who.get("queues") or []),
            "reason_required": bool(item.get("reason_required")), "blocks_closing": bool(item.get("blocks_closing")),
            "queue": item.get("queue", ""), "sla_hours": item.get("sla_hours"), "case_type": case_type,
            **{f"map_{k}": copied.get(k, "") for k, _ in picks.fields}}
    form = cls(prefix=prefix) if submitted else cls(prefix=prefix, formdata=None, data=data)
    form.states.choices = choices(picks.states)
    form.queues.choices = choices(picks.queues)
    form.queue.choices = [SelectChoice("", "Choose a queue"), *choices(picks.queues)]
    form.case_type.choices = [SelectChoice("", "Choose a case type"), *choices(picks.case_types)]
    return form


def item_input(form: CatalogueForm, picks: Choices) -> editing.ItemInput:
    child = form.kind.data == "case"
    mapped = {k: getattr(form, f"map_{k}").data or "" for k, _ in picks.fields if hasattr(form, f"map_{k}")}
    return editing.ItemInput(
        label=form.label.data or "", key=(form.key.data or "").strip(), states=form.states.data or [],
        roles=form.roles.data or [], queues=form.queues.data or [], reason_required=bool(form.reason_required.data),
        blocks_closing=bool(form.blocks_closing.data), queue="" if child else form.queue.data or "",
        sla_hours=None if child else form.sla_hours.data, case_type=(form.case_type.data or "") if child else "",
        fields=mapped if child else {})


# ---------------------------------------------------------------- the cards


@dataclass
class ItemCard:
    ref: str
    dom: str
    item: Mapping[str, Any]
    label: str
    problems: list[explain.PlacedProblem]
    form: CatalogueForm | None
    facts: list[str] = field(default_factory=list)
    open: bool = False

    def at(self, prop: str = "") -> list[str]:
        return [p.message for p in self.problems if p.prop == prop]


@dataclass
class Catalogue:
    cards: list[ItemCard]
    new_item: CatalogueForm
    picks: Choices
    problems: list[str]


def _facts(item: Mapping[str, Any], picks: Choices) -> list[str]:
    states, queues = dict(picks.states), dict(picks.queues)
    raw_who = item.get("who")
    who: Mapping[str, Any] = raw_who if isinstance(raw_who, Mapping) else {}
    starters = (["agents working the case"] if "agent" in (who.get("roles") or []) else []) + \
        [f"members of {queues.get(q, q)}" for q in who.get("queues") or []]
    facts = [f"in {', '.join(states.get(s, str(s)) for s in item.get('states') or []) or 'no state'}",
             f"started by {' or '.join(starters) or 'admins only'}"]
    if item.get("case_type"):
        titles = dict(picks.case_types)
        copied = item.get("fields") if isinstance(item.get("fields"), Mapping) else {}
        facts.append(f"starts a {titles.get(str(item['case_type']), str(item['case_type']))} case"
                     + (f" copying {len(copied)} field{'s' if len(copied) != 1 else ''}" if copied else ""))
    else:
        facts.append(f"worked by {queues.get(str(item.get('queue')), str(item.get('queue') or 'no queue'))}")
        if item.get("sla_hours"):
            facts.append(f"due within {item['sla_hours']:g} hours")
    if item.get("reason_required"):
        facts.append("reason required")
    if item.get("blocks_closing"):
        facts.append("blocks closing")
    return facts


def build_catalogue(definition: Definition, document: Mapping[str, Any], placed: explain.ProblemMap,
                    options: Options, *, submitted: Mapping[str, Any], open_slot: str) -> Catalogue:
    """The catalogue's cards with their forms (the submitted one with its errors where it was)."""
    picks = build_choices(definition, document, options)
    revision = definition.draft_revision
    cards = []
    for index, item in enumerate(editing.catalogue(document)):
        if not isinstance(item, Mapping):
            continue
        ref = item_ref(item, index)
        slot = f"task:{ref}"
        problems = placed.of_item("task", ref)
        form = submitted.get(slot) or (item_form(picks, item, revision, prefix=prefix(ref))
                                       if ref == item.get("key") else None)
        cards.append(ItemCard(ref=ref, dom=view.dom_id(ref), item=item, label=str(item.get("label") or ref),
                              problems=problems, form=form, facts=_facts(item, picks),
                              open=open_slot == slot or slot in submitted or bool(problems)))
    new_item = submitted.get("new-task") or item_form(picks, None, revision, prefix="nd")
    return Catalogue(cards=cards, new_item=new_item, picks=picks, problems=placed.at("tasks"))


def posted_form(definition: Definition, document: Mapping[str, Any], options: Options,
                prefix: str) -> tuple[CatalogueForm, Choices]:
    """The submitted form of one entry (or of a new one) with the pickers of the case type it names."""
    picks = build_choices(definition, document, options)
    chosen = request.form.get(f"{prefix}-case_type", "")
    if chosen and chosen not in picks.child_fields:
        picks = Choices(picks.states, picks.queues, picks.fields, picks.case_types,
                        {**picks.child_fields, **_child_fields_of(chosen)})
    form = item_form(picks, {"case_type": chosen} if chosen else None, 0, prefix=prefix, submitted=True)
    return form, picks


def _child_fields_of(slug: str) -> dict[str, list[tuple[str, str]]]:
    other = definitions.find_definition(db.session, "case_type", slug)
    if other is None or other.latest_version is None:
        return {}
    child = json.loads(other.latest_version.document)
    info = kinds.form_info(db.session, str(child.get("form")), int(child.get("form_version") or 0))
    return {slug: [(k, str(info.labels.get(k, k))) for k in info.families]} if info else {}
