"""Stages of a case type: read and checked in an admin's words, dumped, and the progress a case shows."""

from __future__ import annotations

import pytest

from case_types import loading, workflow
from case_types.stages import Step, progress, read_stages
from forms.errors import DefinitionError
from tests.support.complaint import complaint_case_type_document

FORM = workflow.FormInfo(slug="complaint", version=1, families={"description": "text", "customer_tier": "choice"})
CONTEXT = workflow.Context(queues=frozenset({"general"}), forms={("complaint", 1): FORM})
STAGES = [{"key": "intake", "label": "Intake", "states": ["new"]},
          {"key": "work", "label": "Investigation", "states": ["in_progress"]}]
STATES = {"new": False, "in_progress": False, "waiting": False, "resolved": True, "rejected": True}


def test_stages_load_and_dump_with_the_case_type() -> None:
    spec = loading.load_case_type(complaint_case_type_document(stages=STAGES), CONTEXT)
    assert [(s.key, s.label, s.states) for s in spec.stages] == [("intake", "Intake", ("new",)),
                                                                  ("work", "Investigation", ("in_progress",))]
    assert workflow.dump_case_type(spec)["stages"] == STAGES
    assert "stages" not in workflow.dump_case_type(loading.load_case_type(complaint_case_type_document(), CONTEXT))


@pytest.mark.parametrize(("raw", "path", "message"), [
    ("intake", "stages", "a list of at most 20"),
    ([{"key": "intake", "label": "Intake", "states": ["nowhere"]}], "stages[0].states", "'nowhere' is not one of"),
    ([STAGES[0], {"key": "again", "label": "Again", "states": ["new"]}], "stages[1].states",
     "'new' is already in the stage 'Intake'"),
    ([STAGES[0], {**STAGES[1], "key": "intake"}], "stages[1].key", "unique key"),
    ([{"key": "intake", "label": "", "states": ["new"]}], "stages[0].label", "Name the stage"),
    ([{"key": "intake", "label": "Intake", "states": []}], "stages[0].states", "Choose the states"),
    ([{**STAGES[0], "colour": "red"}], "stages[0].colour", "Unknown setting 'colour'"),
])
def test_bad_stages_are_refused_where_they_are(raw: object, path: str, message: str) -> None:
    problems = read_stages(raw, STATES)[1]
    assert any(p == path and message in m for p, m in problems), problems
    with pytest.raises(DefinitionError):
        loading.load_case_type(complaint_case_type_document(stages=raw), CONTEXT)


def test_progress_by_stage() -> None:
    stages = tuple(read_stages([*STAGES, {"key": "end", "label": "Resolution", "states": ["waiting"]}], STATES)[0])
    labels = ["Intake", "Investigation", "Resolution"]

    def shown(steps: list[Step]) -> list[tuple[str, str]]:
        return [(s.label, s.status) for s in steps]

    assert shown(progress(stages, "new", final=False)) == list(zip(labels, ["current", "ahead", "ahead"], strict=True))
    assert shown(progress(stages, "in_progress", final=False)) == list(zip(
        labels, ["done", "current", "ahead"], strict=True))
    # A state in no stage keeps the furthest stage reached; a closed case has passed them all.
    assert shown(progress(stages[:2], "waiting", final=False, visited=("in_progress", "waiting"))) == [
        ("Intake", "done"), ("Investigation", "current")]
    assert {s.status for s in progress(stages, "resolved", final=True)} == {"done"}
    assert progress((), "new", final=False) == []
