"""The catalogue of discretionary work in the case-type language: read, checked in an admin's words, dumped."""

from __future__ import annotations

from typing import Any

import pytest

from case_types import adaptive, adaptive_editing, loading, workflow
from case_types.errors import NotFound, ValidationFailed
from forms.errors import DefinitionError
from tests.support.complaint import complaint_case_type_document

FORM = workflow.FormInfo(slug="complaint", version=1, families={"order_number": "text", "description": "text",
                                                                         "customer_tier": "choice"})
CONTEXT = workflow.Context(queues=frozenset({"general", "safety"}), forms={("complaint", 1): FORM},
                           case_types={"invoice": adaptive.ChildCaseType("invoice", {"order": "text"})})
SAFETY = {"key": "safety_review", "label": "Product-safety review", "who": {"roles": ["agent"], "queues": ["safety"]},
          "states": ["in_progress"], "reason_required": True, "queue": "safety", "sla_hours": 48,
          "blocks_closing": True}
REFUND = {"key": "refund", "label": "Refund invoice", "who": {"roles": ["agent"], "queues": []},
          "states": ["in_progress"], "reason_required": False, "blocks_closing": False, "case_type": "invoice",
          "fields": {"order_number": "order"}}


def _load(*items: Any, context: workflow.Context = CONTEXT) -> workflow.CaseTypeSpec:
    return loading.load_case_type(complaint_case_type_document(discretionary=list(items)), context)


def _problems(*items: Any) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        _load(*items)
    return {p.path: p.message for p in caught.value.errors}


def test_a_catalogue_loads_and_dumps_back_to_itself() -> None:
    spec = _load(SAFETY, REFUND)
    safety, refund = spec.discretionary
    assert (safety.queue, safety.sla_hours, safety.blocks_closing, safety.starts_case) == ("safety", 48.0, True, False)
    assert (refund.case_type, dict(refund.fields), refund.starts_case) == ("invoice", {"order_number": "order"}, True)
    document = workflow.dump_case_type(spec)
    assert document["discretionary"] == [{**SAFETY, "sla_hours": 48.0}, REFUND]
    assert loading.load_case_type(document, CONTEXT) == spec


def test_problems_are_named_where_they_are_in_an_admins_words() -> None:
    problems = _problems(
        {**SAFETY, "queue": "nowhere", "states": ["resolved"], "who": {"roles": ["auditor"]}, "colour": "red"},
        {**REFUND, "key": "refund", "case_type": "nothing", "fields": {"no_such": "order"}},
        {**SAFETY, "key": "safety_review"},
    )
    assert problems["discretionary[0].queue"] == "Choose the queue whose members work this task."
    assert "final state" in problems["discretionary[0].states"]
    assert problems["discretionary[0].who.roles"].startswith("Staff roles are agent and admin")
    assert problems["discretionary[0].colour"] == "Unknown setting 'colour'."
    assert problems["discretionary[1].case_type"] == "There is no published case type 'nothing'."
    assert problems["discretionary[1].fields"] == "This case's form has no field 'no_such'."
    assert problems["discretionary[2].key"] == "Two tasks to start use the key 'safety_review'."


def test_a_child_case_maps_only_fields_its_case_type_has() -> None:
    problems = _problems({**REFUND, "fields": {"order_number": "amount"}, "queue": "general"})
    assert problems["discretionary[0].fields"] == "The form of 'invoice' has no field 'amount'."
    assert "leave 'queue' out" in problems["discretionary[0].queue"]


def test_a_transition_may_wait_for_the_child_cases() -> None:
    document = complaint_case_type_document()
    document["transitions"][1]["after_children"] = True
    spec = loading.load_case_type(document, CONTEXT)
    assert spec.transition("resolve").after_children
    assert workflow.dump_case_type(spec)["transitions"][1]["after_children"] is True


@pytest.mark.parametrize(("roles", "staff", "queues", "allowed"), [
    ({"admin"}, False, set(), True),
    ({"agent"}, True, set(), True),  # an agent of the case's queue, by role
    ({"agent"}, False, {"safety"}, True),  # a member of a queue named in `who`
    ({"agent"}, False, {"general"}, False),
    ({"requester"}, True, {"safety"}, False),
    ({"auditor"}, False, {"safety"}, False),
])
def test_who_may_start(roles: set[str], staff: bool, queues: set[str], allowed: bool) -> None:
    item = _load(SAFETY).discretionary[0]
    actor = adaptive.StartActor(roles=frozenset(roles), staff_on_case=staff, queues=frozenset(queues))
    assert adaptive.may_start(item, actor) is allowed


def test_a_start_is_refused_in_other_states_and_without_a_required_reason() -> None:
    item = _load(SAFETY).discretionary[0]
    agent = adaptive.StartActor(roles=frozenset({"agent"}), staff_on_case=True, queues=frozenset())
    assert adaptive.start_refusal(item, state="new", state_label="New", actor=agent, reason="x") == \
        adaptive.Refusal("state", "'Product-safety review' cannot be started while the case is New.")
    assert adaptive.start_refusal(item, state="in_progress", state_label="In progress", actor=agent,
                                  reason="  ") == \
        adaptive.Refusal("reason", "Give a reason to start 'Product-safety review'.")
    assert adaptive.start_refusal(item, state="in_progress", state_label="In progress", actor=agent,
                                  reason="Smoke from the charger") is None


def test_editing_the_catalogue_keeps_the_rules_that_start_an_entry_in_step() -> None:
    document = {"states": [{"key": "new"}], "rules": {"schema_version": 1, "rules": [
        {"id": "r", "actions": [{"type": "start_task", "task": "safety"}, {"type": "add_tag", "tag": "safety"}]}]}}
    document, key = adaptive_editing.add_item(document, adaptive_editing.ItemInput(
        label="Safety", key="safety", states=["new"], queue="safety"))
    with pytest.raises(ValidationFailed, match="could not be saved"):
        adaptive_editing.add_item(document, adaptive_editing.ItemInput(label="Again", key="safety"))
    renamed, new_key = adaptive_editing.update_item(document, key, adaptive_editing.ItemInput(
        label="Product-safety review", key="safety_review", states=["new"], queue="safety"))
    assert new_key == "safety_review"
    assert renamed["rules"]["rules"][0]["actions"] == [{"type": "start_task", "task": "safety_review"},
                                                       {"type": "add_tag", "tag": "safety"}]
    assert document["rules"]["rules"][0]["actions"][0]["task"] == "safety"  # the input is never changed
    with pytest.raises(NotFound):
        adaptive_editing.remove_item(renamed, "safety")
    assert "discretionary" not in adaptive_editing.remove_item(renamed, "safety_review")
