"""Editing a case-type draft as the designer does: pure functions, no database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from case_types import explain
from case_types import workflow_editing as editing
from case_types.errors import NotFound, ValidationFailed
from case_types.loading import load_case_type
from case_types.workflow import Context, FormInfo, dump_case_type, starter_case_type
from forms.errors import DefinitionError, DefinitionProblem

FORM = FormInfo(slug="complaint", version=1, families={"severity": "choice", "description": "text"},
                labels={"severity": "Severity", "description": "What happened?"})
CONTEXT = Context(queues=frozenset({"general", "vip"}), forms={("complaint", 1): FORM},
                  latest_form_versions={"complaint": 1})


def starter() -> dict[str, Any]:
    return editing.normalized(starter_case_type("Customer complaint", form="complaint", form_version=1,
                                                queue="general"))


def problems(document: dict[str, Any]) -> list[DefinitionProblem]:
    try:
        load_case_type(document, CONTEXT)
    except DefinitionError as exc:
        return exc.errors
    return []


def keys(document: dict[str, Any], section: str = "states") -> list[str]:
    return [item["key"] for item in document[section]]


def test_normalized_starter_is_exactly_what_publishing_stores() -> None:
    document = starter()
    assert problems(document) == []
    assert document == dump_case_type(load_case_type(document, CONTEXT))
    assert editing.normalized(document) == document  # idempotent


def test_operations_never_change_their_input() -> None:
    document = starter()
    before = copy.deepcopy(document)
    editing.add_state(document, editing.StateInput(label="Escalated"))
    editing.update_state(document, "new", editing.StateInput(label="Fresh", key="fresh", kind="initial"))
    editing.remove_state(document, "in_progress")
    editing.move(document, "transitions", "start", 1)
    editing.set_deadlines(document, "new", {"response": editing.SlaInput(8)})
    assert document == before


def test_add_state_makes_a_unique_key_from_the_label() -> None:
    document, key = editing.add_state(starter(), editing.StateInput(label="Waiting for requester", kind="waiting"))
    assert key == "waiting_for_requester"
    document, key = editing.add_state(document, editing.StateInput(label="Waiting for requester"))
    assert key == "waiting_for_requester_2"
    document, key = editing.add_state(document, editing.StateInput(label="Über-prüfung 2"))
    assert key == "uber_prufung_2"
    document, key = editing.add_state(document, editing.StateInput(label="2nd line"))
    assert key == "state_2nd_line"
    document, key = editing.add_state(document, editing.StateInput(label="Проверка"))
    assert key == "state"
    assert keys(document)[-1] == "state"
    assert document["states"][5] == {"key": "waiting_for_requester", "label": "Waiting for requester",
                                     "kind": "waiting", "color": "grey"}


@pytest.mark.parametrize(("label", "key", "field", "message"), [
    ("", "", "label", "Enter a label."),
    ("Escalated", "Escalated!", "key", "lower-case"),
    ("Escalated", "new", "key", "Another state already uses this key."),
])
def test_add_state_refuses_what_would_tangle_the_draft(label: str, key: str, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        editing.add_state(starter(), editing.StateInput(label=label, key=key))
    assert message in " ".join(info.value.fields[field])


def test_renaming_a_state_key_rewrites_everything_that_uses_it() -> None:
    document = starter()
    document["editable_fields"] = {"in_progress": ["description"]}
    document["sla"] = [{"state": "in_progress", "kind": "resolution", "hours": 40.0, "business_hours": True}]
    document, key = editing.update_state(document, "in_progress", editing.StateInput(
        label="Being worked on", key="working_on", kind="working", color="purple", description="  Busy  "))
    assert key == "working_on"
    assert document["states"][1] == {"key": "working_on", "label": "Being worked on", "kind": "working",
                                     "color": "purple", "description": "Busy"}
    by_key = {t["key"]: t for t in document["transitions"]}
    assert by_key["start"]["to"] == "working_on"
    assert by_key["resolve"]["from"] == ["working_on"]
    assert by_key["reject"]["from"] == ["new", "working_on"]
    assert document["reopen"]["to"] == "working_on"
    assert document["editable_fields"] == {"working_on": ["description"]}
    assert document["sla"][0]["state"] == "working_on"
    assert problems(document) == []


def test_renaming_onto_another_state_key_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="could not be saved") as info:
        editing.update_state(starter(), "in_progress", editing.StateInput(label="X", key="new"))
    assert "Another state already uses this key." in info.value.fields["key"]
    with pytest.raises(NotFound, match="no state 'ghost'"):
        editing.update_state(starter(), "ghost", editing.StateInput(label="X"))


def test_the_request_for_information_state_follows_a_rename() -> None:
    document, _ = editing.update_state(starter(), "waiting", editing.StateInput(
        label="Waiting for customer", key="waiting_customer", kind="waiting", color="amber"))
    assert document["request_info_state"] == "waiting_customer"


def test_removing_a_state_takes_what_only_made_sense_with_it() -> None:
    document = starter()
    document["sla"] = [{"state": "in_progress", "kind": "resolution", "hours": 40.0, "business_hours": True},
                       {"state": "new", "kind": "response", "hours": 8.0, "business_hours": True}]
    document["editable_fields"] = {"in_progress": ["description"]}
    effects = editing.removal_effects(document, "in_progress")
    assert effects == ["the transitions “Start work”, “Resolve”", "its deadlines", "its editable fields",
                       "reopening of closed cases"]
    document = editing.remove_state(document, "in_progress")
    assert keys(document) == ["new", "waiting", "resolved", "rejected"]
    assert keys(document, "transitions") == ["reject"]  # start led into it, resolve only left it
    assert document["transitions"][0]["from"] == ["new"]
    assert [s["state"] for s in document["sla"]] == ["new"]
    assert document["editable_fields"] == {}
    assert "reopen" not in document
    document = editing.remove_state(document, "waiting")
    assert "request_info_state" not in document


def test_moving_states_and_transitions() -> None:
    document = editing.move(starter(), "states", "resolved", -1)
    assert keys(document) == ["new", "in_progress", "resolved", "waiting", "rejected"]
    assert editing.move(document, "states", "new", -1) == document  # already first
    assert editing.move(document, "states", "rejected", 1) == document  # already last
    document = editing.move(document, "transitions", "start", 1)
    assert keys(document, "transitions") == ["resolve", "start", "reject"]
    with pytest.raises(NotFound):
        editing.move(document, "transitions", "ghost", 1)


def test_adding_and_changing_transitions_with_who_and_required_fields() -> None:
    document, key = editing.add_state(starter(), editing.StateInput(label="Escalated", color="red"))
    document, key = editing.add_transition(document, editing.TransitionInput(
        label="Escalate", sources=["new", "in_progress", "new"], target="escalated", roles=["admin", "agent"],
        queue_members=False, assignee_only=True, required_fields=["severity"], comment_required=True,
        confirm=" Escalate it? "))
    assert key == "escalate"
    assert document["transitions"][-1] == {
        "key": "escalate", "label": "Escalate", "from": ["new", "in_progress"], "to": "escalated",
        "who": {"roles": ["agent", "admin"], "queue_members": False, "assignee_only": True, "requester": False},
        "required_fields": ["severity"], "comment_required": True, "confirm": "Escalate it?"}
    problems_now = problems(document)
    assert [p.field for p in problems_now] == ["escalated"]  # a dead end so far
    document, key = editing.add_transition(document, editing.TransitionInput(
        label="De-escalate", sources=["escalated"], target="in_progress", roles=[], requester=True))
    assert key == "de_escalate"
    assert problems(document) == []
    document, key = editing.update_transition(document, "escalate", editing.TransitionInput(
        label="Escalate now", key="escalate_now", sources=["*", "new"], target="escalated"))
    assert key == "escalate_now"
    assert document["transitions"][-2]["from"] == ["*"]
    with pytest.raises(ValidationFailed):
        editing.update_transition(document, "escalate_now", editing.TransitionInput(
            label="X", key="start", sources=["new"], target="escalated"))
    document = editing.remove_transition(document, "escalate_now")
    assert keys(document, "transitions") == ["start", "resolve", "reject", "de_escalate"]


def test_editable_fields_and_deadlines_per_state() -> None:
    document = editing.set_editable_fields(starter(), "in_progress", ["description", "severity", "description"])
    assert document["editable_fields"] == {"in_progress": ["description", "severity"]}
    assert editing.set_editable_fields(document, "in_progress", [])["editable_fields"] == {}
    document = editing.set_deadlines(document, "new", {"response": editing.SlaInput(8, True),
                                                      "resolution": editing.SlaInput(40.5, False)})
    document = editing.set_deadlines(document, "new", {"response": editing.SlaInput(4, True)})
    assert document["sla"] == [{"state": "new", "kind": "response", "hours": 4.0, "business_hours": True},
                               {"state": "new", "kind": "resolution", "hours": 40.5, "business_hours": False}]
    assert editing.deadlines(document, "new") == {"response": editing.SlaInput(4.0, True),
                                                  "resolution": editing.SlaInput(40.5, False)}
    document = editing.set_deadlines(document, "new", {"response": None, "resolution": None})
    assert document["sla"] == []
    with pytest.raises(NotFound):
        editing.set_deadlines(document, "ghost", {"response": None})


def test_general_settings() -> None:
    document = editing.set_general(starter(), editing.GeneralInput(
        name=" Complaints ", prefix="cmp", form="complaint", form_version=1, default_queue="vip",
        fallback_queue="general", description="For unhappy customers", request_info_state=None, reopen_to=None))
    assert (document["name"], document["prefix"], document["default_queue"]) == ("Complaints", "CMP", "vip")
    assert "request_info_state" not in document and "reopen" not in document
    # Without requests for information nothing leads to the waiting state any more.
    assert [p.field for p in problems(document)] == ["waiting"]
    document = editing.set_general(document, editing.GeneralInput(
        name="Complaints", prefix="CMP", form="complaint", form_version=1, default_queue="vip",
        fallback_queue="general", request_info_state="waiting", reopen_to="new", reopen_days=None))
    assert document["reopen"] == {"to": "new", "within_days": 30}


def test_problems_are_placed_where_the_designer_shows_them() -> None:
    document = starter()
    document["states"][0]["kind"] = "working"  # no initial state
    document["default_queue"] = "nowhere"
    document["reopen"] = {"to": "resolved", "within_days": 0}
    document["transitions"][0]["who"] = {"roles": ["auditor"]}
    document["sla"] = [{"state": "rejected", "kind": "response", "hours": 1}]
    document["editable_fields"] = {"new": ["ghost"]}
    document["mystery"] = 1
    placed = explain.ProblemMap.of(document, problems(document))
    assert placed.at("states") == ["Mark exactly one state as the initial state (where new cases start)."]
    assert placed.at("setting", "default_queue") == ["Choose one of the queues."]
    assert placed.at("setting", "reopen_to") == ["A reopened case must go back to an open state."]
    assert placed.at("setting", "reopen_days") == ["Enter a number of days from 1 to 3650."]
    assert placed.at("transition", "start", "who")
    assert placed.at("state", "rejected", "sla") == ["Closed cases have no deadline; choose an open state."]
    assert placed.at("state", "new", "editable_fields") == ["The form has no field 'ghost'."]
    assert placed.at("case_type", "", "mystery") == ["Unknown setting 'mystery'."]
    wheres = {p.where for p in placed.placed}
    assert "Settings, Default queue" in wheres and "Transition “Start work”, who may do it" in wheres


def test_reachability_problems_land_on_the_state() -> None:
    document, _ = editing.add_state(starter(), editing.StateInput(label="Limbo"))
    placed = explain.ProblemMap.of(document, problems(document))
    assert [p.area for p in placed.placed] == ["state"]
    assert "No transition leads to 'Limbo'" in placed.at("state", "limbo")[0]
    document, _ = editing.add_transition(document, editing.TransitionInput(label="Park", sources=["new"],
                                                                          target="limbo"))
    placed = explain.ProblemMap.of(document, problems(document))
    assert "could never move on" in placed.of_item("state", "limbo")[0].message


def test_describe_path_and_who_in_plain_words() -> None:
    assert explain.describe_path("states[2].label") == "State 3, label"
    assert explain.describe_path("transitions[0].who.roles") == "Transition 1, who may do it"
    assert explain.describe_path("default_queue") == "Settings, Default queue"
    assert explain.describe_path("") == "The case type"
    assert explain.describe_who(editing.DEFAULT_WHO) == "agents of the case's queue"
    assert explain.describe_who({"roles": ["agent", "admin"], "queue_members": False, "requester": True}) == \
        "any agent and admins or the requester"
    assert explain.describe_who({"roles": ["agent"], "assignee_only": True}) == "the assignee (agent)"
    assert explain.describe_who({"roles": []}) == "nobody"
    assert editing.suggest_slug("Customer complaint (EU)") == "customer-complaint-eu"


def test_a_broken_draft_can_still_be_edited() -> None:
    document = {"schema_version": 1, "states": ["junk", {"key": "new", "label": "New", "kind": "initial"}],
                "transitions": "nonsense"}
    document, key = editing.add_state(document, editing.StateInput(label="Done", kind="final"))
    assert document["states"][0] == "junk" and key == "done"
    document, _ = editing.add_transition(document, editing.TransitionInput(label="Finish", sources=["new"],
                                                                           target="done"))
    assert keys(document, "transitions") == ["finish"]
    assert editing.item_ref("junk", 0) == "#0"
