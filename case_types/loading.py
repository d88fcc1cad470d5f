"""Reading a case-type document (the format is described in case_types.workflow): every problem is
collected with its path and the state or transition it concerns, so the designer can show them all in
place; a document without problems becomes a CaseTypeSpec."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from case_types.adaptive import read_discretionary
from case_types.calendar import DEFAULT_CALENDAR, BusinessCalendar, read_calendar
from case_types.keyed import keyed_items
from case_types.retention import read_retention
from case_types.stages import read_milestones, read_stages
from case_types.template_checks import check_templates
from case_types.workflow import (
    COLORS,
    KEY_RE,
    MAX_DAYS_BEFORE,
    MAX_SLA_TARGETS,
    MAX_STATES,
    MAX_TASKS,
    MAX_TRANSITIONS,
    PREFIX_RE,
    SCHEMA_VERSION,
    SLA_KINDS,
    STAFF_ROLES,
    STATE_KINDS,
    TOP_KEYS,
    CaseTypeSpec,
    Context,
    FormInfo,
    Reopen,
    SlaTarget,
    State,
    TaskSpec,
    Transition,
    Who,
)
from forms.errors import DefinitionError


class _Loader:
    """Collects every problem with its path and the state or transition it concerns."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.problems: list[tuple[str, str | None, str]] = []
        self.too_big = False  # a list over its limit: the rest is not checked (it would only echo it)

    def problem(self, path: str, message: str, key: str | None = None) -> None:
        self.problems.append((path, key, message))

    def text(self, data: Mapping[str, Any], name: str, path: str, *, required: bool = True,
             limit: int = 200, key: str | None = None) -> str:
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.problem(f"{path}{name}", "Enter text here.", key)
            return ""
        value = value.strip()
        if required and not value:
            self.problem(f"{path}{name}", "This cannot be empty.", key)
        if len(value) > limit:
            self.problem(f"{path}{name}", f"Use at most {limit} characters.", key)
        return value

    def flag(self, data: Mapping[str, Any], name: str, path: str, default: bool, key: str | None) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            self.problem(f"{path}{name}", "Choose yes or no.", key)
            return default
        return value

    def load(self, data: Any) -> CaseTypeSpec | None:
        if not isinstance(data, Mapping):
            self.problem("", "A case type is a JSON object.")
            return None
        if data.get("schema_version") != SCHEMA_VERSION:
            self.problem("schema_version", f"This file is for a different Casework version "
                                           f"(schema_version must be {SCHEMA_VERSION}).")
        for extra in sorted(set(data) - TOP_KEYS):
            self.problem(extra, f"Unknown setting '{extra}'.")
        name = self.text(data, "name", "")
        description = self.text(data, "description", "", required=False, limit=2000)
        prefix = data.get("prefix")
        if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
            self.problem("prefix", "Use 2 to 6 capital letters, like CMP (case references look like CMP-000123).")
            prefix = "XX"
        form = self.form(data)
        states = self.states(data.get("states"))
        if self.too_big:  # what follows would only repeat that the states are missing
            return None
        state_keys = {s.key for s in states}
        transitions = self.transitions(data.get("transitions"), state_keys, form)
        if self.too_big:
            return None
        queues = self.queues(data)
        info_state = self.info_state(data.get("request_info_state"), states)
        editable = self.editable(data.get("editable_fields", {}), state_keys, form)
        reopen = self.reopen(data.get("reopen"), state_keys, states)
        sla = self.sla(data.get("sla", []), state_keys, states, form)
        calendar = self.calendar(data.get("calendar"))
        documents = self.documents(data.get("documents"), form)
        discretionary, problems = read_discretionary(
            data.get("discretionary"), states={s.key: s.is_final for s in states}, queues=self.context.queues,
            form_fields=form.families if form is not None else None, case_types=self.context.case_types)
        self.problems.extend(problems)
        stages, stage_problems = read_stages(data.get("stages"), {s.key: s.is_final for s in states})
        milestones, milestone_problems = read_milestones(
            data.get("milestones"), transitions={t.key for t in transitions},
            tasks={k.key for t in transitions for k in t.tasks} | {i.key for i in discretionary})
        for path, message in stage_problems + milestone_problems:
            self.problem(path, message)
        retention, retention_problems = read_retention(data.get("retention"))
        for path, message in retention_problems:
            self.problem(path, message)
        self.reachability(states, transitions, reopen, info_state if isinstance(info_state, str) else None,
                          rule_targets(data.get("rules")))
        if self.problems or form is None:
            return None
        return CaseTypeSpec(
            name=name, description=description, prefix=prefix, form=form, states=tuple(states),
            transitions=tuple(transitions), default_queue=queues["default_queue"],
            fallback_queue=queues["fallback_queue"], request_info_state=info_state, editable_fields=editable,
            reopen=reopen, sla=tuple(sla), documents=tuple(documents),
            rules=data.get("rules"), calendar=calendar or DEFAULT_CALENDAR, discretionary=tuple(discretionary),
            retention=retention, stages=tuple(stages), milestones=tuple(milestones),
        )

    def queues(self, data: Mapping[str, Any]) -> dict[str, str]:
        """The default and fallback queues, each one of the instance's queues."""
        queues = {}
        for name in ("default_queue", "fallback_queue"):
            value = data.get(name)
            if not isinstance(value, str) or value not in self.context.queues:
                self.problem(name, "Choose one of the queues." if value else "Choose a queue.")
            queues[name] = value if isinstance(value, str) else ""
        return queues

    def info_state(self, info_state: Any, states: list[State]) -> Any:
        """The state a request for information moves to: a waiting one, so the SLA clock pauses."""
        if info_state is not None:
            kinds = {s.key: s.kind for s in states}
            if not isinstance(info_state, str) or info_state not in kinds:
                self.problem("request_info_state", "Choose one of the states.")
            elif kinds[info_state] != "waiting":
                self.problem("request_info_state", "Requests for information need a 'waiting' state, "
                                                   "so the SLA clock pauses while the requester answers.")
        return info_state

    def form(self, data: Mapping[str, Any]) -> FormInfo | None:
        slug, number = data.get("form"), data.get("form_version")
        if not isinstance(slug, str) or not slug:
            self.problem("form", "Choose the form requesters fill in.")
            return None
        if not isinstance(number, int) or isinstance(number, bool):
            latest = self.context.latest_form_versions.get(slug)
            if latest is None:
                self.problem("form", f"The form '{slug}' does not exist or has no published version yet.")
            else:
                self.problem("form_version", "Choose the form version cases are filed with.")
            return None
        info = self.context.forms.get((slug, number))
        if info is None:
            self.problem("form_version", f"The form '{slug}' has no published version {number}.")
        return info

    def keyed(self, raw: list[Any], section: str, noun: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        """(path prefix, item, key) of each well-formed item of a keyed list; problems for the others."""
        yield from keyed_items(raw, section, self.problem, not_object=f"Each {noun} is an object.",
                               duplicate=lambda key: f"Two {section} use the key '{key}'.")

    def states(self, raw: Any) -> list[State]:
        if not isinstance(raw, list) or not raw:
            self.problem("states", "Add the states a case goes through.")
            return []
        if len(raw) > MAX_STATES:
            self.too_big = True
            self.problem("states", f"A case type has at most {MAX_STATES} states; this one has {len(raw):,}. "
                                   "Merge states that are worked the same way, or split the process into "
                                   "several case types.")
            return []
        states: list[State] = []
        for path, item, key in self.keyed(raw, "states", "state"):
            label = self.text(item, "label", path, key=key)
            kind = item.get("kind", "working")
            if kind not in STATE_KINDS:
                self.problem(f"{path}kind", f"Choose one of: {', '.join(STATE_KINDS)}.", key)
                kind = "working"
            color = item.get("color", "grey")
            if color not in COLORS:
                self.problem(f"{path}color", f"Choose one of: {', '.join(COLORS)}.", key)
                color = "grey"
            for extra in sorted(set(item) - {"key", "label", "kind", "color", "description"}):
                self.problem(f"{path}{extra}", f"Unknown setting '{extra}'.", key)
            states.append(State(key, label, kind, color,
                                self.text(item, "description", path, required=False, limit=1000, key=key)))
        initial = [s for s in states if s.kind == "initial"]
        if len(initial) != 1:
            self.problem("states", "Mark exactly one state as the initial state (where new cases start).")
        if not any(s.kind == "final" for s in states):
            self.problem("states", "Add at least one final state, so cases can be closed.")
        return states

    def transitions(self, raw: Any, states: set[str], form: FormInfo | None) -> list[Transition]:
        if not isinstance(raw, list):
            self.problem("transitions", "Add the transitions between states.")
            return []
        if len(raw) > MAX_TRANSITIONS:
            self.too_big = True
            self.problem("transitions", f"A case type has at most {MAX_TRANSITIONS} transitions; this one has "
                                        f"{len(raw):,}. A transition can start from several states (or from "
                                        "any state, '*'), so one often does the work of many.")
            return []
        out: list[Transition] = []
        for path, item, key in self.keyed(raw, "transitions", "transition"):
            label = self.text(item, "label", path, key=key)
            sources = item.get("from")
            if isinstance(sources, str):
                sources = [sources]
            if not isinstance(sources, list) or not sources:
                self.problem(f"{path}from", "Choose the states this transition starts from.", key)
                sources = []
            elif len(sources) > MAX_STATES:
                self.problem(f"{path}from", f"A transition starts from at most {MAX_STATES} states "
                                            "(use '*' for any state).", key)
                sources = []
            for source in sources:
                if source != "*" and source not in states:
                    self.problem(f"{path}from", f"'{source}' is not one of the states.", key)
            target = item.get("to")
            if target not in states:
                self.problem(f"{path}to", "Choose the state this transition leads to.", key)
            who = self.who(item.get("who", {}), f"{path}who.", key)
            required = item.get("required_fields", [])
            if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
                self.problem(f"{path}required_fields", "Choose fields of the form.", key)
                required = []
            if form is not None:
                for field_key in required:
                    if field_key not in form.families:
                        self.problem(f"{path}required_fields", f"The form has no field '{field_key}'.", key)
            for extra in sorted(set(item) - {"key", "label", "from", "to", "who", "required_fields",
                                             "comment_required", "confirm", "tasks", "after_children"}):
                self.problem(f"{path}{extra}", f"Unknown setting '{extra}'.", key)
            out.append(Transition(
                key=key, label=label, sources=tuple(str(s) for s in sources), target=str(target), who=who,
                required_fields=tuple(required),
                comment_required=self.flag(item, "comment_required", path, False, key),
                confirm=self.text(item, "confirm", path, required=False, limit=500, key=key),
                tasks=self.tasks(item.get("tasks", []), f"{path}tasks", key),
                after_children=self.flag(item, "after_children", path, False, key),
            ))
        return out

    def tasks(self, raw: Any, path: str, key: str) -> tuple[TaskSpec, ...]:
        """The checklist tasks a transition creates; each names a queue whose members work it."""
        if not isinstance(raw, list):
            self.problem(path, "Tasks are a list.", key)
            return ()
        if len(raw) > MAX_TASKS:
            self.problem(path, f"Use at most {MAX_TASKS} tasks per transition.", key)
        out: list[TaskSpec] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            where = f"{path}[{i}]."
            if not isinstance(item, Mapping):
                self.problem(f"{path}[{i}]", "Each task is an object with a key, a label and a queue.", key)
                continue
            task_key = item.get("key")
            if not isinstance(task_key, str) or not KEY_RE.match(task_key):
                self.problem(f"{where}key", "Use lower-case letters, digits and '_', starting with a letter.", key)
                continue
            if task_key in seen:
                self.problem(f"{where}key", f"Two tasks of this transition use the key '{task_key}'.", key)
            seen.add(task_key)
            label = self.text(item, "label", where, key=key)
            queue = item.get("queue")
            if not isinstance(queue, str) or queue not in self.context.queues:
                self.problem(f"{where}queue", "Choose one of the queues: its members work this task.", key)
            for extra in sorted(set(item) - {"key", "label", "queue", "required"}):
                self.problem(f"{where}{extra}", f"Unknown setting '{extra}'.", key)
            out.append(TaskSpec(key=task_key, label=label, queue=queue if isinstance(queue, str) else "",
                                required=self.flag(item, "required", where, True, key)))
        return tuple(out)

    def who(self, raw: Any, path: str, key: str) -> Who:
        if not isinstance(raw, Mapping):
            self.problem(path.rstrip("."), "Say who may fire this transition.", key)
            return Who()
        roles = raw.get("roles", ["agent"])
        if not isinstance(roles, list) or any(r not in STAFF_ROLES for r in roles):
            self.problem(f"{path}roles", "Staff roles are agent and admin (auditors never change cases).", key)
            roles = ["agent"]
        who = Who(roles=tuple(roles), queue_members=self.flag(raw, "queue_members", path, True, key),
                  assignee_only=self.flag(raw, "assignee_only", path, False, key),
                  requester=self.flag(raw, "requester", path, False, key))
        if not who.roles and not who.requester:
            self.problem(path.rstrip("."), "Nobody could fire this transition; choose a role or the requester.",
                         key)
        return who

    def editable(self, raw: Any, states: set[str], form: FormInfo | None) -> dict[str, tuple[str, ...]]:
        if not isinstance(raw, Mapping):
            self.problem("editable_fields", "Choose, per state, the fields agents may edit.")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for state, keys in raw.items():
            if state not in states:
                self.problem(f"editable_fields.{state}", f"'{state}' is not one of the states.")
                continue
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                self.problem(f"editable_fields.{state}", "Choose fields of the form.")
                continue
            if form is not None:
                for k in keys:
                    if k not in form.families:
                        self.problem(f"editable_fields.{state}", f"The form has no field '{k}'.")
            out[state] = tuple(keys)
        return out

    def reopen(self, raw: Any, states: set[str], all_states: list[State]) -> Reopen | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problem("reopen", "Say which state a reopened case goes back to.")
            return None
        to, days = raw.get("to"), raw.get("within_days", 30)
        if to not in states or next((s for s in all_states if s.key == to), None) is None:
            self.problem("reopen.to", "Choose the state a reopened case goes back to.")
            return None
        if next(s for s in all_states if s.key == to).is_final:
            self.problem("reopen.to", "A reopened case must go back to an open state.")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
            self.problem("reopen.within_days", "Enter a number of days from 1 to 3650.")
            days = 30
        return Reopen(str(to), days)

    def sla(self, raw: Any, states: set[str], all_states: list[State], form: FormInfo | None) -> list[SlaTarget]:
        if not isinstance(raw, list):
            self.problem("sla", "SLA targets are a list.")
            return []
        if len(raw) > MAX_SLA_TARGETS:
            self.problem("sla", f"A case type has at most {MAX_SLA_TARGETS} SLA targets (a response and a "
                                f"resolution target per state); this one has {len(raw):,}.")
            return []
        out = []
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(raw):
            path = f"sla[{i}]."
            if not isinstance(item, Mapping):
                self.problem(f"sla[{i}]", "Each SLA target is an object.")
                continue
            state, kind, hours = item.get("state"), item.get("kind", "resolution"), item.get("hours")
            if state not in states:
                self.problem(f"{path}state", "Choose one of the states.")
                continue
            if next(s for s in all_states if s.key == state).is_final:
                self.problem(f"{path}state", "Closed cases have no deadline; choose an open state.")
            if kind not in SLA_KINDS:
                self.problem(f"{path}kind", "Choose response or resolution.")
            if (state, kind) in seen:
                self.problem(f"{path}state", f"The state already has a {kind} target.")
            seen.add((str(state), str(kind)))
            if "field" in item:
                out.append(self.dated_target(item, path, str(state), str(kind), form))
                continue
            if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 366:
                self.problem(f"{path}hours", "Enter a number of hours greater than 0.")
                hours = 1
            out.append(SlaTarget(str(state), str(kind), float(hours),
                                 self.flag(item, "business_hours", path, True, None)))
        return out

    def dated_target(self, item: Mapping[str, Any], path: str, state: str, kind: str,
                     form: FormInfo | None) -> SlaTarget:
        """A target due a number of days before a date of the case (a contract's end, a start date)."""
        field_key, days = item.get("field"), item.get("days_before", 0)
        for extra in sorted(set(item) - {"state", "kind", "field", "days_before"}):
            why = "A target counts either hours or up to a date, not both." if extra in ("hours", "business_hours") \
                else f"Unknown setting '{extra}'."
            self.problem(f"{path}{extra}", why)
        if not isinstance(field_key, str) or (form is not None and form.families.get(field_key) != "date"):
            self.problem(f"{path}field", "Choose a date field of the form.")
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS_BEFORE:
            self.problem(f"{path}days_before", f"Enter a whole number of days from 0 to {MAX_DAYS_BEFORE}.")
            days = 0
        return SlaTarget(state, kind, 0.0, False, field=str(field_key), days_before=days)

    def documents(self, raw: Any, form: FormInfo | None) -> list[dict[str, Any]]:
        """Document templates (case_types.document_templates), their placeholders checked against the form's fields."""
        templates, problems = check_templates(raw, form.families if form is not None else ())
        for path, message in problems:
            # Without a form no placeholder can be checked; the form's own problem says what to fix.
            if form is not None or not message.startswith(("Unknown placeholder", "The form has no field")):
                self.problem(path, message)
        return templates

    def calendar(self, raw: Any) -> BusinessCalendar | None:
        if raw is None:
            return None
        calendar, problems = read_calendar(raw, "calendar")
        for path, message in problems:
            self.problem(path, message)
        return calendar

    def reachability(self, states: list[State], transitions: list[Transition], reopen: Reopen | None,
                     info_state: str | None, by_rules: set[str]) -> None:
        """Every state can be reached, and every open state can be left. The request-for-information
        state is entered and left by the request and its answer, not by transitions; exception states
        are entered by rules (move_to_state, approvals)."""
        initial = [s for s in states if s.kind == "initial"]
        if len(initial) != 1:
            return
        reached = {initial[0].key} | ({info_state} if info_state else set()) | by_rules
        changed = True
        while changed:
            changed = False
            for t in transitions:
                if t.target not in reached and any(s == "*" or s in reached for s in t.sources):
                    reached.add(t.target)
                    changed = True
        for i, state in enumerate(states):
            if state.key not in reached and (reopen is None or reopen.to != state.key):
                self.problem(f"states[{i}]", f"No transition leads to '{state.label}'; cases can never get there.",
                             state.key)
            elif not state.is_final and state.key != info_state and not any(
                    t.leaves(state.key) and t.target != state.key for t in transitions):
                self.problem(f"states[{i}]", f"Cases in '{state.label}' could never move on: add a transition "
                                             "out of it, or make it a final state.", state.key)


def rule_targets(rules: Any) -> set[str]:
    """States the rules can move a case to (exception paths and approval outcomes), read leniently:
    the rules' own validation reports anything malformed."""
    targets: set[str] = set()
    if not isinstance(rules, Mapping) or not isinstance(rules.get("rules"), list):
        return targets
    for rule in rules["rules"]:
        for action in (rule.get("actions") or []) if isinstance(rule, Mapping) else []:
            if not isinstance(action, Mapping):
                continue
            for key in ("state", "on_approve", "on_reject"):
                if isinstance(action.get(key), str):
                    targets.add(action[key])
    return targets


def load_case_type(data: Any, context: Context) -> CaseTypeSpec:
    """A valid case type, or DefinitionError listing every problem with where it is."""
    loader = _Loader(context)
    spec = loader.load(data)
    if loader.problems or spec is None:
        raise DefinitionError(loader.problems or [("", None, "The case type could not be read.")])
    return spec
