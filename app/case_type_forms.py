"""Forms of the case-type designer and the view model of its editor page (presentation only).

Editing the draft is `case_types.workflow_editing`; this module turns the draft, its problems and the
choices around it (states, the form's fields, queues, form versions) into forms the templates render,
and turns a submitted form back into the editing module's inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.designer.drafts import AvailabilityForm, DraftForm, ImportForm, PublishForm
from app.webforms import CheckboxList
from case_types import workflow_editing as editing
from case_types.workflow import COLORS, SLA_KINDS, FormInfo
from cases.inputs import MAX_ID, parse_count
from cases.models import Definition
from forms.errors import DefinitionProblem

KIND_CHOICES = [
    SelectChoice("initial", "Initial: where new cases start"),
    SelectChoice("working", "Working: someone is on it"),
    SelectChoice("waiting", "Waiting: the requester must act; deadlines pause"),
    SelectChoice("final", "Final: the case is closed"),
]
COLOR_CHOICES = [SelectChoice(c, c.capitalize()) for c in COLORS]
ROLE_CHOICES = [SelectChoice("agent", "Agents"), SelectChoice("admin", "Admins")]
ANY_STATE = ("*", "Any state")
MAX_HOURS = 24 * 366
#: Past this many states and transitions together the editor shows the forms of the open cards only.
COMPACT_AFTER = 40


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if isinstance(value, str) else value


class GeneralForm(DraftForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    prefix = StringField("Reference prefix", validators=[DataRequired(), Length(max=6)], filters=[_upper],
                         description="2 to 6 capital letters; case references look like CMP-000123.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)],
                                description="What this kind of case is for; agents see it.")
    form_ref = SelectField("Form and version", validators=[DataRequired("Choose a form version.")],
                           description="The form requesters fill in. Filed cases keep the version they were "
                                       "filed with.")
    default_queue = SelectField("Default queue", validators=[DataRequired("Choose a queue.")],
                                description="Where new cases go unless a rule routes them elsewhere.")
    fallback_queue = SelectField("Fallback queue", validators=[DataRequired("Choose a queue.")],
                                 description="Where a case goes when a routing rule fails.")
    request_info_state = SelectField(
        "Waiting state for requests for information",
        description="When an agent asks the requester a question, the case waits here until they answer. "
                    "It must be a waiting state.")
    reopen_to = SelectField("Reopen into", description="Requesters may reopen a closed case for a while; it "
                                                       "goes back to this state.")
    reopen_days = IntegerField("Reopen within (days)", validators=[Optional(), NumberRange(1, 3650)],
                               description="From 1 to 3650 days after closing.")


class StateForm(DraftForm):
    label = StringField("Label", validators=[DataRequired(), Length(max=200)],
                        description="What agents and requesters see, e.g. “In progress”.")
    key = StringField("Key", validators=[Optional(), Length(max=63)],
                      description="Used by rules and the API. Leave empty to make one from the label; "
                                  "changing it updates every transition and setting that uses it.")
    kind = RadioField("Kind", choices=KIND_CHOICES, default="working")
    color = RadioField("Colour", choices=COLOR_CHOICES, default="grey")
    description = TextAreaField("Description", validators=[Optional(), Length(max=1000)])


class TransitionForm(DraftForm):
    label = StringField("Label", validators=[DataRequired(), Length(max=200)],
                        description="What the button says, e.g. “Start work”.")
    key = StringField("Key", validators=[Optional(), Length(max=63)],
                      description="Used by rules and the API. Leave empty to make one from the label.")
    sources = CheckboxList("From", validators=[DataRequired("Choose at least one state, or “Any state”.")])
    target = SelectField("To", validators=[DataRequired("Choose the state it leads to.")])
    roles = CheckboxList("Staff roles", choices=ROLE_CHOICES)
    queue_members = BooleanField("Only agents of the case's queue (admins always may)")
    assignee_only = BooleanField("Only the case's assignee")
    requester = BooleanField("The requester may do it")
    required_fields = CheckboxList("Fields that must be filled in first")
    comment_required = BooleanField("A comment is required")
    confirm = StringField("Confirmation question", validators=[Optional(), Length(max=500)],
                          description="Asked before it happens, e.g. “Reject this case?”. Leave empty for none.")


class EditableFieldsForm(DraftForm):
    fields = CheckboxList("Fields agents may change in this state")


class DeadlinesForm(DraftForm):
    response_hours = FloatField("First response within (hours)", validators=[
        Optional(), NumberRange(min=0.01, max=MAX_HOURS, message="Enter a number of hours greater than 0.")],
        description="Leave empty for no response deadline.")
    response_business = BooleanField("Response counted in business hours only")
    resolution_hours = FloatField("Resolution within (hours)", validators=[
        Optional(), NumberRange(min=0.01, max=MAX_HOURS, message="Enter a number of hours greater than 0.")],
        description="Leave empty for no resolution deadline.")
    resolution_business = BooleanField("Resolution counted in business hours only")


class NewCaseTypeForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)],
                       description="E.g. “Customer complaint”.")
    slug = StringField("Short name", validators=[Optional(), Length(max=63)],
                       description="Lower-case letters, digits, '-' or '_'; used in addresses and the API and "
                                   "cannot be changed later. Leave empty to make one from the name.")
    form_ref = SelectField("Form and version", validators=[DataRequired("Choose a form version.")],
                           description="The form requesters fill in; the latest published version is chosen.")
    queue = SelectField("Default queue", validators=[DataRequired("Choose a queue.")],
                        description="Where new cases go unless a rule routes them elsewhere.")


# ---------------------------------------------------------------- choices


def form_ref(slug: str, number: int) -> str:
    return f"{slug}@{number}"


def split_ref(ref: str) -> tuple[str, int | None]:
    slug, _, number = (ref or "").rpartition("@")
    version = parse_count(number, low=1, high=MAX_ID)
    return (slug, version) if slug and version is not None else (ref or "", None)


@dataclass(frozen=True)
class Options:
    """What the editor lets an admin choose from."""

    states: list[tuple[str, str]]
    fields: list[tuple[str, str]]
    queues: list[tuple[str, str]]
    forms: list[SelectChoice]

    @classmethod
    def build(cls, document: Mapping[str, Any], queues: Iterable[Any], forms: Iterable[Definition],
              info: FormInfo | None) -> Options:
        labels = editing.state_labels(document)
        fields = [(k, str(info.labels.get(k, k))) for k in info.families] if info else []
        return cls(states=list(labels.items()), fields=fields,
                   queues=[(q.slug, q.name) for q in queues if q.active], forms=form_choices(forms))


def form_choices(forms: Iterable[Definition]) -> list[SelectChoice]:
    """`slug@N` choices for every published form version, grouped by form, latest first."""
    out = []
    for form in forms:
        numbers = sorted((v.number for v in form.versions), reverse=True)
        for n in numbers:
            latest = " (latest)" if n == numbers[0] else ""
            out.append(SelectChoice(form_ref(form.slug, n), f"{form.title} — version {n}{latest}",
                                    optgroup=form.title))
    return out


def choices(pairs: Iterable[tuple[str, str] | SelectChoice]) -> list[SelectChoice]:
    return [p if isinstance(p, SelectChoice) else SelectChoice(*p) for p in pairs]


def _with_current(options: Iterable[tuple[str, str] | SelectChoice], value: Any) -> list[SelectChoice]:
    """The choices, plus the current value when it is not among them (shown, so its problem makes sense)."""
    out = choices(options)
    if isinstance(value, str) and value and value not in {c.value for c in out}:
        out.append(SelectChoice(value, f"{value} (not available)"))
    return out


# ---------------------------------------------------------------- building forms

F = TypeVar("F", bound=FlaskForm)


def _make(cls: type[F], prefix: str, submitted: bool, data: Mapping[str, Any]) -> F:
    if submitted:
        return cls(prefix=prefix)
    return cls(prefix=prefix, formdata=None, data=dict(data))


def general_form(options: Options, document: Mapping[str, Any], revision: int, *,
                 submitted: bool = False) -> GeneralForm:
    slug, number = document.get("form"), document.get("form_version")
    current = form_ref(slug, number) if isinstance(slug, str) and isinstance(number, int) else ""
    raw_reopen = document.get("reopen")
    reopen: Mapping[str, Any] = raw_reopen if isinstance(raw_reopen, Mapping) else {}
    form = _make(GeneralForm, "g", submitted, {
        "expected_revision": revision, "name": document.get("name", ""), "prefix": document.get("prefix", ""),
        "description": document.get("description", ""), "form_ref": current,
        "default_queue": document.get("default_queue", ""), "fallback_queue": document.get("fallback_queue", ""),
        "request_info_state": document.get("request_info_state") or "", "reopen_to": reopen.get("to") or "",
        "reopen_days": reopen.get("within_days") if reopen else None,
    })
    form.form_ref.choices = _with_current([("", "Choose a form version"), *options.forms], current)
    for name in ("default_queue", "fallback_queue"):
        getattr(form, name).choices = _with_current([("", "Choose a queue"), *options.queues], document.get(name))
    form.request_info_state.choices = _with_current(
        [("", "None: agents cannot ask the requester for information"), *options.states],
        document.get("request_info_state"))
    form.reopen_to.choices = _with_current([("", "Closed cases cannot be reopened"), *options.states],
                                           reopen.get("to"))
    return form


def general_input(form: GeneralForm) -> editing.GeneralInput:
    slug, number = split_ref(form.form_ref.data or "")
    return editing.GeneralInput(
        name=form.name.data or "", prefix=form.prefix.data or "", description=form.description.data or "",
        form=slug, form_version=number, default_queue=form.default_queue.data or "",
        fallback_queue=form.fallback_queue.data or "", request_info_state=form.request_info_state.data or None,
        reopen_to=form.reopen_to.data or None, reopen_days=form.reopen_days.data)


def state_form(state: Mapping[str, Any] | None, revision: int, *, prefix: str, submitted: bool = False) -> StateForm:
    state = state or {}
    form = _make(StateForm, prefix, submitted, {
        "expected_revision": revision, "label": state.get("label", ""), "key": state.get("key", ""),
        "kind": state.get("kind", "working"), "color": state.get("color", "grey"),
        "description": state.get("description", "")})
    return form


def state_input(form: StateForm) -> editing.StateInput:
    return editing.StateInput(label=form.label.data or "", key=(form.key.data or "").strip(),
                              kind=form.kind.data or "working", color=form.color.data or "grey",
                              description=form.description.data or "")


def transition_form(options: Options, transition: Mapping[str, Any] | None, revision: int, *, prefix: str,
                    submitted: bool = False) -> TransitionForm:
    t = transition or {}
    raw_who = t.get("who")
    who: Mapping[str, Any] = raw_who if isinstance(raw_who, Mapping) else editing.DEFAULT_WHO
    sources = t.get("from", [])
    sources = [sources] if isinstance(sources, str) else sources if isinstance(sources, list) else []
    form = _make(TransitionForm, prefix, submitted, {
        "expected_revision": revision, "label": t.get("label", ""), "key": t.get("key", ""),
        "sources": [s for s in sources if isinstance(s, str)], "target": t.get("to") or "",
        "roles": list(who.get("roles") or []), "queue_members": bool(who.get("queue_members", True)),
        "assignee_only": bool(who.get("assignee_only")), "requester": bool(who.get("requester")),
        "required_fields": list(t.get("required_fields") or []), "comment_required": bool(t.get("comment_required")),
        "confirm": t.get("confirm", "")})
    form.sources.choices = choices([ANY_STATE, *options.states])
    form.target.choices = _with_current([("", "Choose a state"), *options.states], t.get("to"))
    form.required_fields.choices = choices(options.fields)
    return form


def transition_input(form: TransitionForm) -> editing.TransitionInput:
    return editing.TransitionInput(
        label=form.label.data or "", key=(form.key.data or "").strip(), sources=form.sources.data or [],
        target=form.target.data or "", roles=form.roles.data or [], queue_members=bool(form.queue_members.data),
        assignee_only=bool(form.assignee_only.data), requester=bool(form.requester.data),
        required_fields=form.required_fields.data or [], comment_required=bool(form.comment_required.data),
        confirm=form.confirm.data or "")


def fields_form(options: Options, selected: Sequence[str], revision: int, *, prefix: str,
                submitted: bool = False) -> EditableFieldsForm:
    form = _make(EditableFieldsForm, prefix, submitted, {"expected_revision": revision, "fields": list(selected)})
    form.fields.choices = choices(options.fields)
    return form


def deadlines_form(current: Mapping[str, editing.SlaInput], revision: int, *, prefix: str,
                   submitted: bool = False) -> DeadlinesForm:
    data: dict[str, Any] = {"expected_revision": revision}
    for kind in SLA_KINDS:
        target = current.get(kind)
        data[f"{kind}_hours"] = target.hours if target else None
        data[f"{kind}_business"] = target.business_hours if target else True
    return _make(DeadlinesForm, prefix, submitted, data)


def deadline_inputs(form: DeadlinesForm) -> dict[str, editing.SlaInput | None]:
    out: dict[str, editing.SlaInput | None] = {}
    for kind in SLA_KINDS:
        hours = getattr(form, f"{kind}_hours").data
        out[kind] = editing.SlaInput(float(hours), bool(getattr(form, f"{kind}_business").data)) \
            if hours is not None else None
    return out


def publish_form(revision: int, *, submitted: bool = False) -> PublishForm:
    return _make(PublishForm, "pub", submitted, {"expected_revision": revision, "change_note": ""})


def availability_form(definition: Definition, *, submitted: bool = False) -> AvailabilityForm:
    return AvailabilityForm.of(definition, submitted=submitted, prefix="av")


def import_form(*, submitted: bool = False) -> ImportForm:
    """Unprefixed: the case-type list page has no other form with a short name."""
    return ImportForm(file_label="Case-type file (.json)", **({} if submitted else {"formdata": None}))


def new_form(forms: Iterable[Definition], queues: Iterable[Any]) -> NewCaseTypeForm:
    form = NewCaseTypeForm()
    form.form_ref.choices = form_choices(forms)
    form.queue.choices = [SelectChoice(q.slug, q.name) for q in queues if q.active]
    return form


# ---------------------------------------------------------------- the editor


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
    problems: list[editing.PlacedProblem]
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
    problems: editing.ProblemMap
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
    open_slot: str = ""
    focus: str = ""
    alert: str = ""
    publish_problem: str = ""

    @property
    def compact(self) -> bool:
        """A large case type shows only the open cards' forms; the others open on request (`?open=slot`).
        Every form of every card made the page 10 MB and 40 s at the limits (100 states, 300 transitions)."""
        return len(self.states) + len(self.transitions) > COMPACT_AFTER

    def anchor(self, placed: editing.PlacedProblem) -> str:
        """Where the summary at the top links to for a problem."""
        if placed.area == "setting":
            return f"g-{'form_ref' if placed.ref == 'form' else placed.ref}"
        if placed.area in ("state", "transition"):
            return f"{placed.area}-{dom_id(placed.ref)}"
        if placed.area in ("states", "transitions", "rules"):
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
    facts = [f"from {editing.describe_sources(transition.get('from'), labels)} to "
             f"{labels.get(target, str(target)) if target else 'no state'}",
             f"by {editing.describe_who(transition.get('who'))}"]
    required = transition.get("required_fields")
    if isinstance(required, list) and required:
        facts.append("needs " + ", ".join(fields.get(k, str(k)) for k in required))
    if transition.get("comment_required"):
        facts.append("comment required")
    if transition.get("confirm"):
        facts.append(f"asks “{transition['confirm']}”")
    tasks = transition.get("tasks")
    if isinstance(tasks, list) and tasks:
        facts.append("creates tasks " + ", ".join(
            f"{t.get('label')} ({t.get('queue')}{'' if t.get('required', True) else ', optional'})"
            for t in tasks if isinstance(t, Mapping)))
    return facts


def build_editor(
    definition: Definition, document: Mapping[str, Any], problems: Sequence[DefinitionProblem], options: Options,
    *, diagram: Markup, changes: list[str] | None, submitted: Mapping[str, FlaskForm] | None = None,
    open_slot: str = "", focus: str = "", alert: str = "", publish_problem: str = "",
) -> Editor:
    """Every form of the editor: the submitted one (with its errors) where it was, fresh ones elsewhere."""
    submitted = submitted or {}
    revision = definition.draft_revision
    placed = editing.ProblemMap.of(document, problems)

    def pick(slot: str, fresh: Any) -> Any:
        return submitted.get(slot) or fresh()

    def lazy(slot: str, fresh: Any) -> Callable[[], Any]:
        return lambda: pick(slot, fresh)

    states = []
    for index, state in enumerate(editing.items(document, "states")):
        if not isinstance(state, Mapping):
            continue
        ref = editing.item_ref(state, index)
        raw_key = state.get("key")
        key = raw_key if isinstance(raw_key, str) else ""
        editable = document.get("editable_fields")
        selected = editable.get(key, []) if isinstance(editable, Mapping) and key else []
        card_problems = placed.of_item("state", ref)
        effects = editing.removal_effects(document, key) if key else []
        label = str(state.get("label") or key or f"State {index + 1}")
        card = Card(
            index=index, ref=ref, dom=dom_id(ref), item=state, label=label, makers={
                "form": lazy(f"state:{ref}", lambda s=state, r=ref: state_form(s, revision, prefix=prefix("state", r))),
                "fields_form": lazy(f"fields:{ref}", lambda sel=selected, r=ref: fields_form(
                    options, sel if isinstance(sel, list) else [], revision, prefix=prefix("fields", r))),
                "deadlines_form": lazy(f"deadlines:{ref}", lambda k=key, r=ref: deadlines_form(
                    editing.deadlines(document, k), revision, prefix=prefix("deadlines", r))),
            },
            problems=card_problems, facts=_state_facts(document, key, options),
            fields_count=len(selected) if isinstance(selected, list) else 0,
            removal_question=f"Remove the state “{label}”?"
                             + (f" This also removes {'; '.join(effects)}." if effects else ""),
        )
        card.open = open_slot == f"state:{ref}" or any(p.prop not in ("", "sla", "editable_fields")
                                                        for p in card_problems)
        card.fields_open = open_slot == f"fields:{ref}" or bool(card.at("editable_fields"))
        card.deadlines_open = open_slot == f"deadlines:{ref}" or bool(card.at("sla"))
        states.append(card)

    transitions = []
    for index, transition in enumerate(editing.items(document, "transitions")):
        if not isinstance(transition, Mapping):
            continue
        ref = editing.item_ref(transition, index)
        card_problems = placed.of_item("transition", ref)
        label = str(transition.get("label") or transition.get("key") or f"Transition {index + 1}")
        card = Card(
            index=index, ref=ref, dom=dom_id(ref), item=transition, label=label, makers={
                "form": lazy(f"transition:{ref}", lambda t=transition, r=ref: transition_form(
                    options, t, revision, prefix=prefix("transition", r))),
            },
            problems=card_problems, facts=_transition_facts(transition, document, options),
            removal_question=f"Remove the transition “{label}”?",
        )
        card.open = open_slot == f"transition:{ref}" or any(p.prop for p in card_problems)
        transitions.append(card)

    return Editor(
        definition=definition, document=document, problems=placed, options=options,
        general=pick("general", lambda: general_form(options, document, revision)),
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


def import_reasons(fields: Mapping[str, list[str]]) -> list[str]:
    """The reasons a file was refused, each saying where in the file (for the import panel)."""
    out: list[str] = []
    for path, messages in fields.items():
        where = "" if path in ("definition", "") else editing.describe_path(path) + ": "
        out.extend(f"{where}{m}" for m in messages)
    return out
