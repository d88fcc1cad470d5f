"""Stages of a case type: states grouped into the phases people talk about (Intake, Investigation,
Resolution), in order, so the case page and the portal show how far a case has come::

    "stages": [{"key": "intake", "label": "Intake", "states": ["new", "triage"]},
               {"key": "investigation", "label": "Investigation", "states": ["investigation"]}]

A state belongs to at most one stage; states in none (a waiting state, a rejection) leave the progress
where it was. A closed case has passed every stage. This module reads, checks and dumps them.
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
