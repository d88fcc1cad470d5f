"""The forms of the case-type designer (presentation only): the choices they offer (states, the form's
fields, queues, form versions), filling them from the draft, and turning a submitted one back into the
inputs of `case_types.workflow_editing`, which edits the draft.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_wtf import FlaskForm
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
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.designer.drafts import AvailabilityForm, DraftForm, ImportForm, PublishForm
from app.webforms import CheckboxList
from case_types import explain
from case_types import workflow_editing as editing
from case_types.retention import ACTIONS, UNITS
from case_types.workflow import COLORS, SLA_KINDS, FormInfo
from cases.inputs import MAX_ID, parse_count
from cases.models import Definition

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
    retention_keep = IntegerField("Keep closed cases for", validators=[Optional(), NumberRange(1, 36500)],
                                  description="Empty: closed cases are kept until someone erases them.")
    retention_unit = SelectField("Unit", choices=[SelectChoice(k, v) for k, v in UNITS.items()], default="years")
    retention_then = SelectField("Then", choices=[SelectChoice(k, v.capitalize()) for k, v in ACTIONS.items()],
                                 default="anonymise",
                                 description="Anonymise: the personal values are erased, the rest and the process "
                                             "facts stay for the figures.")
    retention_block = BooleanField("Erasure requests wait until the period has passed")
    retention_reason = StringField("Why", validators=[Optional(), Length(max=500)],
                                   description="The duty to keep the records, shown when an erasure has to wait.")


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
    after_children = BooleanField("Waits for the child cases",
                                  description="It cannot be done while a child case is open, and happens by "
                                              "itself when the last one closes.")


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
    queue = SelectField("Default queue", validators=[Optional()], validate_choice=False,
                        description="Where new cases go unless a rule routes them elsewhere.")
    new_queue = StringField("Or create a new queue named", validators=[Optional(), Length(max=200)],
                            description="E.g. “Complaints team”: it is created with the case type and becomes "
                                        "its default queue; add its members on the queue's page.")

    def validate_queue(self, field: SelectField) -> None:
        if not (self.new_queue.data or "").strip() and field.data not in [c.value for c in field.choices or []]:
            raise ValidationError("Choose a queue, or name a new one.")


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
        "reopen_days": reopen.get("within_days") if reopen else None, **_retention_data(document),
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
        reopen_to=form.reopen_to.data or None, reopen_days=form.reopen_days.data, retention=_retention_input(form))


def _retention_data(document: Mapping[str, Any]) -> dict[str, Any]:
    raw = document.get("retention")
    retention: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return {"retention_keep": retention.get("keep"), "retention_unit": retention.get("unit") or "years",
            "retention_then": retention.get("then") or "anonymise",
            "retention_block": bool(retention.get("block_erasure")), "retention_reason": retention.get("reason", "")}


def _retention_input(form: GeneralForm) -> dict[str, Any] | None:
    if form.retention_keep.data is None:
        return None
    return {"keep": form.retention_keep.data, "unit": form.retention_unit.data, "then": form.retention_then.data,
            "block_erasure": bool(form.retention_block.data), "reason": (form.retention_reason.data or "").strip()}


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
        "confirm": t.get("confirm", ""), "after_children": bool(t.get("after_children"))})
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
        confirm=form.confirm.data or "", after_children=bool(form.after_children.data))


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


def import_reasons(fields: Mapping[str, list[str]]) -> list[str]:
    """The reasons a file was refused, each saying where in the file (for the import panel)."""
    out: list[str] = []
    for path, messages in fields.items():
        where = "" if path in ("definition", "") else explain.describe_path(path) + ": "
        out.extend(f"{where}{m}" for m in messages)
    return out
