"""Stages and milestones of a case type: states grouped into the phases people talk about (Intake, Investigation,
Resolution), in order, so the case page and the portal show how far a case has come::

    "stages": [{"key": "intake", "label": "Intake", "states": ["new", "triage"]},
               {"key": "investigation", "label": "Investigation", "states": ["investigation"]}]

A state belongs to at most one stage; states in none (a waiting state, a rejection) leave the progress
where it was. A closed case has passed every stage. Milestones name points a case reaches ("Root cause
found") when a transition fires or a task is done (cases.milestones records them). This module reads,
checks and dumps both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from case_types.workflow import KEY_RE

MAX_STAGES = 20


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    states: tuple[str, ...]

    def to_document(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "states": list(self.states)}


@dataclass(frozen=True)
class Step:
    """One stage as a case stands: `done`, `current` or `ahead`."""

    label: str
    status: str


def read_stages(raw: Any, states: Mapping[str, bool]) -> tuple[list[Stage], list[tuple[str, str]]]:
    """The stages and their problems as (path, message); `states` maps each state key to whether it is final."""
    if raw is None:
        return [], []
    if not isinstance(raw, list) or len(raw) > MAX_STAGES:
        return [], [("stages", f"Stages are a list of at most {MAX_STAGES}, each with a key, a label and states.")]
    out: list[Stage] = []
    problems: list[tuple[str, str]] = []
    placed: dict[str, str] = {}
    for i, item in enumerate(raw):
        path = f"stages[{i}]"
        if not isinstance(item, Mapping):
            problems.append((path, "Each stage is an object with a key, a label and states."))
            continue
        key, label, members = item.get("key"), item.get("label"), item.get("states")
        for extra in sorted(set(item) - {"key", "label", "states"}):
            problems.append((f"{path}.{extra}", f"Unknown setting '{extra}'."))
        if not isinstance(key, str) or not KEY_RE.match(key) or any(s.key == key for s in out):
            problems.append((f"{path}.key", "Use a unique key of lower-case letters, digits and '_'."))
            continue
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            problems.append((f"{path}.label", "Name the stage in at most 100 characters, like 'Investigation'."))
            label = key
        if not isinstance(members, list) or not members or not all(isinstance(s, str) for s in members):
            problems.append((f"{path}.states", "Choose the states that make up this stage."))
            members = []
        for state in members:
            if state not in states:
                problems.append((f"{path}.states", f"'{state}' is not one of the states."))
            elif state in placed:
                problems.append((f"{path}.states", f"'{state}' is already in the stage '{placed[state]}'."))
            placed.setdefault(state, str(label))
        out.append(Stage(key=key, label=str(label).strip(), states=tuple(dict.fromkeys(members))))
    return out, problems


def progress(stages: tuple[Stage, ...], state: str, *, final: bool, visited: tuple[str, ...] = ()) -> list[Step]:
    """Each stage as the case in `state` stands; a state in no stage keeps the furthest stage of `visited`
    (the states the case was in, oldest first) as the current one."""
    if not stages:
        return []
    if final:
        return [Step(s.label, "done") for s in stages]
    where = {member: i for i, stage in enumerate(stages) for member in stage.states}
    current = where.get(state)
    if current is None:
        earlier = [where[s] for s in visited if s in where]
        current = max(earlier) if earlier else 0
    return [Step(s.label, "done" if i < current else "current" if i == current else "ahead")
            for i, s in enumerate(stages)]


@dataclass(frozen=True)
class Milestone:
    """A named point a case reaches ("Customer contacted") when a transition fires or a task is completed."""

    key: str
    label: str
    transition: str | None = None
    task: str | None = None

    def to_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label}
        out.update({"transition": self.transition} if self.transition else {"task": self.task})
        return out


def read_milestones(raw: Any, *, transitions: set[str],
                    tasks: set[str]) -> tuple[list[Milestone], list[tuple[str, str]]]:
    """The milestones and their problems; each is reached by one transition or one task (of a transition's
    checklist or of the catalogue)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list) or len(raw) > MAX_STAGES:
        return [], [("milestones", f"Milestones are a list of at most {MAX_STAGES}.")]
    out: list[Milestone] = []
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(raw):
        path = f"milestones[{i}]"
        if not isinstance(item, Mapping):
            problems.append((path, "Each milestone is an object with a key, a label and what reaches it."))
            continue
        key, label = item.get("key"), item.get("label")
        for extra in sorted(set(item) - {"key", "label", "transition", "task"}):
            problems.append((f"{path}.{extra}", f"Unknown setting '{extra}'."))
        if not isinstance(key, str) or not KEY_RE.match(key) or any(m.key == key for m in out):
            problems.append((f"{path}.key", "Use a unique key of lower-case letters, digits and '_'."))
            continue
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            problems.append((f"{path}.label", "Name the milestone in at most 100 characters, like "
                                              "'Root cause found'."))
            label = key
        transition, task = item.get("transition"), item.get("task")
        if (transition is None) == (task is None):
            problems.append((path, "Say what reaches it: one transition or one task."))
        elif transition is not None and transition not in transitions:
            problems.append((f"{path}.transition", f"'{transition}' is not one of the transitions."))
        elif task is not None and task not in tasks:
            problems.append((f"{path}.task", f"'{task}' is not one of the tasks."))
        out.append(Milestone(key=key, label=str(label).strip(),
                             transition=transition if isinstance(transition, str) else None,
                             task=task if isinstance(task, str) else None))
    return out, problems
