"""State names for lists and pickers: a case stores its state's key (`in_progress`); people read and pick
its label ("In progress"). Labels come from the published versions of each case type, newest first."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Definition, DefinitionVersion


@lru_cache(maxsize=1024)
def _states_of(document: str) -> tuple[tuple[str, str], ...]:
    """(key, label) of each state of a published document (versions never change, so this is cached)."""
    states = json.loads(document).get("states")
    out = []
    for state in states if isinstance(states, list) else []:
        if isinstance(state, dict) and isinstance(state.get("key"), str):
            label = state.get("label")
            out.append((state["key"], label if isinstance(label, str) and label.strip() else state["key"]))
    return tuple(out)


@dataclass(frozen=True)
class StateNames:
    labels: Mapping[int, Mapping[str, str]]
    """Case type id -> state key -> label (a key only older versions have keeps its last label)."""

    def label(self, case_type_id: int, key: str) -> str:
        """The label of a case's state; a key no version names reads as words ("in progress")."""
        return self.labels.get(case_type_id, {}).get(key) or key.replace("_", " ").capitalize()

    def choices(self) -> list[tuple[str, str]]:
        """(key, label) to pick a state from, across case types: one entry per key, its labels joined when
        case types call it differently ("Paid / Resolved"), sorted by label."""
        named: dict[str, set[str]] = {}
        for states in self.labels.values():
            for key, label in states.items():
                named.setdefault(key, set()).add(label)
        options = [(key, " / ".join(sorted(labels, key=str.casefold))) for key, labels in named.items()]
        return sorted(options, key=lambda option: (option[1].casefold(), option[0]))


def state_names(session: Session) -> StateNames:
    """The state labels of every published case-type version (one query)."""
    rows = session.execute(
        select(DefinitionVersion.definition_id, DefinitionVersion.document)
        .join(Definition, Definition.id == DefinitionVersion.definition_id)
        .where(Definition.kind == "case_type").order_by(DefinitionVersion.number))
    labels: dict[int, dict[str, str]] = {}
    for definition_id, document in rows:
        labels.setdefault(definition_id, {}).update(_states_of(document))
    return StateNames(labels)
